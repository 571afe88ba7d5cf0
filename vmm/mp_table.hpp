// The Intel MultiProcessor Specification 1.4 table a direct boot leaves in
// the EBDA, so a kernel without ACPI tables (Linux with acpi=off, or any
// Multiboot kernel that scans for "_MP_") finds every vCPU, the IOAPIC and
// how each interrupt line reaches it. The in-kernel IOAPIC uses KVM's
// default routing: GSI n is IOAPIC pin n.
#pragma once

#include <cstdint>
#include <vector>

#include <caf/error.hpp>

#include "vmm/guest_memory.hpp"

namespace tb::vmm {

/// One PCI function's INTx wiring.
struct mp_pci_irq {
  uint8_t slot = 0; ///< Device number on bus 0.
  uint8_t pin = 1;  ///< 1 = INTA# .. 4 = INTD#.
  uint8_t gsi = 0;  ///< IOAPIC input (level-triggered, active high).
};

/// What the table describes.
struct mp_table_spec {
  uint32_t cpus = 1;
  std::vector<mp_pci_irq> pci;
};

/// Where the floating pointer goes (the EBDA's first KiB, which e820
/// reserves) and the most bytes the table may take there.
constexpr uint64_t mp_table_addr = 0x9fc00;
constexpr uint64_t mp_table_max = 0x400;

/// Writes the floating pointer and the configuration table. Fails when the
/// table for `spec.cpus` CPUs would not fit in the EBDA.
caf::error write_mp_table(guest_memory& mem, const mp_table_spec& spec);

} // namespace tb::vmm
