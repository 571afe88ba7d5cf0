// VirtualBox.xml: machine registry, system properties, global extradata.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "settings/machine_config.hpp"
#include "settings/settings_file.hpp"
#include "settings/xml.hpp"

namespace tb::settings {

/// MachineRegistry/MachineEntry.
struct machine_entry {
  std::string uuid; ///< Braced, lowercase.
  std::string src;  ///< Absolute path of the .vbox.
};

/// Global/SystemProperties attributes telebox uses.
struct system_properties {
  std::string default_machine_folder;   ///< Empty: "$HOME/VirtualBox VMs".
  std::string vrde_auth_library;        ///< Empty: VBoxAuth.
  std::string default_hard_disk_format; ///< Empty: VDI.
  uint32_t log_history_count = 3;
};

/// The global settings file of one VBOX_USER_HOME.
class global_config {
public:
  /// Loads `<folder>/VirtualBox.xml`, or starts a default one if missing.
  static caf::expected<global_config> load(const std::string& folder);
  /// Parses `text` as `<folder>/VirtualBox.xml` (fuzzing, tests).
  static caf::expected<global_config> parse(std::string_view text,
                                            const std::string& folder);
  /// The default file VirtualBox 7.0 starts a new folder with.
  static global_config create(const std::string& folder);

  caf::error save();
  const std::string& path() const { return path_; }
  const std::string& folder() const { return folder_; }
  /// Version written by save(): 1.12 .. 1.19, as read when in that range.
  settings_version version() const { return version_; }
  settings_version loaded_version() const { return loaded_version_; }
  const xml_document& document() const { return doc_; }
  xml_node& global_node();
  const xml_node& global_node() const;

  /// Registered machines; a relative src is resolved against folder().
  std::vector<machine_entry> machines() const;
  void add_machine(const machine_entry& e);
  void remove_machine(const std::string& uuid_braced);

  /// Global MediaRegistry (media not owned by one machine).
  std::vector<medium_entry> media() const;
  void add_medium(const medium_entry& m);
  void remove_medium(const std::string& uuid_braced);

  system_properties properties() const;
  void set_properties(const system_properties& p);
  /// The machine folder in effect (property or default).
  std::string machine_folder() const;

  std::optional<std::string> extradata(const std::string& key) const;
  void set_extradata(const std::string& key, const std::string& value);
  std::vector<std::pair<std::string, std::string>> extradata_all() const;

private:
  global_config() = default;
  std::string folder_;
  std::string path_;
  xml_document doc_;
  settings_version version_;
  settings_version loaded_version_;
};

} // namespace tb::settings
