// Engine-neutral x86 register and vCPU state types.
//
// Loaders describe the CPU state a boot protocol asks for with these; the
// engine translates them. Saved vCPU state (for pause/capture, teleport) is a
// set of opaque, versioned blobs per component plus the MSR list, so the
// format stays inspectable by CAF without pulling <linux/kvm.h> everywhere.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tb::vmm {

/// A segment register as the CPU caches it (base, limit, attributes).
struct x86_segment {
  uint64_t base = 0;
  uint32_t limit = 0xffff;
  uint16_t selector = 0;
  uint8_t type = 0x3; ///< Descriptor type field (code/data, access bits).
  uint8_t present = 1;
  uint8_t dpl = 0;
  uint8_t db = 0; ///< Default operand size 32-bit.
  uint8_t s = 1;  ///< Code or data (not a system segment).
  uint8_t l = 0;  ///< 64-bit code segment.
  uint8_t g = 0;  ///< Limit in 4 KiB units.
};

/// A descriptor-table register (GDTR, IDTR).
struct x86_dtable {
  uint64_t base = 0;
  uint16_t limit = 0;
};

/// General-purpose registers, instruction pointer and flags.
struct x86_regs {
  uint64_t rax = 0, rbx = 0, rcx = 0, rdx = 0, rsi = 0, rdi = 0, rsp = 0,
           rbp = 0;
  uint64_t r8 = 0, r9 = 0, r10 = 0, r11 = 0, r12 = 0, r13 = 0, r14 = 0, r15 = 0;
  uint64_t rip = 0;
  uint64_t rflags = 0x2; ///< Bit 1 is always set.
};

/// Control, segment and descriptor-table registers.
struct x86_sregs {
  x86_segment cs, ds, es, fs, gs, ss, tr, ldt;
  x86_dtable gdt, idt;
  uint64_t cr0 = 0, cr2 = 0, cr3 = 0, cr4 = 0, efer = 0;
};

/// The CPU state a boot protocol requires at its entry point.
struct boot_cpu_state {
  x86_regs regs;
  x86_sregs sregs;
};

/// One model-specific register.
struct msr_value {
  uint32_t index = 0;
  uint64_t value = 0;
};

/// Everything KVM holds for one vCPU, captured while it is paused. Each blob
/// is the engine's native structure for that component; `engine` names the
/// format ("kvm-x86-1") so a restore into another engine fails clearly.
struct vcpu_state {
  std::string engine;
  uint32_t index = 0;
  std::vector<uint8_t> regs, sregs, xsave, xcrs, lapic, events, debugregs,
      mp_state;
  std::vector<msr_value> msrs;
  /// The guest TSC rate the state was captured at, kHz (0: unknown). A
  /// restore on a host with another rate scales the TSC to it or fails.
  uint32_t tsc_khz = 0;
};

/// The VM-wide state outside the vCPUs, captured while every vCPU is
/// paused: both PICs, the IOAPIC, the PIT and the guest clock, each the
/// engine's native structure (`engine` names the format as above).
struct platform_state {
  std::string engine;
  std::vector<uint8_t> pic_master, pic_slave, ioapic, pit, clock;
};

} // namespace tb::vmm
