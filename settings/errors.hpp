// Error codes of the settings library. Every error carries its full message
// as one string (see actors/error_text.hpp).
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace tb::settings {

enum class settings_errc : uint8_t {
  malformed_xml = 1, ///< Not well-formed XML, or truncated.
  bad_schema,        ///< Well-formed, but not a VirtualBox settings file.
  bad_version,       ///< Unknown or unreadable settings version.
  io_error,          ///< Reading, writing or renaming a file failed.
  not_found,         ///< A machine, medium or key does not exist.
  invalid_value,     ///< A value is out of range or malformed.
};

std::string to_string(settings_errc x);

} // namespace tb::settings

CAF_ERROR_CODE_ENUM(tb::settings::settings_errc, "settings")
