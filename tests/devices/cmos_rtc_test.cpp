#include <gtest/gtest.h>

#include "devices/cmos_rtc.hpp"
#include "tests/devices/fakes.hpp"

namespace tb::devices {
namespace {

using namespace test;

// 2024-02-29 13:45:30 UTC, a Thursday: a leap day in the afternoon checks
// the calendar math, the 12-hour conversion and the weekday.
constexpr uint64_t pinned_ns = 1709214330ull * 1'000'000'000;

struct cmos_fixture : ::testing::Test {
  fake_irq irq;
  uint64_t now = pinned_ns;
  cmos_rtc rtc{irq, [this] { return now; },
               cmos_rtc_config{512ull << 20, 1ull << 30, 2}};

  uint8_t reg(uint8_t r) {
    outb(rtc, 0, r);
    return inb(rtc, 1);
  }
  void set(uint8_t r, uint8_t v) {
    outb(rtc, 0, r);
    outb(rtc, 1, v);
  }
};

TEST_F(cmos_fixture, time_reads_in_bcd_by_default) {
  EXPECT_EQ(reg(0x00), 0x30);
  EXPECT_EQ(reg(0x02), 0x45);
  EXPECT_EQ(reg(0x04), 0x13);
  EXPECT_EQ(reg(0x06), 0x05); // Thursday (1 = Sunday)
  EXPECT_EQ(reg(0x07), 0x29);
  EXPECT_EQ(reg(0x08), 0x02);
  EXPECT_EQ(reg(0x09), 0x24);
  EXPECT_EQ(reg(0x32), 0x20);
}

TEST_F(cmos_fixture, binary_and_twelve_hour_modes) {
  set(0x0b, 0x04); // binary, 12-hour
  EXPECT_EQ(reg(0x00), 30);
  EXPECT_EQ(reg(0x04), 0x80 | 1); // 1 PM
}

TEST_F(cmos_fixture, set_freezes_and_writing_moves_the_guest_clock) {
  set(0x0b, 0x82); // SET, 24-hour, BCD
  set(0x04, 0x08); // 08:xx
  now += 5'000'000'000;
  EXPECT_EQ(reg(0x00), 0x30); // frozen while SET
  set(0x0b, 0x02);
  now += 2'000'000'000;
  EXPECT_EQ(reg(0x04), 0x08);
  EXPECT_EQ(reg(0x00), 0x32);
}

TEST_F(cmos_fixture, guest_time_offset_survives_restore) {
  set(0x0b, 0x82);
  set(0x09, 0x30); // year 2030
  set(0x0b, 0x02);
  fake_irq irq2;
  cmos_rtc other{irq2, [this] { return now; }, cmos_rtc_config{}};
  other.restore(rtc.save());
  outb(other, 0, 0x09);
  EXPECT_EQ(inb(other, 1), 0x30);
}

TEST_F(cmos_fixture, uip_is_set_just_before_the_second_ticks) {
  EXPECT_EQ(reg(0x0a) & 0x80, 0);
  now += 999'900'000; // 100 us before the next second
  EXPECT_EQ(reg(0x0a) & 0x80, 0x80);
}

TEST_F(cmos_fixture, register_d_reports_valid_time) {
  EXPECT_EQ(reg(0x0d), 0x80);
}

TEST_F(cmos_fixture, memory_size_bytes_follow_the_config) {
  // 512 MiB below 4 GiB: 15 MiB..64 MiB capped extended, (512-16) MiB/64 KiB
  EXPECT_EQ(reg(0x30) | reg(0x31) << 8, 0xfc00);
  EXPECT_EQ(reg(0x34) | reg(0x35) << 8, (512 - 16) * 16);
  EXPECT_EQ(reg(0x5b) | reg(0x5c) << 8 | reg(0x5d) << 16, 1 << 14);
  EXPECT_EQ(reg(0x5f), 1); // two CPUs
}

TEST_F(cmos_fixture, periodic_interrupt_raises_irq8_until_c_is_read) {
  set(0x0b, 0x42);  // PIE, 24-hour
  now += 1'000'000; // over 1 ms: a 1024 Hz period elapsed
  rtc.tick();
  EXPECT_TRUE(irq.level);
  EXPECT_EQ(reg(0x0c) & 0xc0, 0xc0);
  EXPECT_FALSE(irq.level);
  EXPECT_EQ(reg(0x0c), 0);
}

TEST_F(cmos_fixture, nvram_bytes_hold_values_and_index_drops_nmi_bit) {
  outb(rtc, 0, 0x80 | 0x40);
  outb(rtc, 1, 0x77);
  EXPECT_EQ(reg(0x40), 0x77);
}

TEST_F(cmos_fixture, status_register_writes_are_counted) {
  set(0x0c, 0xff);
  set(0x0d, 0x00);
  EXPECT_EQ(rtc.counters().ignored_writes, 2u);
  EXPECT_EQ(reg(0x0d), 0x80);
}

TEST_F(cmos_fixture, reset_clears_interrupt_enables_but_keeps_nvram) {
  set(0x0b, 0x72); // PIE, AIE, UIE, 24-hour
  set(0x40, 0x99);
  rtc.reset();
  EXPECT_EQ(reg(0x0b), 0x02);
  EXPECT_EQ(reg(0x40), 0x99);
}

} // namespace
} // namespace tb::devices
