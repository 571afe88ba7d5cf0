#include <gtest/gtest.h>

#include "devices/acpi_pm.hpp"
#include "tests/devices/fakes.hpp"

namespace tb::devices {
namespace {

using namespace test;

struct pm_fixture : ::testing::Test {
  fake_irq sci;
  uint64_t now = 0;
  int poweroffs = 0;
  acpi_pm pm{sci, [this] { return now; }, [this] { ++poweroffs; }};
};

TEST_F(pm_fixture, slp_en_with_type_zero_powers_off) {
  outw(pm, 4, 0x2000); // what the probe guest and PIIX4 guests write
  EXPECT_EQ(poweroffs, 1);
  EXPECT_EQ(inw(pm, 4) & 0x2000, 0); // SLP_EN reads as 0
}

TEST_F(pm_fixture, slp_en_with_type_five_powers_off) {
  outw(pm, 4, 0x3400);
  EXPECT_EQ(poweroffs, 1);
}

TEST_F(pm_fixture, other_sleep_types_are_ignored_and_counted) {
  outw(pm, 4, 0x2000 | (1 << 10)); // S1
  EXPECT_EQ(poweroffs, 0);
  EXPECT_EQ(pm.counters().ignored_writes, 1u);
}

TEST_F(pm_fixture, power_button_sets_status_and_sci_when_enabled) {
  pm.press_power_button();
  EXPECT_EQ(inw(pm, 0) & 0x100, 0x100);
  EXPECT_FALSE(sci.level); // not enabled yet
  outw(pm, 2, 0x100);
  EXPECT_TRUE(sci.level);
  outw(pm, 0, 0x100); // write 1 to clear
  EXPECT_EQ(inw(pm, 0) & 0x100, 0);
  EXPECT_FALSE(sci.level);
}

TEST_F(pm_fixture, pm_timer_counts_at_3_579545_mhz) {
  now = 1'000'000'000; // one second
  EXPECT_EQ(inl(pm, 8), 3579545u);
}

TEST_F(pm_fixture, accesses_outside_the_block_are_counted) {
  inw(pm, 6);
  outw(pm, 12, 1);
  EXPECT_EQ(pm.counters().ignored_reads, 1u);
  EXPECT_EQ(pm.counters().ignored_writes, 1u);
}

} // namespace
} // namespace tb::devices
