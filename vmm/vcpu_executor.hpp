// The vCPU executor: one detached actor per vCPU that owns the vCPU's
// thread, its fd and kvm_run mapping, and every ioctl on it. It runs
// KVM_RUN, dispatches port I/O and MMIO exits straight to the device bus (no
// message on the hot path), and is kicked out of the kernel (immediate_exit
// plus a signal) whenever a message arrives: pause, resume, capture state,
// restore state, stop.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "vmm/engine.hpp"
#include "vmm/io_bus.hpp"

namespace tb::vmm {

/// Run state of one executor.
enum class vcpu_run_state : uint8_t { running, paused, stopped };

const char* to_string(vcpu_run_state s);

/// What an executor applies on its own thread before the first KVM_RUN.
struct vcpu_setup {
  std::vector<cpuid_entry> cpuid;
  std::optional<boot_cpu_state> boot; ///< The BSP's entry state.
  bool virtual_wire = false;          ///< BSP: LINT0 ExtINT, LINT1 NMI.
  bool start_running = true;          ///< Else starts paused.
};

/// Exits per kind; written by the vCPU thread only, read by anyone.
struct vcpu_counters {
  std::array<std::atomic<uint64_t>, exit_kind_count> exits{};

  void bump(exit_kind k) {
    auto& c = exits[static_cast<size_t>(k)];
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  std::vector<uint64_t> snapshot() const;
};

/// Called on the vCPU thread when the machine must act: kind is
/// "shutdown" (triple fault), "reset", "poweroff", "error" or "stopped".
using vcpu_event_fn = std::function<void(
    uint32_t index, const std::string& kind, const std::string& detail)>;

/// Everything an executor works with; shared with the machine, which kicks
/// through `vcpu` and reads `counters` and `state`.
struct vcpu_core {
  std::unique_ptr<engine_vcpu> vcpu;
  io_bus* bus = nullptr; ///< Outlives the executor (machine owns it).
  vcpu_setup setup;
  vcpu_event_fn on_event;
  vcpu_counters counters;
  std::atomic<vcpu_run_state> state{vcpu_run_state::paused};
};

/// Spawns the executor for `core` as a detached blocking actor. Send it
/// pause_atom, resume_atom, capture_atom, (restore_atom, vcpu_state) or
/// stop_atom, each followed by core->vcpu->kick(); every request is
/// answered (vcpu_report, or vcpu_state for capture) or fails with an
/// error saying why. It ends after stop_atom or an exit_msg.
caf::actor spawn_vcpu_executor(caf::actor_system& sys,
                               std::shared_ptr<vcpu_core> core);

/// Runs one exit's device access on the bus (exposed for benchmarks).
void dispatch_exit(io_bus& bus, const vcpu_exit& ex);

} // namespace tb::vmm
