// frame_tracker over plain memory: pixel formats, dirty pages -> tile diff
// -> damage rectangles, mode changes.
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "display/frame_tracker.hpp"

using namespace tb::display;

namespace {

struct fixture {
  std::vector<uint8_t> mem = std::vector<uint8_t>(4 << 20);
  std::vector<uint64_t> dirty; // handed out once, then cleared
  bool report_unknown = false;
  frame_tracker t{mem, [this] {
                    if (report_unknown)
                      return std::vector<uint64_t>{};
                    auto d = dirty;
                    std::fill(dirty.begin(), dirty.end(), 0);
                    return d;
                  }};
  fixture() { dirty.assign(mem.size() / 4096 / 64, 0); }

  void put32(uint32_t stride, int x, int y, uint32_t v, bool log = true) {
    size_t off = size_t{stride} * y + 4 * x;
    std::memcpy(mem.data() + off, &v, 4);
    if (log)
      dirty[off / 4096 / 64] |= uint64_t{1} << (off / 4096 % 64);
  }
};

bool same(const rect& a, const rect& b) {
  return a.x == b.x && a.y == b.y && a.w == b.w && a.h == b.h;
}

} // namespace

TEST(frame_tracker, first_call_and_mode_change_damage_everything) {
  fixture f;
  f.t.set_mode({640, 480, 32, 0, 0});
  EXPECT_EQ(f.t.width(), 640);
  EXPECT_EQ(f.t.height(), 480);
  auto d = f.t.collect_damage();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(same(d[0], rect{0, 0, 640, 480}));
  EXPECT_TRUE(f.t.collect_damage().empty());
  f.t.set_mode({800, 600, 16, 0, 0});
  d = f.t.collect_damage();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(same(d[0], rect{0, 0, 800, 600}));
}

TEST(frame_tracker, dirty_pixel_becomes_its_tile) {
  fixture f;
  f.t.set_mode({640, 480, 32, 0, 0});
  f.t.collect_damage();
  f.put32(2560, 130, 70, 0x00FF0000);
  auto d = f.t.collect_damage();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(same(d[0], rect{128, 64, 64, 64}));
  EXPECT_TRUE(f.t.collect_damage().empty());
}

TEST(frame_tracker, adjacent_tiles_merge_and_edge_tiles_clip) {
  fixture f;
  f.t.set_mode({200, 100, 32, 0, 0}); // 200 = 3*64 + 8
  f.t.collect_damage();
  f.put32(800, 60, 10, 1);
  f.put32(800, 70, 10, 2);
  f.put32(800, 199, 99, 3);
  auto d = f.t.collect_damage();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_TRUE(same(d[0], rect{0, 0, 128, 64}));
  EXPECT_TRUE(same(d[1], rect{192, 64, 8, 36}));
}

TEST(frame_tracker, writes_outside_the_dirty_log_are_not_seen_unless_unknown) {
  fixture f;
  f.t.set_mode({640, 480, 32, 0, 0});
  f.t.collect_damage();
  f.put32(2560, 5, 5, 7, /*log=*/false);
  EXPECT_TRUE(f.t.collect_damage().empty()); // the log is trusted
  // A rewrite of the same value in a dirty page is no damage either.
  f.put32(2560, 300, 300, 0, true);
  EXPECT_TRUE(f.t.collect_damage().empty());
  f.report_unknown = true; // empty log = compare everything
  auto d = f.t.collect_damage();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(same(d[0], rect{0, 0, 64, 64}));
}

TEST(frame_tracker, stride_and_offset) {
  fixture f;
  f.t.set_mode({100, 50, 32, 1024, 8192});
  f.t.collect_damage();
  size_t off = 8192 + 1024 * 40 + 4 * 90;
  uint32_t v = 0x00123456;
  std::memcpy(f.mem.data() + off, &v, 4);
  f.dirty[0] |= uint64_t{1} << (off / 4096);
  auto d = f.t.collect_damage();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(same(d[0], rect{64, 0, 36, 50}));
  std::vector<uint32_t> px(1);
  f.t.read(rect{90, 40, 1, 1}, px);
  EXPECT_EQ(px[0], 0x123456u);
}

TEST(frame_tracker, pixel_formats) {
  fixture f;
  uint8_t* m = f.mem.data();
  std::vector<uint32_t> px(2);
  // 24 bpp: B, G, R bytes.
  f.t.set_mode({2, 1, 24, 0, 0});
  m[0] = 0x33, m[1] = 0x22, m[2] = 0x11, m[3] = 0xFF, m[4] = 0, m[5] = 0;
  f.t.read(rect{0, 0, 2, 1}, px);
  EXPECT_EQ(px[0], 0x112233u);
  EXPECT_EQ(px[1], 0x0000FFu);
  // 16 bpp 5:6:5 white and pure green.
  f.t.set_mode({2, 1, 16, 0, 0});
  m[0] = 0xFF, m[1] = 0xFF, m[2] = 0xE0, m[3] = 0x07;
  f.t.read(rect{0, 0, 2, 1}, px);
  EXPECT_EQ(px[0], 0xFFFFFFu);
  EXPECT_EQ(px[1], 0x00FF00u);
  // 15 bpp 5:5:5 pure red.
  f.t.set_mode({1, 1, 15, 0, 0});
  m[0] = 0x00, m[1] = 0x7C;
  f.t.read(rect{0, 0, 1, 1}, std::span{px}.first(1));
  EXPECT_EQ(px[0], 0xFF0000u);
}

TEST(frame_tracker, outside_or_unusable_mode_reads_black) {
  fixture f;
  std::memset(f.mem.data(), 0xFF, 4096);
  f.t.set_mode({4, 4, 32, 0, 0});
  std::vector<uint32_t> px(4, 1);
  f.t.read(rect{2, 2, 2, 2}, px); // 2 of them inside
  EXPECT_EQ(px[0], 0xFFFFFFu);
  px.assign(4, 1);
  f.t.read(rect{3, 3, 2, 2}, px); // only the first inside
  EXPECT_EQ(px[0], 0xFFFFFFu);
  EXPECT_EQ(px[1], 0u);
  EXPECT_EQ(px[3], 0u);
  f.t.set_mode({4000, 4000, 32, 0, 0}); // larger than the memory
  px.assign(4, 1);
  f.t.read(rect{0, 0, 2, 2}, px);
  EXPECT_EQ(px, std::vector<uint32_t>(4, 0));
  f.t.set_mode({4, 4, 8, 0, 0}); // palette modes are not converted
  px.assign(4, 1);
  f.t.read(rect{0, 0, 2, 2}, px);
  EXPECT_EQ(px, std::vector<uint32_t>(4, 0));
}
