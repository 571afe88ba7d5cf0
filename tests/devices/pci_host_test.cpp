#include <gtest/gtest.h>

#include "devices/pci_config_space.hpp"
#include "devices/pci_host.hpp"
#include "tests/devices/fakes.hpp"

namespace tb::devices {
namespace {

using namespace test;

// A minimal function: one 4 KiB memory BAR and one 256-byte I/O BAR.
class plain_function final : public pci_function {
public:
  explicit plain_function(pci_bar_listener l = {})
      : config_(identity(), bars(), std::move(l)) {}
  void config_read(uint16_t o, std::span<uint8_t> d) override {
    config_.read(o, d);
  }
  void config_write(uint16_t o, std::span<const uint8_t> d) override {
    config_.write(o, d);
  }
  pci_bar bar(unsigned i) const override { return config_.bar(i); }
  pci_config_space config_;

private:
  static pci_identity identity() {
    pci_identity id;
    id.vendor = 0x1af4;
    id.device = 0x1042;
    id.class_code = 0x010000;
    return id;
  }
  static std::array<pci_bar_def, 6> bars() {
    std::array<pci_bar_def, 6> b{};
    b[0] = {4096, false, false, false};
    b[1] = {256, true, false, false};
    return b;
  }
};

uint32_t address(uint8_t slot, uint8_t reg) {
  return 0x80000000u | uint32_t(slot) << 11 | reg;
}

TEST(pci_host, bridge_is_i440fx_at_00_0) {
  pci_host host;
  outl(host, 0, address(0, 0));
  EXPECT_EQ(inl(host, 4), 0x12378086u);
  outl(host, 0, address(0, 0x08));
  EXPECT_EQ(inl(host, 4) >> 8, 0x060000u); // host bridge class
}

TEST(pci_host, empty_slot_reads_all_ones) {
  pci_host host;
  outl(host, 0, address(5, 0));
  EXPECT_EQ(inl(host, 4), 0xffffffffu);
}

TEST(pci_host, config_address_reads_back_without_low_bits) {
  pci_host host;
  outl(host, 0, address(3, 0x10) | 0x3);
  EXPECT_EQ(inl(host, 0), address(3, 0x10));
}

TEST(pci_host, byte_and_word_data_accesses_reach_the_function) {
  pci_host host;
  plain_function f;
  ASSERT_TRUE(host.attach(3, 0, f));
  outl(host, 0, address(3, 0));
  EXPECT_EQ(inw(host, 6), 0x1042);
  EXPECT_EQ(inb(host, 4), 0xf4);
}

TEST(pci_host, bar_sizing_returns_the_size_mask) {
  pci_host host;
  plain_function f;
  host.attach(3, 0, f);
  outl(host, 0, address(3, 0x10));
  outl(host, 4, 0xffffffffu);
  EXPECT_EQ(inl(host, 4), 0xfffff000u); // 4 KiB memory BAR
  outl(host, 0, address(3, 0x14));
  outl(host, 4, 0xffffffffu);
  EXPECT_EQ(inl(host, 4), 0xffffff01u); // 256-byte I/O BAR
}

TEST(pci_host, bar_listener_hears_moves_and_enables) {
  int calls = 0;
  pci_bar last;
  plain_function f{[&](unsigned i, const pci_bar& b) {
    if (i == 0) {
      ++calls;
      last = b;
    }
  }};
  cfg_put<uint32_t>(f, 0x10, 0xe0000000u);
  cfg_put<uint16_t>(f, 0x04, 0x0002);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(last.address, 0xe0000000u);
  EXPECT_TRUE(last.enabled);
}

TEST(pci_host, identity_registers_are_read_only) {
  plain_function f;
  cfg_put<uint32_t>(f, 0x00, 0);
  EXPECT_EQ(cfg_get<uint32_t>(f, 0x00), 0x10421af4u);
}

TEST(pci_host, attach_rejects_taken_and_bridge_slots) {
  pci_host host;
  plain_function a, b;
  EXPECT_TRUE(host.attach(1, 0, a));
  EXPECT_FALSE(host.attach(1, 0, b));
  EXPECT_FALSE(host.attach(0, 0, b));
  EXPECT_FALSE(host.attach(32, 0, b));
}

TEST(pci_host, cf9_with_rst_cpu_requests_reset) {
  int resets = 0;
  pci_host host{[&] { ++resets; }};
  outb(host, 1, 0x02); // SYS_RST alone only arms
  outb(host, 1, 0x06); // SYS_RST | RST_CPU: reset
  EXPECT_EQ(resets, 1);
}

TEST(pci_host, misaligned_address_writes_are_counted) {
  pci_host host;
  outb(host, 3, 0x80); // byte write into CONFIG_ADDRESS
  EXPECT_EQ(host.counters().ignored_writes, 1u);
}

} // namespace
} // namespace tb::devices
