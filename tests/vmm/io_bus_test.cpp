// The I/O bus: ranges, offsets, overlap refusal, unclaimed accesses.
#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "vmm/io_bus.hpp"

using namespace tb::vmm;

namespace {

/// Remembers the last access it saw.
class recorder final : public tb::devices::pio_device,
                       public tb::devices::mmio_device {
public:
  uint64_t last_offset = ~0ULL;
  uint8_t last_value = 0;
  int reads = 0;
  void pio_read(uint16_t off, std::span<uint8_t> d) override {
    last_offset = off, ++reads, d[0] = 0x5a;
  }
  void pio_write(uint16_t off, std::span<const uint8_t> d) override {
    last_offset = off, last_value = d[0];
  }
  void mmio_read(uint64_t off, std::span<uint8_t> d) override {
    last_offset = off, ++reads, d[0] = 0xa5;
  }
  void mmio_write(uint64_t off, std::span<const uint8_t> d) override {
    last_offset = off, last_value = d[0];
  }
};

} // namespace

TEST(io_bus, pio_write_reaches_device_at_its_offset) {
  io_bus bus;
  recorder uart;
  ASSERT_FALSE(bus.add_pio(0x3f8, 8, uart, "uart"));
  uint8_t v = 0x41;
  bus.pio(0x3fd, true, {&v, 1});
  EXPECT_EQ(uart.last_offset, 5u); // LSR is offset 5 of COM1.
  EXPECT_EQ(uart.last_value, 0x41);
}

TEST(io_bus, overlapping_range_is_refused_naming_both_devices) {
  io_bus bus;
  recorder a, b;
  ASSERT_FALSE(bus.add_pio(0x60, 5, a, "i8042"));
  auto err = bus.add_pio(0x64, 2, b, "other");
  ASSERT_TRUE(err);
  EXPECT_EQ(tb::error_text(err), "port range 0x64-0x65 of other overlaps "
                                 "i8042");
}

TEST(io_bus, adjacent_ranges_are_fine) {
  io_bus bus;
  recorder a, b;
  EXPECT_FALSE(bus.add_pio(0x70, 2, a, "cmos"));
  EXPECT_FALSE(bus.add_pio(0x72, 2, b, "next"));
  uint8_t v = 0;
  bus.pio(0x72, false, {&v, 1});
  EXPECT_EQ(b.reads, 1);
  EXPECT_EQ(a.reads, 0);
}

TEST(io_bus, unclaimed_read_returns_all_ones_and_is_counted) {
  io_bus bus;
  uint8_t v[4] = {0, 0, 0, 0};
  bus.pio(0x80, false, v);
  EXPECT_EQ(v[0], 0xff);
  EXPECT_EQ(v[3], 0xff);
  EXPECT_EQ(bus.counters().unclaimed_pio_reads, 1u);
}

TEST(io_bus, mmio_range_moves_after_remove_and_add) {
  io_bus bus;
  recorder dev;
  ASSERT_FALSE(bus.add_mmio(0xe1000000, 0x1000, dev, "bochs"));
  bus.remove_mmio(0xe1000000, dev);
  ASSERT_FALSE(bus.add_mmio(0xd0000000, 0x1000, dev, "bochs"));
  uint8_t v = 0;
  bus.mmio(0xe1000010, false, {&v, 1});
  EXPECT_EQ(v, 0xff); // Old address no longer decodes.
  bus.mmio(0xd0000010, false, {&v, 1});
  EXPECT_EQ(v, 0xa5);
  EXPECT_EQ(dev.last_offset, 0x10u);
}
