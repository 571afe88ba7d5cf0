// Error codes of the cluster library (registry and commands). Every error
// carries its full message as one string (actors/error_text.hpp).
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace tb::cluster {

enum class cluster_errc : uint8_t {
  duplicate = 1, ///< A machine or medium with that name/UUID exists.
  not_found,     ///< No such machine, medium or controller.
  invalid_state, ///< The machine's state forbids the operation.
  io_error,      ///< A file could not be read, written or removed.
};

std::string to_string(cluster_errc x);

} // namespace tb::cluster

CAF_ERROR_CODE_ENUM(tb::cluster::cluster_errc, "cluster")
