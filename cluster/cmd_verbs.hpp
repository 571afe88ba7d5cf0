// The verbs run_command dispatches to; each takes the arguments after the
// verb and returns the exit code.
#pragma once

#include <string>
#include <vector>

#include "cluster/cmd_common.hpp"

namespace tb::cluster {

using cmd_args = std::vector<std::string>;

int cmd_createvm(cmd_env& env, const cmd_args& args);
int cmd_registervm(cmd_env& env, const cmd_args& args);
int cmd_unregistervm(cmd_env& env, const cmd_args& args);
int cmd_list(cmd_env& env, const cmd_args& args);
int cmd_showvminfo(cmd_env& env, const cmd_args& args);
int cmd_modifyvm(cmd_env& env, const cmd_args& args);
int cmd_createmedium(cmd_env& env, const cmd_args& args);
int cmd_closemedium(cmd_env& env, const cmd_args& args);
int cmd_openmedium(cmd_env& env, const cmd_args& args);
int cmd_storagectl(cmd_env& env, const cmd_args& args);
int cmd_storageattach(cmd_env& env, const cmd_args& args);
int cmd_setextradata(cmd_env& env, const cmd_args& args);
int cmd_getextradata(cmd_env& env, const cmd_args& args);
int cmd_setproperty(cmd_env& env, const cmd_args& args);
int cmd_internalcommands(cmd_env& env, const cmd_args& args);
int cmd_convertfromraw(cmd_env& env, const cmd_args& args);
int cmd_clonemedium(cmd_env& env, const cmd_args& args);
int cmd_modifymedium(cmd_env& env, const cmd_args& args);
int cmd_showmediuminfo(cmd_env& env, const cmd_args& args);

/// Prints showvminfo's output for one machine (also `list --long vms`).
void print_vm_info(cmd_env& env, settings::machine_config& m,
                   bool machine_readable);

} // namespace tb::cluster
