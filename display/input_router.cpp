#include "display/input_router.hpp"

#include <algorithm>
#include <cstring>

namespace tb::display {

namespace {

constexpr uint8_t shift_make = 0x2A;

/// US layout: which set-1 key types an ASCII character, and whether shift
/// is needed. 0 = unmapped.
struct key_pos {
  uint8_t code = 0;
  bool shift = false;
};

key_pos ascii_key(char16_t c) {
  static constexpr const char* rows[] = {
      // scancode of the first character, then the unshifted/shifted rows
      "1234567890-=", "qwertyuiop[]", "asdfghjkl;'`", "zxcvbnm,./"};
  static constexpr const char* shifted[] = {"!@#$%^&*()_+", "QWERTYUIOP{}",
                                            "ASDFGHJKL:\"~", "ZXCVBNM<>?"};
  static constexpr uint8_t first[] = {0x02, 0x10, 0x1E, 0x2C};
  if (c == ' ')
    return {0x39, false};
  if (c == '\t')
    return {0x0F, false};
  if (c == '\r' || c == '\n')
    return {0x1C, false};
  if (c == '\b')
    return {0x0E, false};
  if (c == '\\')
    return {0x2B, false};
  if (c == '|')
    return {0x2B, true};
  if (c >= 0x80)
    return {};
  for (int r = 0; r < 4; ++r) {
    for (int pass = 0; pass < 2; ++pass) {
      const char* s = pass ? shifted[r] : rows[r];
      if (const char* p = std::strchr(s, static_cast<char>(c)); p && c) {
        auto idx = static_cast<uint8_t>(p - s);
        // "`" and "~" sit at 0x29, not after the quote key.
        uint8_t code = (r == 2 && idx == 11) ? 0x29 : first[r] + idx;
        return {code, pass == 1};
      }
    }
  }
  return {};
}

} // namespace

std::vector<uint8_t> ascii_scancodes(char16_t c, bool down) {
  auto k = ascii_key(c);
  if (!k.code)
    return {};
  if (down)
    return k.shift ? std::vector<uint8_t>{shift_make, k.code}
                   : std::vector<uint8_t>{k.code};
  uint8_t brk = k.code | 0x80;
  return k.shift ? std::vector<uint8_t>{brk, shift_make | 0x80}
                 : std::vector<uint8_t>{brk};
}

void input_router::set_disabled(bool d) {
  std::lock_guard lock{mtx_};
  disabled_ = d;
}

bool input_router::disabled() const {
  std::lock_guard lock{mtx_};
  return disabled_;
}

uint64_t input_router::dropped() const {
  std::lock_guard lock{mtx_};
  return dropped_;
}

void input_router::key(uint8_t scancode, bool down, bool extended,
                       bool extended1) {
  std::lock_guard lock{mtx_};
  if (disabled_)
    return;
  uint8_t bytes[2];
  size_t n = 0;
  if (extended1)
    bytes[n++] = 0xE1;
  else if (extended)
    bytes[n++] = 0xE0;
  bytes[n++] = static_cast<uint8_t>((scancode & 0x7F) | (down ? 0 : 0x80));
  target_.put_scancodes(std::span<const uint8_t>{bytes, n});
}

void input_router::unicode_key(uint16_t code, bool down) {
  std::lock_guard lock{mtx_};
  if (disabled_)
    return;
  auto seq = ascii_scancodes(static_cast<char16_t>(code), down);
  if (seq.empty()) {
    ++dropped_; // no key on a US layout types it
    return;
  }
  target_.put_scancodes(seq);
}

void input_router::pointer(uint16_t x, uint16_t y, uint8_t buttons, int wheel,
                           int hwheel) {
  std::lock_guard lock{mtx_};
  if (disabled_)
    return;
  if (wheel || hwheel)
    ++dropped_;
  buttons &= 0x07;
  int dx = 0;
  int dy = 0;
  if (last_pos_) {
    dx = x - last_pos_->first;
    dy = y - last_pos_->second;
  }
  last_pos_ = std::pair<int, int>{x, y};
  if (dx == 0 && dy == 0 && buttons == last_buttons_)
    return;
  last_buttons_ = buttons;
  // One PS/2 packet carries 9-bit deltas (-256..255): split long jumps.
  do {
    int sx = std::clamp(dx, -max_step, max_step);
    int sy = std::clamp(dy, -max_step, max_step);
    target_.mouse_event(sx, -sy, buttons); // PS/2: dy > 0 is up
    dx -= sx;
    dy -= sy;
  } while (dx != 0 || dy != 0);
}

void input_router::sync_locks(uint32_t) {}

} // namespace tb::display
