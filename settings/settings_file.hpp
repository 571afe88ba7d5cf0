// Settings file versions and crash-safe writes (virtualbox-compat.md 2.2-2.3).
#pragma once

#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "settings/xml.hpp"

namespace tb::settings {

/// "1.19-linux": the root element's version attribute.
struct settings_version {
  int major = 1;
  int minor = 19;
  std::string platform = "linux";

  /// Parses "<maj>.<min>-<platform>"; nullopt-like error when malformed.
  static caf::expected<settings_version> parse(std::string_view text);
  std::string to_string() const;
  friend auto operator<=>(const settings_version& a,
                          const settings_version& b) {
    return a.major != b.major ? a.major <=> b.major : a.minor <=> b.minor;
  }
  friend bool operator==(const settings_version& a, const settings_version& b) {
    return a.major == b.major && a.minor == b.minor;
  }
};

/// Reads `path` as a VirtualBox settings file: checks the root element name
/// and version (readable 1.3..1.19; newer reads as future, written as 1.19).
caf::expected<xml_document> read_settings_file(const std::string& path);

/// Writes `doc` to `<path>-tmp`, fsyncs it, renames an existing `<path>` (if
/// at least 16 bytes) to `<path>-prev`, renames the temp file over `<path>`
/// and fsyncs the folder. A crash at any point leaves a readable file.
caf::error write_settings_file(const std::string& path,
                               const xml_document& doc);

/// Once, before the first write at a newer version than the file was read
/// at: copies `<stem>.<ext>` to `<stem>-<maj>.<min>-<platform>.<ext>`.
void backup_before_upgrade(const std::string& path,
                           const settings_version& read_version);

} // namespace tb::settings
