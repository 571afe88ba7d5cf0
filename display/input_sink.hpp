// Where remote input goes: the RDP (or VNC) server delivers decoded client
// input here; the VM side implements it with its keyboard and mouse.
#pragma once

#include <cstdint>

namespace tb::display {

/// Keyboard and pointer events in RDP terms (PC/AT set 1 scancodes,
/// absolute coordinates in frame buffer pixels).
class input_sink {
public:
  virtual ~input_sink() = default;

  /// A set-1 scancode; extended = E0 prefix, extended1 = E1 prefix.
  virtual void key(uint8_t scancode, bool down, bool extended,
                   bool extended1) = 0;
  /// A UTF-16 code unit typed without a scancode.
  virtual void unicode_key(uint16_t code, bool down) = 0;
  /// Pointer position and buttons (bit 0 left, 1 right, 2 middle, 3 x1,
  /// 4 x2); wheel is in notches, positive = away from the user.
  virtual void pointer(uint16_t x, uint16_t y, uint8_t buttons, int wheel,
                       int hwheel) = 0;
  /// Lock key state: bit 0 scroll, 1 num, 2 caps, 3 kana.
  virtual void sync_locks(uint32_t flags) = 0;
};

} // namespace tb::display
