// The host service's machine registry: VirtualBox.xml plus every registered
// machine's settings, and the runtime state VM processes report.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "settings/global_config.hpp"
#include "settings/machine_config.hpp"

namespace tb::cluster {

/// Runtime state of a machine, as its VM process last reported it.
struct runtime_state {
  std::string state = "poweroff"; ///< VBoxManage VMState names.
  int64_t since_ns = 0;           ///< Wall clock of the change.
  int32_t vrde_port = -1;
  int32_t pid = 0;
};

/// Owns the global settings and the registered machines of one global folder.
/// Not thread-safe: the host service's API actor serialises all access, so
/// two clients changing one machine never lose an update.
class registry {
public:
  /// Loads `<folder>/VirtualBox.xml` and every registered machine (a machine
  /// whose file cannot be read stays listed as inaccessible).
  static caf::expected<std::unique_ptr<registry>>
  open(const std::string& folder);

  settings::global_config& global();

  /// Registered machines in registry order.
  std::vector<settings::machine_config*> machines();
  /// By name or UUID (with or without braces). nullptr when unknown.
  settings::machine_config* find(const std::string& name_or_uuid);
  /// Entries whose file could not be read, with the reason.
  std::vector<std::pair<settings::machine_entry, std::string>>
  inaccessible() const;

  /// Registers an already-saved machine; fails on a duplicate UUID or name.
  caf::error add(settings::machine_config cfg);
  /// Unregisters (does not delete files).
  caf::error remove(const std::string& uuid_braced);

  runtime_state state(const std::string& uuid_braced) const;
  void set_state(const std::string& uuid_braced, runtime_state st);
  bool is_running(const std::string& uuid_braced) const;

private:
  registry() = default;
  std::optional<settings::global_config> global_;
  std::vector<std::unique_ptr<settings::machine_config>> machines_;
  std::vector<std::pair<settings::machine_entry, std::string>> broken_;
  std::map<std::string, runtime_state> states_;
};

} // namespace tb::cluster
