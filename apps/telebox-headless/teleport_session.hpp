// Teleporting in the VM process: the source side behind `controlvm <vm>
// teleport` and the target side that a machine with its teleporter enabled
// runs instead of booting (VirtualBox's "teleportingin").
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/messages/host.hpp"
#include "actors/messages/vmm.hpp"
#include "cluster/teleport_auth.hpp"
#include "settings/machine_config.hpp"
#include "vmm/machine.hpp"

namespace tb::display {
class vrde_server;
} // namespace tb::display

namespace tb::headless {

/// What the source side works with.
struct teleport_source_context {
  caf::actor_system* sys = nullptr;
  vmm::machine_actor machine;
  cluster::hardware_fingerprint fingerprint;
  std::function<void(const std::string&)> log;
  display::vrde_server* vrde = nullptr; ///< Null without an RDP server.
};

/// `controlvm <vm> teleport --host H --port P ...` (req.argv is the whole
/// command line). On success the VM runs on the target and this machine
/// ends in state "teleported"; on failure it runs on as before and the
/// reply says why. The progress line goes to the reply's stderr.
host::cli_reply teleport_source(const teleport_source_context& ctx,
                                const host::cli_request& req);

/// Whether starting this machine waits for an incoming teleport.
bool teleport_target_enabled(const settings::machine_config& cfg);

/// What the target side works with.
struct teleport_target_context {
  caf::actor_system* sys = nullptr;
  settings::teleporter_settings teleporter;
  cluster::hardware_fingerprint fingerprint;
  /// Disks the machine is built without; attached at the hand-over, once
  /// the source let go of them.
  std::vector<vmm::disk_spec> disks;
  /// Builds a fresh machine, paused and never started.
  std::function<caf::expected<vmm::machine_actor>()> build;
  /// Stops a machine for good (after a failed teleport into it).
  std::function<void(vmm::machine_actor)> discard;
  std::function<void(const std::string&)> log;
  int stop_fd = -1; ///< Readable when the process is asked to stop.
};

/// Listens on the teleporter's address and port and takes teleports into
/// `first` until one succeeds; after each failure the machine is discarded
/// and rebuilt and the target waits again. Returns the running machine, or
/// an error when no teleport arrived (5 minutes, as VirtualBox) or the
/// process was asked to stop.
caf::expected<vmm::machine_actor>
run_teleport_target(const teleport_target_context& ctx,
                    vmm::machine_actor first);

} // namespace tb::headless
