// Guest RAM layout around the PCI hole, bounds, and memfd sharing.
#include <cstring>

#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/x86_setup.hpp"

using namespace tb::vmm;

TEST(guest_memory, four_gib_splits_around_the_pci_hole) {
  auto m = guest_memory::create(4ULL << 30, false);
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)->ram_below_4g(), 3ULL << 30);
  EXPECT_EQ((*m)->ram_above_4g(), 1ULL << 30);
  ASSERT_EQ((*m)->regions().size(), 2u);
  EXPECT_EQ((*m)->regions()[1]->gpa, 4ULL << 30);
  EXPECT_EQ((*m)->host_ptr(0xc0000000, 1), nullptr); // The hole.
  EXPECT_NE((*m)->host_ptr(0x100000000, 4096), nullptr);
}

TEST(guest_memory, access_straddling_the_end_is_refused) {
  auto m = guest_memory::create(1 << 20, false);
  ASSERT_TRUE(m);
  uint8_t b[8] = {};
  EXPECT_EQ((*m)->host_ptr((1 << 20) - 4, 8), nullptr);
  auto err = (*m)->write((1 << 20) - 4, b);
  ASSERT_TRUE(err);
  EXPECT_NE(tb::error_text(err).find("is not RAM"), std::string::npos);
}

TEST(guest_memory, memfd_shares_the_guest_pages) {
  auto m = guest_memory::create(1 << 20, false);
  ASSERT_TRUE(m);
  const uint8_t hello[] = {'h', 'i'};
  ASSERT_FALSE((*m)->write(0x1234, hello));
  // A second mapping of the same fd (as another process would get it).
  auto* p = static_cast<uint8_t*>(
      mmap(nullptr, 1 << 20, PROT_READ, MAP_SHARED, (*m)->ram_fd(), 0));
  ASSERT_NE(p, MAP_FAILED);
  EXPECT_EQ(std::memcmp(p + 0x1234, "hi", 2), 0);
  munmap(p, 1 << 20);
}

TEST(guest_memory, unaligned_size_is_refused) {
  EXPECT_FALSE(guest_memory::create(1000, false));
}

TEST(e820, map_reserves_the_bios_area_and_kvm_pages) {
  auto m = guest_memory::create(256 << 20, false);
  ASSERT_TRUE(m);
  auto map = e820_map(**m);
  ASSERT_EQ(map.size(), 5u);
  EXPECT_EQ(map[0].size, 0x9fc00u);
  EXPECT_EQ(map[1].type, 2u);
  EXPECT_EQ(map[3].addr, 0x100000u);
  EXPECT_EQ(map[3].size, (256u << 20) - 0x100000);
  EXPECT_EQ(map[4].addr, kvm_reserved_start);
  EXPECT_EQ(map[4].type, 2u);
}
