// `controlvm <vm> vrde on|off`, `vrdeport <ports>` and
// `vrdeproperty <name>=<value>` on a running VM: the VM process keeps the
// machine's RemoteDisplay settings as they are now, applies each change to
// that copy, rebuilds the server's configuration from it and restarts the
// server. VBoxManage's syntax and messages.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/messages/host.hpp"
#include "display/vrde_config.hpp"
#include "display/vrde_server.hpp"
#include "settings/machine_config.hpp"

namespace tb::headless {

class vrde_control {
public:
  /// `vrde` is the machine's RemoteDisplay as the VM starts (after
  /// --vrde on|off); the rest is what make_vrde_config needs.
  vrde_control(settings::vrde_settings vrde, display::extradata_fn extradata,
               std::string global_auth_library, std::string machine_folder);

  /// True for the verbs handle() answers.
  static bool handles(const std::string& verb);

  /// The server configuration for the current settings.
  caf::expected<display::vrde_config> config() const;
  const settings::vrde_settings& settings() const { return vrde_; }

  /// Runs `argv` ("controlvm", vm, verb, args...) against `srv`. On
  /// success the settings copy holds the change; on failure it is as
  /// before and the reply says why (exit code 1, VBoxManage's wording).
  host::cli_reply handle(display::vrde_server& srv,
                         const std::vector<std::string>& argv);

private:
  /// Applies `next` to the server; keeps it on success.
  caf::error apply(display::vrde_server& srv, settings::vrde_settings next);

  settings::vrde_settings vrde_;
  display::extradata_fn extradata_;
  std::string global_auth_library_;
  std::string machine_folder_;
};

} // namespace tb::headless
