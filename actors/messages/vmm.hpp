// Messages of a VM process: the machine actor (lifecycle, controlvm verbs),
// its vCPU executors, and the state-change events it emits.
//
// The machine actor is the seam the host service connects to: every
// controlvm verb maps onto one request below, and a state listener hears
// every transition (running, paused, poweroff, aborted, ...).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/type_id.hpp>
#include <caf/typed_actor.hpp>

#include "actors/type_id_ranges.hpp"
#include "vmm/x86_state.hpp"

namespace tb::vmm {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, msr_value& x) {
  return f(caf::meta::type_name("msr_value"), x.index, x.value);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, vcpu_state& x) {
  return f(caf::meta::type_name("vcpu_state"), x.engine, x.index, x.regs,
           x.sregs, x.xsave, x.xcrs, x.lapic, x.events, x.debugregs, x.mp_state,
           x.msrs, x.tsc_khz);
}

/// What one vCPU executor reports about itself.
struct vcpu_report {
  uint32_t index = 0;
  std::string state;           ///< running | paused | stopped
  std::vector<uint64_t> exits; ///< Per exit_kind (engine.hpp order).
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, vcpu_report& x) {
  return f(caf::meta::type_name("vcpu_report"), x.index, x.state, x.exits);
}

/// Something a vCPU or device saw that the machine must act on.
struct vcpu_event {
  uint32_t index = 0; ///< vCPU index; UINT32_MAX for a device request.
  std::string kind;   ///< shutdown | reset | poweroff | error | stopped
  std::string detail;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, vcpu_event& x) {
  return f(caf::meta::type_name("vcpu_event"), x.index, x.kind, x.detail);
}

/// The machine's runtime state, in VBoxManage VMState words.
struct machine_status {
  std::string uuid; ///< Without braces.
  std::string name;
  std::string state;    ///< starting | running | paused | poweroff | aborted
  std::string detail;   ///< Why the last change happened.
  int64_t since_ns = 0; ///< Wall clock (realtime) of the last change.
  uint32_t resets = 0;  ///< Resets since start.
  std::vector<vcpu_report> vcpus;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, machine_status& x) {
  return f(caf::meta::type_name("machine_status"), x.uuid, x.name, x.state,
           x.detail, x.since_ns, x.resets, x.vcpus);
}

/// A state transition, sent to every listener.
struct state_change {
  std::string uuid;
  std::string previous;
  std::string state;
  std::string detail;
  int64_t since_ns = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, state_change& x) {
  return f(caf::meta::type_name("state_change"), x.uuid, x.previous, x.state,
           x.detail, x.since_ns);
}

/// PC/AT set-1 scancodes for the PS/2 keyboard (keyboardputscancode).
struct scancodes {
  std::vector<uint8_t> bytes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scancodes& x) {
  return f(caf::meta::type_name("scancodes"), x.bytes);
}

/// A machine's saved state for a teleport: named, versioned blobs (every
/// device, the VM-wide state, one per vCPU "vcpu<i>"). Process-local use
/// only so far; the teleport stream carries the blobs itself.
struct machine_snapshot {
  std::vector<std::string> names;
  std::vector<std::vector<uint8_t>> blobs;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, machine_snapshot& x) {
  return f(caf::meta::type_name("machine_snapshot"), x.names, x.blobs);
}

class machine;

/// The running machine, lent to a teleport thread for its memory and dirty
/// log; the machine actor keeps it alive until the lease ends.
struct machine_lease {
  machine* m = nullptr;
};

} // namespace tb::vmm

// A pointer into this process: never serialized, never remote.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tb::vmm::machine_lease)

CAF_ADD_ATOM(telebox_vmm, tb::vmm, pause_atom, "pause")
CAF_ADD_ATOM(telebox_vmm, tb::vmm, resume_atom, "resume")
CAF_ADD_ATOM(telebox_vmm, tb::vmm, capture_atom, "capture")
CAF_ADD_ATOM(telebox_vmm, tb::vmm, restore_atom, "restore")
CAF_ADD_ATOM(telebox_vmm, tb::vmm, stop_atom, "stop")
CAF_ADD_ATOM(telebox_vmm, tb::vmm, reset_atom, "reset")
CAF_ADD_ATOM(telebox_vmm, tb::vmm, poweroff_atom, "poweroff")
CAF_ADD_ATOM(telebox_vmm, tb::vmm, acpi_button_atom, "acpibutton")
CAF_ADD_ATOM(telebox_vmm, tb::vmm, status_atom, "status")
CAF_ADD_ATOM(telebox_vmm, tb::vmm, listen_atom, "listen")
CAF_ADD_ATOM(telebox_vmm, tb::vmm, keys_atom, "keys")
CAF_ADD_ATOM(telebox_vmm, tb::vmm, teleport_atom, "teleport")
CAF_ADD_ATOM(telebox_vmm, tb::vmm, save_state_atom, "savestate")
CAF_ADD_ATOM(telebox_vmm, tb::vmm, load_state_atom, "loadstate")
CAF_ADD_ATOM(telebox_vmm, tb::vmm, teleported_atom, "teleported")

namespace tb::vmm {

/// Hears every state change of a machine.
using state_listener_actor = caf::typed_actor<caf::reacts_to<state_change>>;

/// One running machine (the VM process's core). Every request answers with
/// the machine's status after it took effect, or an error saying why not.
using machine_actor = caf::typed_actor<
    /// Pauses every vCPU (legal while running).
    caf::replies_to<pause_atom>::with<machine_status>,
    /// Resumes every vCPU (legal while paused).
    caf::replies_to<resume_atom>::with<machine_status>,
    /// Hard reset: the machine is rebuilt and boots again.
    caf::replies_to<reset_atom>::with<machine_status>,
    /// Pulls the plug; the machine ends in state poweroff.
    caf::replies_to<poweroff_atom>::with<machine_status>,
    /// Presses the ACPI power button (the guest decides what to do).
    caf::replies_to<acpi_button_atom>::with<machine_status>,
    /// Current state and per-vCPU exit counters.
    caf::replies_to<status_atom>::with<machine_status>,
    /// Adds a listener for state changes until it goes down.
    caf::replies_to<listen_atom, state_listener_actor>::with<bool>,
    /// Types scancodes on the PS/2 keyboard.
    caf::replies_to<keys_atom, scancodes>::with<bool>,
    /// Starts (true) or ends (false) a teleport: lends the machine out and,
    /// until it ends, refuses resets and power-offs and holds back the
    /// guest's own (replayed at the end).
    caf::replies_to<teleport_atom, bool>::with<machine_lease>,
    /// Every device's, vCPU's and the VM-wide state (legal while paused).
    caf::replies_to<save_state_atom>::with<machine_snapshot>,
    /// Restores a snapshot from an identical machine (legal while paused).
    caf::replies_to<load_state_atom, machine_snapshot>::with<machine_status>,
    /// The VM now runs elsewhere: stops it for good (state "teleported").
    caf::replies_to<teleported_atom>::with<machine_status>,
    /// From vCPU executors and devices: something needs the machine.
    caf::reacts_to<vcpu_event>>;

} // namespace tb::vmm

CAF_BEGIN_TYPE_ID_BLOCK(telebox_vmm, tb::actors::vmm_block_first)
  CAF_ADD_TYPE_ID(telebox_vmm, (tb::vmm::msr_value))
  CAF_ADD_TYPE_ID(telebox_vmm, (tb::vmm::vcpu_state))
  CAF_ADD_TYPE_ID(telebox_vmm, (tb::vmm::vcpu_report))
  CAF_ADD_TYPE_ID(telebox_vmm, (tb::vmm::vcpu_event))
  CAF_ADD_TYPE_ID(telebox_vmm, (tb::vmm::machine_status))
  CAF_ADD_TYPE_ID(telebox_vmm, (tb::vmm::state_change))
  CAF_ADD_TYPE_ID(telebox_vmm, (tb::vmm::scancodes))
  CAF_ADD_TYPE_ID(telebox_vmm, (tb::vmm::state_listener_actor))
  CAF_ADD_TYPE_ID(telebox_vmm, (tb::vmm::machine_actor))
  CAF_ADD_TYPE_ID(telebox_vmm, (tb::vmm::machine_snapshot))
CAF_END_TYPE_ID_BLOCK(telebox_vmm)
