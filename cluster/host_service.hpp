// The host service (VBoxSVC's role): owns the registry, executes commands,
// starts VM processes and tells every client what changed.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/messages/host.hpp"

namespace tb::cluster {

class registry;

struct host_service_config {
  std::string folder; ///< The global folder this service owns.
  std::string secret; ///< What clients must present to the gate.
  /// Exit this long after the last client left while no VM runs.
  std::chrono::milliseconds idle_exit{5000};
  /// The VM front end to spawn for `startvm --type headless`.
  std::string headless_path;
};

/// The two handles of a running host service.
struct host_service_handles {
  host::gate_actor gate; ///< Publish this one (and nothing else).
  caf::actor core;       ///< Monitor it: it quits when the service is done.
};

/// Spawns the service core (serialising every registry access) and its gate.
host_service_handles spawn_host_service(caf::actor_system& sys,
                                        host_service_config cfg,
                                        std::unique_ptr<registry> reg);

} // namespace tb::cluster
