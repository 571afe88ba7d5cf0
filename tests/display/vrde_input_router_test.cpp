// input_router: RDP keyboard and pointer events become the set-1 bytes and
// PS/2 motion the VM's i8042 receives.
#include <vector>

#include <gtest/gtest.h>

#include "display/input_router.hpp"

using namespace tb::display;

namespace {

struct recorder final : vm_input {
  std::vector<uint8_t> bytes;
  struct move {
    int dx, dy;
    uint8_t buttons;
    bool operator==(const move&) const = default;
  };
  std::vector<move> moves;
  void put_scancodes(std::span<const uint8_t> b) override {
    bytes.insert(bytes.end(), b.begin(), b.end());
  }
  void mouse_event(int dx, int dy, uint8_t buttons) override {
    moves.push_back({dx, dy, buttons});
  }
};

using bytes = std::vector<uint8_t>;

} // namespace

TEST(input_router, scancodes_with_prefixes_and_break_bit) {
  recorder r;
  input_router ir{r};
  ir.key(0x1E, true, false, false);  // a down
  ir.key(0x1E, false, false, false); // a up
  ir.key(0x4D, true, true, false);   // right arrow (E0 4D)
  ir.key(0x4D, false, true, false);
  ir.key(0x1D, true, false, true); // Pause starts E1 1D
  EXPECT_EQ(r.bytes, (bytes{0x1E, 0x9E, 0xE0, 0x4D, 0xE0, 0xCD, 0xE1, 0x1D}));
}

TEST(input_router, unicode_ascii_with_shift) {
  recorder r;
  input_router ir{r};
  ir.unicode_key('a', true);
  ir.unicode_key('a', false);
  ir.unicode_key('A', true);
  ir.unicode_key('A', false);
  ir.unicode_key('1', true);
  ir.unicode_key('!', true);
  ir.unicode_key('~', true);
  ir.unicode_key(' ', true);
  ir.unicode_key('/', true);
  ir.unicode_key('|', true);
  EXPECT_EQ(r.bytes, (bytes{0x1E, 0x9E, 0x2A, 0x1E, 0x9E, 0xAA, 0x02, 0x2A,
                            0x02, 0x2A, 0x29, 0x39, 0x35, 0x2A, 0x2B}));
  r.bytes.clear();
  ir.unicode_key(0x00E9, true); // é: no key on a US layout
  EXPECT_TRUE(r.bytes.empty());
  EXPECT_EQ(ir.dropped(), 1u);
}

TEST(input_router, every_printable_ascii_maps) {
  for (char16_t c = 0x20; c < 0x7F; ++c)
    EXPECT_FALSE(ascii_scancodes(c, true).empty()) << char(c);
  EXPECT_EQ(ascii_scancodes('z', true), (bytes{0x2C}));
  EXPECT_EQ(ascii_scancodes('?', false), (bytes{0xB5, 0xAA}));
  EXPECT_EQ(ascii_scancodes('"', true), (bytes{0x2A, 0x28}));
  EXPECT_EQ(ascii_scancodes('`', true), (bytes{0x29}));
}

// PS/2 motion: dy > 0 is up, so moving down the screen gives dy < 0.
TEST(input_router, absolute_pointer_becomes_relative_motion) {
  recorder r;
  input_router ir{r};
  ir.pointer(100, 100, 0, 0, 0); // reference point only
  ir.pointer(110, 95, 0, 0, 0);
  ir.pointer(110, 95, 1, 0, 0);     // left button down
  ir.pointer(110, 95, 1, 0, 0);     // nothing new
  ir.pointer(100, 100, 0x1A, 0, 0); // x1 dropped, right kept
  ir.pointer(100, 100, 0, 1, 0);    // wheel only: no PS/2 form
  using m = recorder::move;
  EXPECT_EQ(r.moves,
            (std::vector<m>{{10, 5, 0}, {0, 0, 1}, {-10, -5, 2}, {0, 0, 0}}));
  EXPECT_EQ(ir.dropped(), 1u);
}

TEST(input_router, long_jumps_are_split_into_ps2_sized_steps) {
  recorder r;
  input_router ir{r};
  ir.pointer(0, 0, 0, 0, 0);
  ir.pointer(600, 10, 1, 0, 0);
  using m = recorder::move;
  EXPECT_EQ(r.moves, (std::vector<m>{{255, -10, 1}, {255, 0, 1}, {90, 0, 1}}));
  r.moves.clear();
  ir.pointer(0, 10, 1, 0, 0);
  EXPECT_EQ(r.moves, (std::vector<m>{{-255, 0, 1}, {-255, 0, 1}, {-90, 0, 1}}));
}

TEST(input_router, disable_input_drops_everything) {
  recorder r;
  input_router ir{r, true};
  ir.key(0x1E, true, false, false);
  ir.unicode_key('a', true);
  ir.pointer(1, 1, 1, 0, 0);
  ir.pointer(5, 5, 0, 0, 0);
  EXPECT_TRUE(r.bytes.empty());
  EXPECT_TRUE(r.moves.empty());
  ir.set_disabled(false);
  ir.key(0x1E, true, false, false);
  EXPECT_EQ(r.bytes, (bytes{0x1E}));
}
