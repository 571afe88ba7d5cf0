// Low-memory structures a direct boot builds: GDT, identity page tables,
// flat segments, and the e820 map both loaders describe.
#pragma once

#include <cstdint>
#include <vector>

#include <caf/error.hpp>

#include "vmm/guest_memory.hpp"
#include "vmm/x86_state.hpp"

namespace tb::vmm {

/// Fixed low-memory addresses (Firecracker/crosvm layout, kvm-vmm.md B.2/3).
constexpr uint64_t boot_gdt_addr = 0x500;
constexpr uint64_t boot_idt_addr = 0x520;
constexpr uint64_t boot_params_addr = 0x7000;
constexpr uint64_t boot_stack_top = 0x8ff0;
constexpr uint64_t boot_pml4_addr = 0x9000;
constexpr uint64_t boot_cmdline_addr = 0x20000;
constexpr uint64_t boot_cmdline_max = 0x10000;
constexpr uint64_t ebda_start = 0x9fc00;
constexpr uint64_t high_memory_start = 0x100000;
/// KVM's identity-map page and TSS (three pages) below 4 GiB.
constexpr uint64_t kvm_reserved_start = 0xfffbc000;
constexpr uint64_t kvm_reserved_end = 0xfffc0000;

constexpr uint16_t code_selector = 0x10;
constexpr uint16_t data_selector = 0x18;

/// One e820 entry (type 1 RAM, 2 reserved).
struct e820_entry {
  uint64_t addr = 0;
  uint64_t size = 0;
  uint32_t type = 1;
};

/// The guest's physical map: low RAM, EBDA/BIOS hole, RAM to the PCI hole,
/// KVM's reserved pages, RAM above 4 GiB.
std::vector<e820_entry> e820_map(const guest_memory& mem);

/// Writes a GDT with flat code (0x10; 64-bit or 32-bit) and flat data
/// (0x18) plus an empty IDT.
caf::error write_boot_gdt(guest_memory& mem, bool long_mode);

/// Identity-maps the first 4 GiB with 2 MiB pages at boot_pml4_addr.
caf::error write_identity_page_tables(guest_memory& mem);

/// 32-bit protected mode, flat segments, paging off (Multiboot entry).
boot_cpu_state flat_protected_mode();

/// 64-bit long mode with the identity map (Linux 64-bit entry).
boot_cpu_state long_mode();

} // namespace tb::vmm
