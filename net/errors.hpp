// Error codes of the network layer.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace tb::net {

enum class net_errc : uint8_t {
  bad_port_spec = 1, ///< A port list / range does not parse.
  bad_address,       ///< An address is neither an IP literal nor resolvable.
  no_free_port,      ///< Every port of the list is taken.
  io_error,          ///< libuv reported an error.
  stopped,           ///< The event loop is not running.
};

std::string to_string(net_errc x);

caf::error make_net_error(net_errc code, std::string msg);

} // namespace tb::net

CAF_ERROR_CODE_ENUM(tb::net::net_errc, "net")
