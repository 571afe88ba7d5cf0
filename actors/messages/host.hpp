// Messages between `telebox` clients, VM processes and the host service.
//
// The host service (teleboxd) publishes a gate actor on 127.0.0.1; a client
// that presents the secret from the global folder gets the API actor back.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/type_id.hpp>
#include <caf/typed_actor.hpp>

#include "actors/type_id_ranges.hpp"

namespace tb::host {

/// One VBoxManage-syntax command line, executed by the host service.
struct cli_request {
  std::vector<std::string> argv; ///< Without the program name.
  std::string cwd;               ///< Relative paths resolve against this.
  std::string input;             ///< Text the client read for "stdin" args.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cli_request& x) {
  return f(caf::meta::type_name("cli_request"), x.argv, x.cwd, x.input);
}

/// What the command printed and its exit code (0 ok, 1 failure, 2 syntax).
struct cli_reply {
  int32_t exit_code = 0;
  std::string out;
  std::string err;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cli_reply& x) {
  return f(caf::meta::type_name("cli_reply"), x.exit_code, x.out, x.err);
}

/// A change every connected client hears about.
struct host_event {
  std::string kind;   ///< registered, unregistered, settings, state, ...
  std::string uuid;   ///< Machine UUID without braces; empty for global.
  std::string name;   ///< Machine name at the time of the event.
  std::string detail; ///< Human-readable detail, e.g. the new state.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, host_event& x) {
  return f(caf::meta::type_name("host_event"), x.kind, x.uuid, x.name,
           x.detail);
}

/// Runtime state a VM process reports to the host service.
struct vm_status {
  std::string uuid;
  std::string state;      ///< VBoxManage VMState: running, paused, ...
  int64_t since_ns = 0;   ///< Wall clock of the last state change.
  int32_t vrde_port = -1; ///< -1 not started, 0 failed, >0 bound port.
  int32_t pid = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, vm_status& x) {
  return f(caf::meta::type_name("vm_status"), x.uuid, x.state, x.since_ns,
           x.vrde_port, x.pid);
}

} // namespace tb::host

CAF_ADD_ATOM(telebox_host, tb::host, hello_atom, "hello")
CAF_ADD_ATOM(telebox_host, tb::host, exec_atom, "exec")
CAF_ADD_ATOM(telebox_host, tb::host, watch_atom, "watch")
CAF_ADD_ATOM(telebox_host, tb::host, vm_attach_atom, "vmattach")
CAF_ADD_ATOM(telebox_host, tb::host, vm_status_atom, "vmstatus")
CAF_ADD_ATOM(telebox_host, tb::host, control_atom, "control")

namespace tb::host {

/// Receives host events after `watch`.
using event_listener_actor = caf::typed_actor<caf::reacts_to<host_event>>;

/// Controls one running VM process (controlvm verbs, VBoxManage syntax).
using vm_control_actor = caf::typed_actor<
    /// Runs `controlvm <vm> <args...>` inside the VM process.
    caf::replies_to<control_atom, cli_request>::with<cli_reply>>;

/// The host service's API, handed out by the gate after authentication.
using api_actor = caf::typed_actor<
    /// Executes one command line against the registry.
    caf::replies_to<exec_atom, cli_request>::with<cli_reply>,
    /// Subscribes a listener to every host event until it goes down.
    caf::replies_to<watch_atom, event_listener_actor>::with<bool>,
    /// A VM process announces itself: machine UUID, pid and its control actor.
    caf::replies_to<vm_attach_atom, std::string, int32_t,
                    vm_control_actor>::with<bool>,
    /// A VM process reports a state change.
    caf::reacts_to<vm_status_atom, vm_status>>;

/// The only actor the host service publishes: trades the secret for the API.
using gate_actor =
    caf::typed_actor<caf::replies_to<hello_atom, std::string>::with<api_actor>>;

} // namespace tb::host

CAF_BEGIN_TYPE_ID_BLOCK(telebox_host, tb::actors::host_block_first)
  CAF_ADD_TYPE_ID(telebox_host, (tb::host::cli_request))
  CAF_ADD_TYPE_ID(telebox_host, (tb::host::cli_reply))
  CAF_ADD_TYPE_ID(telebox_host, (tb::host::host_event))
  CAF_ADD_TYPE_ID(telebox_host, (tb::host::vm_status))
  CAF_ADD_TYPE_ID(telebox_host, (tb::host::event_listener_actor))
  CAF_ADD_TYPE_ID(telebox_host, (tb::host::vm_control_actor))
  CAF_ADD_TYPE_ID(telebox_host, (tb::host::api_actor))
  CAF_ADD_TYPE_ID(telebox_host, (tb::host::gate_actor))
CAF_END_TYPE_ID_BLOCK(telebox_host)
