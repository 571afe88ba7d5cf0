// The VRDE controlvm verbs (see control_vrde.hpp).
#include "control_vrde.hpp"

#include "actors/error_text.hpp"
#include "display/vrde_errors.hpp"

namespace tb::headless {

namespace {

host::cli_reply error_reply(const std::string& text) {
  host::cli_reply r;
  r.exit_code = 1;
  r.err = "VBoxManage: error: " + text + "\n";
  return r;
}

} // namespace

vrde_control::vrde_control(settings::vrde_settings vrde,
                           display::extradata_fn extradata,
                           std::string global_auth_library,
                           std::string machine_folder)
    : vrde_(std::move(vrde)), extradata_(std::move(extradata)),
      global_auth_library_(std::move(global_auth_library)),
      machine_folder_(std::move(machine_folder)) {}

bool vrde_control::handles(const std::string& verb) {
  return verb == "vrde" || verb == "vrdeport" || verb == "vrdeproperty";
}

caf::expected<display::vrde_config> vrde_control::config() const {
  return display::make_vrde_config(vrde_, extradata_, global_auth_library_,
                                   machine_folder_);
}

caf::error vrde_control::apply(display::vrde_server& srv,
                               settings::vrde_settings next) {
  auto cfg = display::make_vrde_config(next, extradata_, global_auth_library_,
                                       machine_folder_);
  if (!cfg)
    return cfg.error(); // a bad value: nothing changed
  if (next == vrde_ && srv.port() != 0)
    return {}; // no change (a server that failed to start tries again)
  // Every change restarts the server (its clients are disconnected), as
  // VirtualBox's does for a property change.
  if (auto err = srv.reconfigure(std::move(*cfg))) {
    // Back to what ran before, so the VM stays reachable where it was.
    if (auto old = config())
      (void)srv.reconfigure(std::move(*old));
    return display::make_vrde_error(display::vrde_errc::start_failed,
                                    error_text(err)
                                        + " (the VRDE server keeps its "
                                          "previous settings)");
  }
  vrde_ = std::move(next);
  return {};
}

host::cli_reply vrde_control::handle(display::vrde_server& srv,
                                     const std::vector<std::string>& argv) {
  const std::string verb = argv.size() > 2 ? argv[2] : "";
  if (argv.size() < 4)
    return error_reply("Missing argument to '" + verb + "'");
  const std::string& arg = argv[3];
  auto next = vrde_;
  if (verb == "vrde") {
    if (arg == "on")
      next.enabled = true;
    else if (arg == "off")
      next.enabled = false;
    else
      return error_reply("Invalid remote desktop server state '" + arg + "'");
  } else if (verb == "vrdeport") {
    // "default" is VBoxManage's spelling of the stored "0" (port 3389).
    next.properties["TCP/Ports"] = arg == "default" ? "0" : arg;
  } else {
    auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0)
      return error_reply("Invalid vrdeproperty argument '" + arg + "'");
    auto name = arg.substr(0, eq);
    auto value = arg.substr(eq + 1);
    if (value.empty())
      next.properties.erase(name); // an empty value removes the property
    else
      next.properties[name] = value;
  }
  if (auto err = apply(srv, std::move(next)))
    return error_reply(error_text(err));
  return {};
}

} // namespace tb::headless
