// setproperty and internalcommands.
#include "actors/error_text.hpp"
#include "cluster/cmd_verbs.hpp"

namespace tb::cluster {

int cmd_setproperty(cmd_env& env, const cmd_args& args) {
  constexpr const char* usage =
      "setproperty machinefolder <path>|default | "
      "vrdeauthlibrary <library>|default | loghistorycount <n>";
  if (args.size() != 2)
    return env.syntax("Expected a property name and a value", usage);
  auto name = lower(args[0]);
  const auto& value = args[1];
  auto& g = env.reg.global();
  auto props = g.properties();
  auto old = props;
  if (name == "machinefolder") {
    if (value.empty())
      return env.fail("The machine folder must not be empty (use 'default')");
    props.default_machine_folder =
        lower(value) == "default" ? "" : client_path(env, value);
  } else if (name == "vrdeauthlibrary" || name == "vrdpauthlibrary") {
    if (value.empty())
      return env.fail("The VRDE authentication library name must not be "
                      "empty (use 'default')");
    props.vrde_auth_library = lower(value) == "default" ? "" : value;
  } else if (name == "loghistorycount") {
    uint64_t n = 0;
    if (!parse_uint(value, 0, 4096, n))
      return env.fail("Invalid log history count '" + value + "'");
    props.log_history_count = static_cast<uint32_t>(n);
  } else {
    return env.fail("setproperty '" + args[0]
                    + "' is not supported by telebox (supported: "
                      "machinefolder, vrdeauthlibrary, loghistorycount)");
  }
  g.set_properties(props);
  if (auto err = g.save()) {
    g.set_properties(old);
    return env.fail(error_text(err));
  }
  env.event("global", nullptr, "property " + name);
  return 0;
}

int cmd_internalcommands(cmd_env& env, const cmd_args& args) {
  constexpr const char* usage = "internalcommands passwordhash <password>";
  if (args.empty())
    return env.syntax("Expected a subcommand", usage);
  if (lower(args[0]) != "passwordhash")
    return env.fail("internalcommands '" + args[0]
                    + "' is not supported by telebox (supported: "
                      "passwordhash)");
  if (args.size() != 2)
    return env.syntax("passwordhash takes exactly one password", usage);
  env.print("Password hash: " + sha256_hex(args[1]) + "\n");
  return 0;
}

} // namespace tb::cluster
