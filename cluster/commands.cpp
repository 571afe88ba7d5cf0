// run_command: strips VBoxManage's global options, dispatches on the verb and
// turns anything thrown below into an error instead of a crash.
#include "cluster/commands.hpp"

#include <exception>

#include "cluster/cmd_verbs.hpp"

namespace tb::cluster {

namespace {

using verb_fn = int (*)(cmd_env&, const cmd_args&);

struct verb {
  const char* name;
  verb_fn fn;
};

constexpr verb verbs[] = {
    {"createvm", cmd_createvm},
    {"registervm", cmd_registervm},
    {"unregistervm", cmd_unregistervm},
    {"list", cmd_list},
    {"showvminfo", cmd_showvminfo},
    {"modifyvm", cmd_modifyvm},
    {"createmedium", cmd_createmedium},
    {"createhd", cmd_createmedium},
    {"createvdi", cmd_createmedium},
    {"closemedium", cmd_closemedium},
    {"openmedium", cmd_openmedium},
    {"storagectl", cmd_storagectl},
    {"storageattach", cmd_storageattach},
    {"setextradata", cmd_setextradata},
    {"getextradata", cmd_getextradata},
    {"setproperty", cmd_setproperty},
    {"internalcommands", cmd_internalcommands},
    {"convertfromraw", cmd_convertfromraw},
    {"convertdd", cmd_convertfromraw},
    {"clonemedium", cmd_clonemedium},
    {"clonehd", cmd_clonemedium},
    {"clonevdi", cmd_clonemedium},
    {"modifymedium", cmd_modifymedium},
    {"modifyhd", cmd_modifymedium},
    {"modifyvdi", cmd_modifymedium},
    {"showmediuminfo", cmd_showmediuminfo},
    {"showhdinfo", cmd_showmediuminfo},
    {"showvdiinfo", cmd_showmediuminfo},
};

// Handled by the host service itself (they talk to VM processes).
constexpr const char* host_verbs[] = {"startvm", "controlvm", "watch"};

constexpr const char* verb_list =
    "createvm, registervm, unregistervm, list, showvminfo, modifyvm, "
    "createmedium (createhd, createvdi), closemedium, openmedium, storagectl, "
    "storageattach, setextradata, getextradata, setproperty, "
    "internalcommands, convertfromraw, clonemedium, modifymedium, "
    "showmediuminfo, startvm, controlvm";

int dispatch(cmd_env& env, const std::vector<std::string>& argv) {
  size_t first = 0;
  // VBoxManage's global options before the verb.
  while (first < argv.size()
         && (argv[first] == "-q" || argv[first] == "--nologo"
             || argv[first] == "-nologo" || argv[first] == "--quiet"))
    ++first;
  if (first >= argv.size())
    return env.syntax("No command given", "<command> [arguments]; commands: "
                                              + std::string{verb_list});
  auto name = lower(argv[first]);
  cmd_args rest(argv.begin() + static_cast<long>(first) + 1, argv.end());
  for (auto& v : verbs)
    if (name == v.name)
      return v.fn(env, rest);
  for (auto* h : host_verbs)
    if (name == h)
      return env.fail("'" + name
                      + "' is not handled here: it runs in the host service");
  return env.syntax("Unknown command '" + argv[first] + "'",
                    "<command> [arguments]; commands: "
                        + std::string{verb_list});
}

} // namespace

command_output run_command(registry& reg, const std::vector<std::string>& argv,
                           const command_context& ctx) {
  command_output out;
  cmd_env env{reg, ctx, out};
  try {
    out.exit_code = dispatch(env, argv);
  } catch (const std::exception& e) {
    out.exit_code = env.fail(std::string{"internal error: "} + e.what());
  } catch (...) {
    out.exit_code = env.fail("internal error");
  }
  return out;
}

} // namespace tb::cluster
