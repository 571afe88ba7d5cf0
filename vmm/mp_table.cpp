// MP table layout: MultiProcessor Specification 1.4, chapter 4 (floating
// pointer 4.1, configuration table header 4.2, base entries 4.3).
#include "vmm/mp_table.hpp"

#include <cstring>
#include <string>

#include "vmm/errors.hpp"

namespace tb::vmm {

namespace {

constexpr uint32_t lapic_base = 0xfee00000;
constexpr uint32_t ioapic_base = 0xfec00000;
constexpr uint8_t spec_rev = 4; // 1.4
constexpr uint8_t pci_bus = 0, isa_bus = 1;

enum entry_type : uint8_t { processor, bus, io_apic, io_irq, local_irq };
enum irq_type : uint8_t { int_vectored = 0, nmi = 1, ext_int = 3 };
// Polarity bits 0-1 and trigger bits 2-3: 0 = conforming to the bus.
constexpr uint16_t active_high_level = 0x1 | (0x3 << 2);

class table_writer {
public:
  void u8(uint8_t v) { bytes_.push_back(v); }
  void u16(uint16_t v) { put(v, 2); }
  void u32(uint32_t v) { put(v, 4); }
  void text(const char* s, size_t n) {
    size_t len = std::strlen(s);
    for (size_t i = 0; i < n; ++i)
      u8(i < len ? uint8_t(s[i]) : uint8_t(' '));
  }
  void zeros(size_t n) { bytes_.insert(bytes_.end(), n, 0); }
  std::vector<uint8_t>& bytes() { return bytes_; }

private:
  void put(uint64_t v, int n) {
    for (int i = 0; i < n; ++i)
      u8(uint8_t(v >> (8 * i)));
  }
  std::vector<uint8_t> bytes_;
};

/// Makes bytes [from, to) sum to zero through the byte at `at`.
void fix_checksum(std::vector<uint8_t>& b, size_t from, size_t to, size_t at) {
  uint8_t sum = 0;
  for (size_t i = from; i < to; ++i)
    sum = uint8_t(sum + b[i]);
  b[at] = uint8_t(b[at] - sum);
}

void irq_entry(table_writer& w, uint8_t type, uint16_t flags, uint8_t bus,
               uint8_t bus_irq, uint8_t apic, uint8_t pin) {
  w.u8(io_irq);
  w.u8(type);
  w.u16(flags);
  w.u8(bus);
  w.u8(bus_irq);
  w.u8(apic);
  w.u8(pin);
}

uint16_t write_entries(table_writer& w, const mp_table_spec& spec) {
  uint16_t count = 0;
  for (uint32_t i = 0; i < spec.cpus; ++i, ++count) {
    w.u8(processor);
    w.u8(uint8_t(i));         // Local APIC ID (cpuid.cpp gives vCPU i id i).
    w.u8(0x14);               // Integrated APIC version.
    w.u8(i == 0 ? 0x3 : 0x1); // Enabled; bootstrap processor.
    w.u32(0x600);             // Signature: family 6.
    w.u32((1u << 0) | (1u << 9)); // CPUID.1:EDX FPU and APIC.
    w.zeros(8);
  }
  for (auto [id, name] : {std::pair{pci_bus, "PCI"}, {isa_bus, "ISA"}}) {
    w.u8(bus);
    w.u8(id);
    w.text(name, 6);
    ++count;
  }
  auto apic_id = uint8_t(spec.cpus);
  w.u8(io_apic);
  w.u8(apic_id);
  w.u8(0x11); // Version of KVM's in-kernel IOAPIC.
  w.u8(0x1);  // Usable.
  w.u32(ioapic_base);
  ++count;
  // ISA IRQs keep ISA semantics (edge, active high) on the pin of the same
  // number; 2 is the PIC cascade, which nothing raises.
  for (uint8_t irq = 0; irq < 16; ++irq, ++count)
    if (irq != 2)
      irq_entry(w, int_vectored, 0, isa_bus, irq, apic_id, irq);
    else
      irq_entry(w, ext_int, 0, isa_bus, 0, apic_id, 0);
  for (auto& p : spec.pci) {
    auto src = uint8_t((p.slot << 2) | ((p.pin - 1) & 3));
    irq_entry(w, int_vectored, active_high_level, pci_bus, src, apic_id, p.gsi);
    ++count;
  }
  // Virtual wire: LINT0 takes the PIC (ExtINT), LINT1 is NMI, on every CPU.
  for (auto [type, lint] : {std::pair{ext_int, 0}, {nmi, 1}}) {
    w.u8(local_irq);
    w.u8(type);
    w.u16(0);
    w.u8(isa_bus);
    w.u8(0);
    w.u8(0xff);
    w.u8(uint8_t(lint));
    ++count;
  }
  return count;
}

} // namespace

caf::error write_mp_table(guest_memory& mem, const mp_table_spec& spec) {
  table_writer w;
  // Floating pointer (16 bytes), the configuration table right after it.
  w.text("_MP_", 4);
  w.u32(uint32_t(mp_table_addr + 16));
  w.u8(1); // Length in 16-byte units.
  w.u8(spec_rev);
  w.u8(0);    // Checksum.
  w.zeros(5); // Feature bytes: a table is present; no IMCR (virtual wire).
  size_t head = w.bytes().size();
  w.text("PCMP", 4);
  w.u16(0); // Base table length, patched below.
  w.u8(spec_rev);
  w.u8(0); // Checksum.
  w.text("TELEBOX", 8);
  w.text("VM", 12);
  w.u32(0); // No OEM table.
  w.u16(0);
  w.u16(0); // Entry count, patched below.
  w.u32(lapic_base);
  w.u16(0); // No extended entries.
  w.u8(0);
  w.u8(0);
  uint16_t count = write_entries(w, spec);
  auto& b = w.bytes();
  if (b.size() > mp_table_max)
    return make_vmm_error(vmm_errc::bad_config,
                          "the MP table for " + std::to_string(spec.cpus)
                              + " CPUs does not fit in the EBDA");
  auto length = uint16_t(b.size() - head);
  b[head + 4] = uint8_t(length);
  b[head + 5] = uint8_t(length >> 8);
  b[head + 34] = uint8_t(count);
  b[head + 35] = uint8_t(count >> 8);
  fix_checksum(b, head, b.size(), head + 7);
  fix_checksum(b, 0, 16, 10);
  auto* dst = mem.host_ptr(mp_table_addr, b.size());
  if (!dst)
    return make_vmm_error(vmm_errc::bad_config,
                          "guest RAM does not cover the EBDA");
  std::memcpy(dst, b.data(), b.size());
  return caf::none;
}

} // namespace tb::vmm
