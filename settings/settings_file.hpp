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

/// Checks that `doc` is a VirtualBox settings document (root <VirtualBox>
/// with a readable version attribute) and returns that version. `what`
/// names the source in errors.
caf::expected<settings_version> settings_root_version(const xml_document& doc,
                                                      std::string_view what);

/// Reads a whole (small) file; errors name the path.
caf::expected<std::string> read_text_file(const std::string& path);

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

/// backup_before_upgrade, but reports a full disk (the only failure that
/// should stop the save, as in VirtualBox).
caf::error copy_upgrade_backup(const std::string& path,
                               const settings_version& read_version);

/// "<dir>/MyVM-1.16-linux.vbox" for "<dir>/MyVM.vbox" read at 1.16-linux.
std::string upgrade_backup_path(const std::string& path,
                                const settings_version& read_version);

/// The newest settings version telebox writes (VirtualBox 7.0).
inline constexpr int newest_settings_minor = 19;

} // namespace tb::settings
