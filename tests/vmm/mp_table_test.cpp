// The MP table as a kernel reads it: floating pointer found in the EBDA,
// both checksums zero, one processor entry per vCPU, and PCI INTx entries
// that reach the right IOAPIC pin level-triggered.
#include <cstring>
#include <map>

#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "vmm/mp_table.hpp"

using namespace tb::vmm;

namespace {

uint8_t sum(const uint8_t* p, size_t n) {
  uint8_t s = 0;
  for (size_t i = 0; i < n; ++i)
    s = uint8_t(s + p[i]);
  return s;
}

uint16_t le16(const uint8_t* p) {
  return uint16_t(p[0] | p[1] << 8);
}
uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16
         | uint32_t(p[3]) << 24;
}

struct parsed {
  int processors = 0, bsp = -1, buses = 0, ioapic_id = -1;
  std::map<uint8_t, std::pair<uint8_t, uint16_t>> pci; // src -> pin, flags
  std::map<uint8_t, uint8_t> isa;                      // irq -> pin
  int locals = 0;
};

parsed parse(guest_memory& mem) {
  parsed out;
  auto* fp = mem.host_ptr(mp_table_addr, 16);
  EXPECT_EQ(std::memcmp(fp, "_MP_", 4), 0);
  EXPECT_EQ(sum(fp, 16), 0);
  EXPECT_EQ(fp[8], 1);
  auto* t = mem.host_ptr(le32(fp + 4), 44);
  EXPECT_EQ(std::memcmp(t, "PCMP", 4), 0);
  uint16_t len = le16(t + 4);
  t = mem.host_ptr(le32(fp + 4), len);
  EXPECT_EQ(sum(t, len), 0);
  EXPECT_EQ(le32(t + 36), 0xfee00000u);
  const uint8_t* e = t + 44;
  for (uint16_t i = 0; i < le16(t + 34); ++i) {
    switch (e[0]) {
    case 0:
      ++out.processors;
      if (e[3] & 2)
        out.bsp = e[1];
      e += 20;
      continue;
    case 1:
      ++out.buses;
      break;
    case 2:
      out.ioapic_id = e[1];
      EXPECT_EQ(le32(e + 4), 0xfec00000u);
      break;
    case 3:
      if (e[4] == 0)
        out.pci[e[5]] = {e[7], le16(e + 2)};
      else if (e[1] == 0)
        out.isa[e[5]] = e[7];
      EXPECT_EQ(e[6], out.ioapic_id);
      break;
    case 4:
      ++out.locals;
      break;
    default:
      ADD_FAILURE() << "entry type " << int(e[0]);
    }
    e += 8;
  }
  EXPECT_EQ(e, t + len);
  return out;
}

} // namespace

TEST(mp_table, describes_every_vcpu_the_ioapic_and_the_disks) {
  auto mem = guest_memory::create(16 << 20, false);
  ASSERT_TRUE(mem);
  mp_table_spec spec{4, {{2, 1, 10}, {3, 1, 11}}};
  auto err = write_mp_table(**mem, spec);
  ASSERT_FALSE(err) << tb::error_text(err);
  auto p = parse(**mem);
  EXPECT_EQ(p.processors, 4);
  EXPECT_EQ(p.bsp, 0);
  EXPECT_EQ(p.buses, 2);
  EXPECT_EQ(p.ioapic_id, 4);
  EXPECT_EQ(p.locals, 2);
  // Slot 2 INTA# (source 2 << 2) reaches pin 10, active high and level.
  ASSERT_EQ(p.pci.count(8), 1u);
  EXPECT_EQ(p.pci[8].first, 10);
  EXPECT_EQ(p.pci[8].second, 0xd);
  EXPECT_EQ(p.pci[12].first, 11);
  // ISA IRQ n is pin n (KVM's default routing), the PIT and COM1 included.
  EXPECT_EQ(p.isa[0], 0);
  EXPECT_EQ(p.isa[4], 4);
  EXPECT_EQ(p.isa[12], 12);
}

TEST(mp_table, too_many_cpus_for_the_ebda_fails_clearly) {
  auto mem = guest_memory::create(16 << 20, false);
  ASSERT_TRUE(mem);
  auto err = write_mp_table(**mem, mp_table_spec{64, {}});
  EXPECT_EQ(tb::error_text(err),
            "the MP table for 64 CPUs does not fit in the EBDA");
}
