// A VM process's link to the host service: attach with a control actor,
// then report every state change.
#pragma once

#include <functional>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "actors/messages/host.hpp"

namespace tb::cluster {

/// Handles one `controlvm <vm> <verb> [args]` request inside the VM process.
/// `req.argv` is the whole command line ("controlvm", vm, verb, ...).
using control_handler =
    std::function<host::cli_reply(const host::cli_request&)>;

class vm_link {
public:
  /// Connects to the running host service of `folder` (never starts one),
  /// spawns the control actor around `handler` and attaches it for the
  /// machine `uuid`.
  static caf::expected<vm_link> attach(caf::actor_system& sys,
                                       const std::string& folder,
                                       const std::string& uuid,
                                       control_handler handler);

  /// Sends a state report (asynchronous; never blocks the caller).
  void report(const std::string& state, int32_t vrde_port = -1) const;

  const host::vm_control_actor& control() const { return control_; }

  /// Stops the control actor (call before the actor system goes away).
  void close() const;

private:
  host::api_actor api_;
  host::vm_control_actor control_;
  std::string uuid_;
};

} // namespace tb::cluster
