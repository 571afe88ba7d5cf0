// VBoxManage-syntax commands executed by the host service against its
// registry: createvm, registervm, unregistervm, list, showvminfo, modifyvm,
// createmedium/createhd, closemedium, storagectl, storageattach,
// setextradata/getextradata, setproperty, internalcommands.
#pragma once

#include <string>
#include <vector>

#include "actors/messages/host.hpp"

namespace tb::cluster {

class registry;

/// Where a command runs: relative paths resolve against `cwd`; `input` is
/// what the client read from its stdin for "stdin" arguments.
struct command_context {
  std::string cwd;
  std::string input;
};

/// What a command printed, its exit code (0 ok, 1 failure, 2 syntax error)
/// and the events it caused, for the host service to broadcast.
struct command_output {
  int exit_code = 0;
  std::string out;
  std::string err;
  std::vector<host::host_event> events;
};

/// Runs one command line (`argv` without the program name). Never throws;
/// every failure is an error message on `err` and a non-zero exit code, and
/// a failed command changes no file.
command_output run_command(registry& reg, const std::vector<std::string>& argv,
                           const command_context& ctx);

} // namespace tb::cluster
