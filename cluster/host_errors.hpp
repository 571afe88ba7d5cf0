// Error codes of the host service and its clients.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace tb::cluster {

enum class host_errc : uint8_t {
  not_running = 1, ///< No host service answers for this global folder.
  io_error,        ///< A file could not be read or written.
  denied,          ///< Wrong secret.
  vm_failed,       ///< A VM process failed to start or died.
  not_found,       ///< Unknown machine.
};

std::string to_string(host_errc x);

} // namespace tb::cluster

CAF_ERROR_CODE_ENUM(tb::cluster::host_errc, "host")

namespace tb::cluster {

inline caf::error make_host_error(host_errc code, std::string text) {
  return caf::make_error(code, std::move(text));
}

} // namespace tb::cluster
