// The machine actor: runs one assembled machine's vCPU executors and owns
// its lifecycle (pause, resume, reset, poweroff, ACPI power button, abort on
// a fatal exit), reporting every state change to its listeners. This is the
// seam the host service connects to (actors/messages/vmm.hpp).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/messages/vmm.hpp"
#include "vmm/machine.hpp"

namespace tb::vmm {

/// How the machine actor starts.
struct machine_options {
  bool start_paused = false;
  /// One line for the VM log (state changes, exits, resets).
  std::function<void(const std::string&)> log;
  /// COM1 output; survives resets (the machine is rebuilt, this is not).
  std::function<void(std::span<const uint8_t>)> serial_out;
  /// Where disk actors live (set by start_machine/spawn_machine).
  caf::actor_system* sys = nullptr;
  /// Listeners from the start, so no early state change is missed.
  std::vector<state_listener_actor> listeners;
  /// Display mode changes and re-attachment (machine_hooks::display_mode);
  /// survives resets.
  std::function<void(machine*, const devices::display_mode&)> display_mode;
};

/// Routes vCPU and device events to the machine actor once it exists.
struct event_relay;
std::shared_ptr<event_relay> make_event_relay();

/// The hooks for machine::build when the machine actor will run it.
machine_hooks make_machine_hooks(std::shared_ptr<event_relay> relay,
                                 const machine_options& opts);

/// Spawns the actor around `built` (made by machine::build with hooks from
/// the same `relay`; resets rebuild from `eng` and `spec`). It spawns one
/// executor per vCPU and reports "running" (or "paused"). After poweroff or
/// abort it stays alive to answer status until it gets an exit_msg or the
/// last handle goes away.
machine_actor spawn_machine(caf::actor_system& sys, std::shared_ptr<engine> eng,
                            machine_spec spec, std::unique_ptr<machine> built,
                            machine_options opts,
                            std::shared_ptr<event_relay> relay);

/// Convenience for mains and tests: builds the machine and spawns its actor
/// in one go. Errors (bad kernel, no KVM, ...) come back before any thread
/// starts.
caf::expected<machine_actor> start_machine(caf::actor_system& sys,
                                           std::shared_ptr<engine> eng,
                                           const machine_spec& spec,
                                           machine_options opts);

} // namespace tb::vmm
