#include "display/vrde_errors.hpp"

namespace tb::display {

std::string to_string(vrde_errc x) {
  switch (x) {
  case vrde_errc::bad_property:
    return "bad_property";
  case vrde_errc::unsupported:
    return "unsupported";
  case vrde_errc::tls_failed:
    return "tls_failed";
  case vrde_errc::auth_failed:
    return "auth_failed";
  case vrde_errc::start_failed:
    return "start_failed";
  }
  return "vrde_errc(" + std::to_string(static_cast<int>(x)) + ")";
}

caf::error make_vrde_error(vrde_errc code, std::string msg) {
  return caf::make_error(code, std::move(msg));
}

} // namespace tb::display
