// GDT, page tables and entry register states for direct boots
// (Intel SDM vol. 3 ch. 3-4; Linux Documentation/x86/boot.rst).
#include "vmm/x86_setup.hpp"

#include <array>
#include <cstring>

namespace tb::vmm {

namespace {

constexpr uint64_t cr0_pe = 1u << 0;
constexpr uint64_t cr0_et = 1u << 4;
constexpr uint64_t cr0_pg = 1u << 31;
constexpr uint64_t cr4_pae = 1u << 5;
constexpr uint64_t efer_lme = 1u << 8;
constexpr uint64_t efer_lma = 1u << 10;

template <size_t N>
caf::error write_qwords(guest_memory& mem, uint64_t gpa,
                        const std::array<uint64_t, N>& q) {
  std::array<uint8_t, N * 8> bytes;
  std::memcpy(bytes.data(), q.data(), bytes.size());
  return mem.write(gpa, bytes);
}

x86_segment flat_code(bool long_mode) {
  x86_segment s;
  s.base = 0;
  s.limit = 0xffffffff;
  s.selector = code_selector;
  s.type = 0xb; // Execute/read, accessed.
  s.db = long_mode ? 0 : 1;
  s.l = long_mode ? 1 : 0;
  s.g = 1;
  return s;
}

x86_segment flat_data() {
  x86_segment s;
  s.base = 0;
  s.limit = 0xffffffff;
  s.selector = data_selector;
  s.type = 0x3; // Read/write, accessed.
  s.db = 1;
  s.g = 1;
  return s;
}

boot_cpu_state flat_state(bool long_mode) {
  boot_cpu_state st;
  auto& s = st.sregs;
  s.cs = flat_code(long_mode);
  s.ds = s.es = s.fs = s.gs = s.ss = flat_data();
  s.tr.selector = 0;
  s.tr.limit = 0xffff;
  s.tr.type = 0xb; // Busy 32-bit TSS, as after reset.
  s.tr.s = 0;
  s.ldt.limit = 0xffff;
  s.ldt.type = 0x2;
  s.ldt.s = 0;
  s.gdt = {boot_gdt_addr, 4 * 8 - 1};
  s.idt = {boot_idt_addr, 0};
  st.regs.rflags = 0x2;
  st.regs.rsp = boot_stack_top;
  return st;
}

} // namespace

std::vector<e820_entry> e820_map(const guest_memory& mem) {
  std::vector<e820_entry> m;
  auto low = mem.ram_below_4g();
  m.push_back({0, std::min<uint64_t>(ebda_start, low), 1});
  m.push_back({ebda_start, 0xa0000 - ebda_start, 2});
  m.push_back({0xf0000, high_memory_start - 0xf0000, 2});
  if (low > high_memory_start)
    m.push_back({high_memory_start, low - high_memory_start, 1});
  m.push_back({kvm_reserved_start, kvm_reserved_end - kvm_reserved_start, 2});
  if (auto high = mem.ram_above_4g())
    m.push_back({high_ram_base, high, 1});
  return m;
}

caf::error write_boot_gdt(guest_memory& mem, bool long_mode) {
  // null, null, code 0x10, data 0x18, 4 GiB flat. A 32-bit guest that
  // reloads CS before building its own GDT still lands in 32-bit code.
  std::array<uint64_t, 4> gdt{
      0, 0, long_mode ? 0x00af9b000000ffffULL : 0x00cf9b000000ffffULL,
      0x00cf93000000ffffULL};
  if (auto err = write_qwords(mem, boot_gdt_addr, gdt))
    return err;
  return write_qwords(mem, boot_idt_addr, std::array<uint64_t, 1>{0});
}

caf::error write_identity_page_tables(guest_memory& mem) {
  constexpr uint64_t pdpt = boot_pml4_addr + 0x1000;
  constexpr uint64_t pd = boot_pml4_addr + 0x2000; // Four PDs follow.
  constexpr uint64_t present_rw = 0x3, huge = 0x80;
  std::array<uint64_t, 512> table{};
  table[0] = pdpt | present_rw;
  if (auto err = write_qwords(mem, boot_pml4_addr, table))
    return err;
  table.fill(0);
  for (uint64_t i = 0; i < 4; ++i)
    table[i] = (pd + i * 0x1000) | present_rw;
  if (auto err = write_qwords(mem, pdpt, table))
    return err;
  for (uint64_t d = 0; d < 4; ++d) {
    for (uint64_t i = 0; i < 512; ++i)
      table[i] = ((d * 512 + i) << 21) | present_rw | huge;
    if (auto err = write_qwords(mem, pd + d * 0x1000, table))
      return err;
  }
  return caf::none;
}

boot_cpu_state flat_protected_mode() {
  auto st = flat_state(false);
  st.sregs.cr0 = cr0_pe | cr0_et;
  return st;
}

boot_cpu_state long_mode() {
  auto st = flat_state(true);
  st.sregs.cr0 = cr0_pe | cr0_et | cr0_pg;
  st.sregs.cr3 = boot_pml4_addr;
  st.sregs.cr4 = cr4_pae;
  st.sregs.efer = efer_lme | efer_lma;
  return st;
}

} // namespace tb::vmm
