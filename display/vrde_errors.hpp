// Error codes of the VRDE glue (configuration, authentication, server).
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace tb::display {

enum class vrde_errc : uint8_t {
  bad_property = 1, ///< A VRDE property or setting has an invalid value.
  unsupported,      ///< A valid setting telebox does not implement.
  tls_failed,       ///< Certificate or key could not be loaded or made.
  auth_failed,      ///< The authentication machinery itself failed.
  start_failed,     ///< The server could not start.
};

std::string to_string(vrde_errc x);

/// A caf::error of category "vrde" carrying the whole message.
caf::error make_vrde_error(vrde_errc code, std::string msg);

} // namespace tb::display

CAF_ERROR_CODE_ENUM(tb::display::vrde_errc, "vrde")
