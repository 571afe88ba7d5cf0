// setextradata / getextradata for a machine or "global".
#include "actors/error_text.hpp"
#include "cluster/cmd_verbs.hpp"

namespace tb::cluster {

int cmd_setextradata(cmd_env& env, const cmd_args& args) {
  constexpr const char* usage =
      "setextradata <uuid|vmname>|global <key> [<value>]";
  if (args.size() < 2 || args.size() > 3)
    return env.syntax("Expected a machine (or global), a key and an "
                      "optional value",
                      usage);
  const auto& key = args[1];
  if (key.empty())
    return env.fail("The extradata key must not be empty");
  std::string value = args.size() == 3 ? args[2] : "";
  if (lower(args[0]) == "global") {
    auto& g = env.reg.global();
    auto old = g.extradata(key);
    g.set_extradata(key, value);
    if (auto err = g.save()) {
      g.set_extradata(key, old.value_or(""));
      return env.fail(error_text(err));
    }
    env.event("global", nullptr, "extradata " + key);
    return 0;
  }
  auto* m = find_vm(env, args[0]);
  if (!m)
    return 1;
  auto edited = clone_machine(*m);
  if (!edited)
    return env.fail(error_text(edited.error()));
  edited->set_extradata(key, value);
  if (auto err = commit_machine(*m, std::move(*edited)))
    return env.fail(error_text(err));
  env.event("settings", m, "extradata " + key);
  return 0;
}

int cmd_getextradata(cmd_env& env, const cmd_args& args) {
  constexpr const char* usage =
      "getextradata <uuid|vmname>|global <key>|enumerate";
  if (args.size() != 2)
    return env.syntax("Expected a machine (or global) and a key or "
                      "'enumerate'",
                      usage);
  std::vector<std::pair<std::string, std::string>> all;
  std::optional<std::string> one;
  bool enumerate = args[1] == "enumerate";
  if (lower(args[0]) == "global") {
    auto& g = env.reg.global();
    enumerate ? (void)(all = g.extradata_all())
              : (void)(one = g.extradata(args[1]));
  } else {
    auto* m = find_vm(env, args[0]);
    if (!m)
      return 1;
    enumerate ? (void)(all = m->extradata_all())
              : (void)(one = m->extradata(args[1]));
  }
  if (enumerate) {
    for (auto& [k, v] : all)
      env.print("Key: " + k + ", Value: " + v + "\n");
  } else if (one) {
    env.print("Value: " + *one + "\n");
  } else {
    env.print("No value set!\n");
  }
  return 0;
}

} // namespace tb::cluster
