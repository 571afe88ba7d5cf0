#include <gtest/gtest.h>

#include "devices/bochs_display.hpp"
#include "tests/devices/fakes.hpp"

namespace tb::devices {
namespace {

using namespace test;

struct bochs_fixture : ::testing::Test {
  std::vector<uint8_t> vram = std::vector<uint8_t>(16 << 20, 0xaa);
  std::vector<display_mode> modes;
  bochs_display dev{vram,
                    [this](const display_mode& m) { modes.push_back(m); }};

  void dispi_write(dispi reg, uint16_t v) {
    outw(dev, 0, uint16_t(reg));
    outw(dev, 1, v);
  }
  uint16_t dispi_read(dispi reg) {
    outw(dev, 0, uint16_t(reg));
    return inw(dev, 1);
  }
  void set_mode(uint16_t w, uint16_t h, uint16_t bpp, uint16_t enable) {
    dispi_write(dispi::enable, 0);
    dispi_write(dispi::xres, w);
    dispi_write(dispi::yres, h);
    dispi_write(dispi::bpp, bpp);
    dispi_write(dispi::enable, enable);
  }
};

TEST_F(bochs_fixture, pci_identity_and_lfb_bar_size) {
  EXPECT_EQ(cfg_get<uint32_t>(dev, 0), 0x11111234u);
  cfg_put<uint32_t>(dev, 0x10, 0xffffffffu);
  EXPECT_EQ(cfg_get<uint32_t>(dev, 0x10), 0xff000008u); // 16 MiB prefetchable
}

TEST_F(bochs_fixture, id_reads_b0c5_and_memory_size_in_64k) {
  EXPECT_EQ(dispi_read(dispi::id), 0xb0c5);
  EXPECT_EQ(dispi_read(dispi::video_memory_64k), 256);
}

TEST_F(bochs_fixture, mode_set_reports_geometry_and_clears_the_screen) {
  set_mode(1024, 768, 32, 0x41);
  ASSERT_FALSE(modes.empty());
  EXPECT_EQ(modes.back(), (display_mode{true, 1024, 768, 32, 4096, 0}));
  EXPECT_EQ(vram[0], 0);
  EXPECT_EQ(vram[4096 * 768 - 1], 0);
  EXPECT_EQ(vram[4096 * 768], 0xaa); // beyond the visible area: untouched
}

TEST_F(bochs_fixture, noclearmem_keeps_vram) {
  set_mode(800, 600, 16, 0xc1);
  EXPECT_EQ(vram[0], 0xaa);
  EXPECT_EQ(modes.back().stride, 1600u);
}

TEST_F(bochs_fixture, panning_moves_the_fb_offset) {
  set_mode(640, 480, 32, 0x41);
  dispi_write(dispi::y_offset, 480); // page flip to the second page
  EXPECT_EQ(modes.back().fb_offset, 640u * 4 * 480);
}

TEST_F(bochs_fixture, getcaps_reports_maximum_resolution) {
  dispi_write(dispi::enable, 0x02);
  EXPECT_EQ(dispi_read(dispi::xres), bochs_display::max_xres);
  EXPECT_EQ(dispi_read(dispi::bpp), 32);
}

TEST_F(bochs_fixture, modes_larger_than_vram_are_clamped) {
  set_mode(2560, 1600, 32, 0x41); // 16.4 MB > 16 MiB
  auto m = modes.back();
  EXPECT_LE(uint64_t(m.stride) * m.height, vram.size());
}

TEST_F(bochs_fixture, mmio_dispi_registers_mirror_the_ports) {
  mmio_put<uint16_t>(dev, 0x500 + 2 * 1, 1280); // XRES
  EXPECT_EQ(dispi_read(dispi::xres), 1280);
}

TEST_F(bochs_fixture, invalid_bpp_falls_back_to_32) {
  dispi_write(dispi::bpp, 7);
  EXPECT_EQ(dispi_read(dispi::bpp), 32);
}

TEST_F(bochs_fixture, unknown_index_and_vga_window_are_counted) {
  dispi_write(dispi(0x40), 1);
  mmio_get<uint16_t>(dev, 0x400);
  EXPECT_EQ(dev.counters().ignored_writes, 1u);
  EXPECT_EQ(dev.counters().ignored_reads, 1u);
}

} // namespace
} // namespace tb::devices
