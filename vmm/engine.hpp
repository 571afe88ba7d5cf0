// The narrow interface between the VMM and a virtualization engine.
//
// KVM (kvm_engine.hpp) is the first implementation; a software engine can
// come later behind the same three classes. Nothing here includes
// <linux/kvm.h>.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "vmm/x86_state.hpp"

namespace tb::vmm {

/// Why `engine_vcpu::run` returned.
enum class exit_kind : uint8_t {
  pio,            ///< Port I/O the VMM must answer.
  mmio,           ///< A guest access to unbacked physical memory.
  interrupted,    ///< Kicked (immediate_exit or signal); nothing to do.
  halt,           ///< HLT without an in-kernel LAPIC to wait on.
  shutdown,       ///< Triple fault or shutdown cycle.
  system_reset,   ///< The engine saw a reset request (e.g. PSCI, ACPI).
  system_off,     ///< The engine saw a poweroff request.
  internal_error, ///< The engine could not emulate something.
  fail_entry,     ///< The hardware refused to enter the guest.
  other,          ///< Anything else; `detail` names it.
};

/// Number of exit kinds, for per-kind counters.
constexpr size_t exit_kind_count = 10;

/// Short name of an exit kind for logs and counters.
const char* to_string(exit_kind k);

/// One exit. For pio/mmio, `data` aliases the engine's exchange buffer:
/// reads fill it, writes carry the guest's bytes; it is valid until the
/// next run(). Port I/O with `count` > 1 (rep ins/outs) holds `count`
/// consecutive items of `size` bytes.
struct vcpu_exit {
  exit_kind kind = exit_kind::other;
  bool is_write = false;
  uint8_t size = 0;
  uint32_t count = 1;
  uint64_t address = 0; ///< Port number or guest-physical address.
  uint8_t* data = nullptr;
  uint64_t detail = 0; ///< Engine-specific reason code for errors.
};

/// One CPUID leaf as the guest will see it.
struct cpuid_entry {
  uint32_t function = 0;
  uint32_t index = 0;
  uint32_t flags = 0; ///< Engine flags (KVM: significant-index).
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

/// A vCPU. Every call except kick() must come from the one thread that owns
/// it (the vCPU executor); kick() may come from any thread.
class engine_vcpu {
public:
  virtual ~engine_vcpu() = default;
  virtual uint32_t index() const = 0;
  /// Enters the guest until the next exit the VMM must see.
  virtual vcpu_exit run() = 0;
  /// Makes a current or the next run() return `interrupted` soon.
  virtual void kick() = 0;
  /// Forgets a kick that was already noticed (called before re-entering).
  virtual void clear_kick() = 0;
  /// Binds kick() to the calling thread; call on the owning thread first.
  virtual caf::error bind_thread() = 0;
  /// Stops kick() from signalling the thread; call before it ends.
  virtual void unbind_thread() = 0;
  virtual caf::error set_cpuid(const std::vector<cpuid_entry>& leaves) = 0;
  /// Local APIC LINT0 = ExtINT, LINT1 = NMI ("virtual wire", as a BIOS
  /// leaves the BSP), so PIC interrupts reach a guest that never touches
  /// its APIC.
  virtual caf::error set_virtual_wire() = 0;
  /// Loads a boot protocol's entry state (general and special registers).
  virtual caf::error set_boot_state(const boot_cpu_state& st) = 0;
  virtual caf::expected<x86_regs> regs() = 0;
  /// The guest TSC frequency in kHz (0 when the engine cannot tell).
  virtual uint32_t tsc_khz() = 0;
  virtual caf::expected<vcpu_state> capture() = 0;
  virtual caf::error restore(const vcpu_state& st) = 0;
};

/// Per-slot flags for guest memory.
enum class slot_flags : uint32_t {
  none = 0,
  log_dirty = 1, ///< Track written pages (display damage, teleport).
  read_only = 2, ///< Writes exit as MMIO (ROM).
};

/// A virtual machine: memory slots, interrupt controller, vCPUs.
class engine_vm {
public:
  virtual ~engine_vm() = default;
  /// Maps host memory at `gpa`; a size of 0 deletes the slot.
  virtual caf::error set_memory_slot(uint32_t slot, uint64_t gpa, uint64_t size,
                                     void* host, slot_flags flags) = 0;
  /// The pages written since the last call, one bit per 4 KiB page.
  virtual caf::expected<std::vector<uint64_t>> dirty_log(uint32_t slot,
                                                         uint64_t size) = 0;
  /// Creates the in-kernel PIC/IOAPIC/LAPIC and PIT (before any vCPU).
  virtual caf::error create_platform() = 0;
  /// Drives interrupt line `gsi` (0-23 on the IOAPIC) to `level`.
  virtual caf::error set_irq_line(uint32_t gsi, bool level) = 0;
  virtual caf::expected<std::unique_ptr<engine_vcpu>>
  create_vcpu(uint32_t index) = 0;

  /// Interrupt controllers, PIT and clock (teleport, saved state). Only
  /// while every vCPU is paused.
  virtual caf::expected<platform_state> capture_platform() = 0;
  virtual caf::error restore_platform(const platform_state& st) = 0;

  /// Lets guest writes of `len` bytes to `address` (MMIO, or a port when
  /// `pio`) signal eventfd `fd` inside the kernel instead of exiting to the
  /// VMM (a virtqueue notify costs no userspace exit).
  virtual caf::error add_ioeventfd(uint64_t address, uint32_t len, int fd,
                                   bool pio) = 0;
  virtual caf::error remove_ioeventfd(uint64_t address, uint32_t len, int fd,
                                      bool pio) = 0;
  /// Writing eventfd `fd` raises line `gsi` without an ioctl from the VMM.
  /// With `resample_fd` >= 0 the line is level-triggered: the engine lowers
  /// it at the guest's EOI and signals `resample_fd`, and the device
  /// raises it again while its interrupt is still pending.
  virtual caf::error add_irqfd(uint32_t gsi, int fd, int resample_fd) = 0;
  virtual caf::error remove_irqfd(uint32_t gsi, int fd) = 0;
};

/// What the host's engine offers.
struct engine_info {
  std::string name; ///< "kvm".
  int api_version = 0;
  bool immediate_exit = false; ///< KVM_CAP_IMMEDIATE_EXIT.
  bool pvm = false;            ///< Software virtualization (kvm_pvm).
  uint32_t max_vcpus = 1;
};

/// A virtualization engine: one per process, creates VMs.
class engine {
public:
  virtual ~engine() = default;
  virtual const engine_info& info() const = 0;
  /// Every CPUID leaf the engine can give a guest (host ∩ engine).
  virtual caf::expected<std::vector<cpuid_entry>> supported_cpuid() = 0;
  /// Hyper-V enlightenment leaves the engine can back; empty when none.
  virtual caf::expected<std::vector<cpuid_entry>> supported_hv_cpuid() = 0;
  virtual caf::expected<std::unique_ptr<engine_vm>> create_vm() = 0;
};

/// Opens /dev/kvm. Errors say what is missing ("no /dev/kvm: ...").
caf::expected<std::unique_ptr<engine>> open_kvm_engine();

} // namespace tb::vmm
