#include "settings/errors.hpp"

namespace tb::settings {

std::string to_string(settings_errc x) {
  switch (x) {
  case settings_errc::malformed_xml:
    return "malformed_xml";
  case settings_errc::bad_schema:
    return "bad_schema";
  case settings_errc::bad_version:
    return "bad_version";
  case settings_errc::io_error:
    return "io_error";
  case settings_errc::not_found:
    return "not_found";
  case settings_errc::invalid_value:
    return "invalid_value";
  }
  return "settings_errc(" + std::to_string(static_cast<int>(x)) + ")";
}

} // namespace tb::settings
