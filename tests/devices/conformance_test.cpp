// One conformance suite for every device: save -> restore into a fresh
// instance -> save gives the same state, reset is idempotent, an access to
// an unknown offset is ignored and counted, and 100k random accesses (fixed
// seed) never crash.
// A device joins by specialising rig<> below.
#include <memory>
#include <random>

#include <caf/deep_to_string.hpp>

#include <gtest/gtest.h>

#include "devices/acpi_pm.hpp"
#include "devices/bochs_display.hpp"
#include "devices/cmos_rtc.hpp"
#include "devices/i8042.hpp"
#include "devices/pci_host.hpp"
#include "devices/uart_16550.hpp"
#include "devices/virtio_blk.hpp"
#include "tests/devices/fakes.hpp"

namespace tb::devices {
namespace {

using namespace test;

// Random accesses of 1, 2 or 4 bytes inside [0, span).
template <class Read, class Write>
void random_access(std::mt19937& rng, uint64_t span, Read rd, Write wr) {
  static constexpr size_t sizes[] = {1, 2, 4};
  size_t n = sizes[rng() % 3];
  uint64_t off = rng() % span;
  uint8_t buf[4];
  for (auto& b : buf)
    b = uint8_t(rng());
  if (rng() % 2)
    rd(off, std::span<uint8_t>{buf, n});
  else
    wr(off, std::span<const uint8_t>{buf, n});
}

template <class D> struct rig;

template <> struct rig<uart_16550> {
  fake_irq irq;
  uart_16550 dev{irq, [](uint8_t) {}};
  void mutate() {
    outb(dev, 3, 0x83);
    outb(dev, 0, 0x01);
    outb(dev, 3, 0x03);
    outb(dev, 1, 0x03);
    uint8_t in[] = {'a', 'b'};
    dev.receive(in);
  }
  void unknown_access() {
    inb(dev, 9);
    outb(dev, 9, 0);
  }
  void garbage(std::mt19937& rng) {
    random_access(
        rng, 10, [&](uint64_t o, auto d) { dev.pio_read(uint16_t(o), d); },
        [&](uint64_t o, auto d) { dev.pio_write(uint16_t(o), d); });
    if (rng() % 16 == 0) {
      uint8_t b = uint8_t(rng());
      dev.receive({&b, 1});
    }
  }
};

template <> struct rig<i8042> {
  fake_irq kbd, aux;
  i8042 dev{kbd, aux, [] {}};
  void mutate() {
    outb(dev, 4, 0xd4);
    outb(dev, 0, 0xf4);
    uint8_t key[] = {0x1e};
    dev.key_event(key);
    dev.mouse_event(3, 4, 1);
    outb(dev, 0, 0xed); // LED command waiting for its parameter
  }
  void unknown_access() {
    inb(dev, 2);
    outb(dev, 2, 0);
  }
  void garbage(std::mt19937& rng) {
    random_access(
        rng, 6, [&](uint64_t o, auto d) { dev.pio_read(uint16_t(o), d); },
        [&](uint64_t o, auto d) { dev.pio_write(uint16_t(o), d); });
    if (rng() % 16 == 0) {
      uint8_t b[] = {uint8_t(rng())};
      dev.key_event(b);
      dev.mouse_event(int(rng() % 1000) - 500, int(rng() % 1000) - 500,
                      uint8_t(rng()));
    }
  }
};

template <> struct rig<cmos_rtc> {
  fake_irq irq;
  uint64_t now = 1'700'000'000ull * 1'000'000'000;
  cmos_rtc dev{irq, [this] { return now; }, cmos_rtc_config{256 << 20, 0, 1}};
  void mutate() {
    outb(dev, 0, 0x0b);
    outb(dev, 1, 0x86); // SET, binary, 24h
    outb(dev, 0, 0x09);
    outb(dev, 1, 33);
    outb(dev, 0, 0x50);
    outb(dev, 1, 0x12);
  }
  void unknown_access() {
    inb(dev, 2);
    outb(dev, 2, 0);
  }
  void garbage(std::mt19937& rng) {
    now += rng() % 10'000'000;
    random_access(
        rng, 3, [&](uint64_t o, auto d) { dev.pio_read(uint16_t(o), d); },
        [&](uint64_t o, auto d) { dev.pio_write(uint16_t(o), d); });
    if (rng() % 64 == 0)
      dev.tick();
  }
};

template <> struct rig<acpi_pm> {
  fake_irq sci;
  acpi_pm dev{sci, [] { return uint64_t{0}; }, [] {}};
  void mutate() {
    outw(dev, 2, 0x0100);
    dev.press_power_button();
    outw(dev, 4, 0x0001); // SCI_EN
  }
  void unknown_access() {
    inb(dev, 6);
    outb(dev, 6, 0);
  }
  void garbage(std::mt19937& rng) {
    random_access(
        rng, 14, [&](uint64_t o, auto d) { dev.pio_read(uint16_t(o), d); },
        [&](uint64_t o, auto d) { dev.pio_write(uint16_t(o), d); });
  }
};

template <> struct rig<pci_host> {
  pci_host dev;
  void mutate() {
    outl(dev, 0, 0x80000004u);
    outl(dev, 4, 0x0007); // bridge command register
    outl(dev, 0, 0x80001810u);
  }
  void unknown_access() {
    outb(dev, 2, 0);
    uint8_t b = 0;
    dev.pio_read(2, {&b, 1});
  }
  void garbage(std::mt19937& rng) {
    random_access(
        rng, 9, [&](uint64_t o, auto d) { dev.pio_read(uint16_t(o), d); },
        [&](uint64_t o, auto d) { dev.pio_write(uint16_t(o), d); });
    if (rng() % 4 == 0) // aim at the bridge and random slots
      outl(dev, 0, 0x80000000u | (rng() & 0x0000fffcu));
  }
};

template <> struct rig<bochs_display> {
  std::vector<uint8_t> vram = std::vector<uint8_t>(1 << 20);
  bochs_display dev{vram, [](const display_mode&) {}};
  void mutate() {
    outw(dev, 0, 1);
    outw(dev, 1, 320);
    outw(dev, 0, 4);
    outw(dev, 1, 0x41);
    cfg_put<uint32_t>(dev, 0x10, 0xe0000000u);
  }
  void unknown_access() {
    mmio_get<uint16_t>(dev, 0x100);
    mmio_put<uint16_t>(dev, 0x100, 1);
  }
  void garbage(std::mt19937& rng) {
    switch (rng() % 3) {
    case 0:
      random_access(
          rng, 3, [&](uint64_t o, auto d) { dev.pio_read(uint16_t(o), d); },
          [&](uint64_t o, auto d) { dev.pio_write(uint16_t(o), d); });
      break;
    case 1:
      random_access(
          rng, 4096, [&](uint64_t o, auto d) { dev.mmio_read(o, d); },
          [&](uint64_t o, auto d) { dev.mmio_write(o, d); });
      break;
    default:
      random_access(
          rng, 256,
          [&](uint64_t o, auto d) { dev.config_read(uint16_t(o), d); },
          [&](uint64_t o, auto d) { dev.config_write(uint16_t(o), d); });
    }
  }
};

struct null_backend final : block_backend {
  uint64_t sectors() const override { return 64; }
  bool read_only() const override { return false; }
  void submit(block_request, block_completion done) override {
    done(block_status::ok);
  }
};

template <> struct rig<virtio_blk> {
  fake_memory mem{64 << 10};
  fake_irq irq;
  null_backend backend;
  virtio_blk dev{mem, irq, backend, "conformance"};
  void mutate() {
    mmio_put<uint8_t>(dev, 0x14, 3);
    mmio_put<uint32_t>(dev, 0x08, 1);
    mmio_put<uint32_t>(dev, 0x0c, 1);
    mmio_put<uint16_t>(dev, 0x18, 16);
    mmio_put<uint64_t>(dev, 0x20, 0x1000);
    cfg_put<uint16_t>(dev, 0x04, 0x0006);
  }
  void unknown_access() {
    mmio_get<uint32_t>(dev, 0x800);
    mmio_put<uint32_t>(dev, 0x800, 1);
  }
  void garbage(std::mt19937& rng) {
    if (rng() % 8 == 0)
      mem.put<uint32_t>((rng() % (mem.bytes.size() / 4)) * 4, uint32_t(rng()));
    if (rng() % 4 == 0) {
      random_access(
          rng, 256,
          [&](uint64_t o, auto d) { dev.config_read(uint16_t(o), d); },
          [&](uint64_t o, auto d) { dev.config_write(uint16_t(o), d); });
      return;
    }
    // Mostly common config and notify, where the state machine lives.
    uint64_t base = rng() % 2 ? 0 : (rng() % 4) * 0x1000;
    random_access(
        rng, 0x40, [&](uint64_t o, auto d) { dev.mmio_read(base + o, d); },
        [&](uint64_t o, auto d) { dev.mmio_write(base + o, d); });
  }
};

template <class D> class device_conformance : public ::testing::Test {};

using all_devices = ::testing::Types<uart_16550, i8042, cmos_rtc, acpi_pm,
                                     pci_host, bochs_display, virtio_blk>;
TYPED_TEST_SUITE(device_conformance, all_devices);

TYPED_TEST(device_conformance, restore_into_fresh_instance_saves_equal) {
  rig<TypeParam> a;
  a.mutate();
  auto saved = a.dev.save();
  rig<TypeParam> b;
  b.dev.restore(saved);
  auto again = b.dev.save();
  EXPECT_EQ(caf::deep_to_string(saved), caf::deep_to_string(again));
  EXPECT_TRUE(saved == again);
  EXPECT_FALSE(saved == rig<TypeParam>{}.dev.save())
      << "mutate() changed nothing";
}

TYPED_TEST(device_conformance, restore_is_idempotent) {
  rig<TypeParam> a;
  a.mutate();
  auto saved = a.dev.save();
  a.dev.restore(saved);
  a.dev.restore(saved);
  EXPECT_TRUE(a.dev.save() == saved);
}

TYPED_TEST(device_conformance, reset_is_idempotent) {
  rig<TypeParam> a;
  a.mutate();
  a.dev.reset();
  auto once = a.dev.save();
  a.dev.reset();
  EXPECT_EQ(caf::deep_to_string(a.dev.save()), caf::deep_to_string(once));
}

TYPED_TEST(device_conformance, unknown_offset_is_ignored_and_counted) {
  rig<TypeParam> a;
  a.mutate();
  auto before = a.dev.save();
  auto reads = a.dev.counters().ignored_reads;
  auto writes = a.dev.counters().ignored_writes;
  a.unknown_access();
  EXPECT_EQ(a.dev.counters().ignored_reads, reads + 1);
  EXPECT_EQ(a.dev.counters().ignored_writes, writes + 1);
  EXPECT_TRUE(a.dev.save() == before);
}

TYPED_TEST(device_conformance, garbage_accesses_never_crash_and_stay_saveable) {
  auto a = std::make_unique<rig<TypeParam>>();
  std::mt19937 rng{20261201}; // fixed: a failure reproduces
  for (int i = 0; i < 100000; ++i)
    a->garbage(rng);
  auto saved = a->dev.save();
  auto b = std::make_unique<rig<TypeParam>>();
  b->dev.restore(saved);
  EXPECT_EQ(caf::deep_to_string(b->dev.save()), caf::deep_to_string(saved));
}

} // namespace
} // namespace tb::devices
