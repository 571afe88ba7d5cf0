// What every verb needs: output and error reporting, machine and medium
// lookup, copy-edit-save of machine settings, paths and hashes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/cli_args.hpp"
#include "cluster/commands.hpp"
#include "cluster/registry.hpp"

namespace tb::cluster {

/// One running command: where it runs, what it prints.
struct cmd_env {
  registry& reg;
  const command_context& ctx;
  command_output& out;

  void print(std::string_view s) { out.out += s; }
  /// Progress lines go to stderr, as VBoxManage writes them, so they never
  /// mix with output a script parses.
  void progress(std::string_view s) { out.err += s; }
  /// Prints "telebox: error: <msg>" and returns exit code 1.
  int fail(const std::string& msg);
  /// Prints the error and a usage line; returns exit code 2.
  int syntax(const std::string& msg, std::string_view usage);
  /// Queues an event for the host service to broadcast.
  void event(std::string kind, const settings::machine_config* m,
             std::string detail);
};

/// The machine by name or UUID; prints VBoxManage's message when unknown.
settings::machine_config* find_vm(cmd_env& env, const std::string& name);

/// An independent copy of `m` (same path) to edit before saving, so a
/// failed command leaves the live settings untouched.
caf::expected<settings::machine_config>
clone_machine(const settings::machine_config& m);

/// Saves `edited` and, only when that worked, makes it the live copy.
caf::error commit_machine(settings::machine_config& live,
                          settings::machine_config&& edited);

/// `path` made absolute against the client's working folder, normalised.
std::string client_path(const cmd_env& env, const std::string& path);

/// UUID without braces, lowercase.
std::string plain_uuid(const std::string& braced);

/// Lowercase hex digests (settings/hash.hpp).
std::string sha256_hex(std::string_view data);
std::string sha512_hex(std::string_view data);

/// A medium known to some registry.
struct medium_ref {
  settings::medium_entry entry;
  std::string path;                          ///< Absolute location.
  settings::machine_config* owner = nullptr; ///< nullptr: global registry.
};

/// Every registered medium (global first, then per machine), one per UUID.
std::vector<medium_ref> all_media(registry& reg);
/// By UUID (with or without braces) or by absolute path; `kind` filters
/// (HardDisk, DVD, Floppy) unless empty.
std::optional<medium_ref> find_medium(registry& reg, const std::string& key,
                                      std::string_view kind = {});
/// Machines with an attachment of this medium UUID (braced).
std::vector<settings::machine_config*> medium_users(registry& reg,
                                                    const std::string& uuid);
/// Absolute path of a media registry entry owned by `owner` (or global).
std::string medium_path(registry& reg, const settings::medium_entry& e,
                        const settings::machine_config* owner);

/// "powered off", "running", ... for human output.
std::string state_human(const std::string& state);

/// The machine's VMState: the live state a VM process reported, else
/// "saved" (a state file exists), "aborted" or "poweroff" from its settings.
std::string machine_state(registry& reg, const settings::machine_config& m);

/// Whether hardware settings are frozen: a VM process runs, or a saved
/// state would no longer match them.
bool hardware_locked(registry& reg, const settings::machine_config& m);

/// Exit code when a modification needs the VM powered off.
int refuse_running(cmd_env& env, const settings::machine_config& m,
                   std::string_view what);

} // namespace tb::cluster

namespace tb::cluster {

/// VBoxManage's finished progress line "0%...10%...100%\n".
std::string progress_line(int upto = 100);

/// "080027" followed by six random hex digits (VirtualBox's OUI).
std::string random_mac();

} // namespace tb::cluster
