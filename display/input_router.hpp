// The one path every remote session's input takes to the VM: RDP keyboard
// events become PC/AT set-1 byte sequences, absolute pointer positions
// become relative PS/2 motion. Several sessions share one router (shared
// keyboard and pointer, as VirtualBox's multi-connection mode).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "display/input_sink.hpp"

namespace tb::display {

/// What the VM process implements over its i8042.
class vm_input {
public:
  virtual ~vm_input() = default;
  /// Set-1 bytes as the keyboard would send them (prefixes included).
  virtual void put_scancodes(std::span<const uint8_t> bytes) = 0;
  /// Relative motion in the PS/2 convention of i8042::mouse_event (dx > 0
  /// right, dy > 0 UP), at most input_router::max_step per axis, and
  /// buttons (bit 0 left, 1 right, 2 middle): forward it unchanged.
  virtual void mouse_event(int dx, int dy, uint8_t buttons) = 0;
};

/// The set-1 make/break bytes that type a printable ASCII character on a US
/// layout (shift pressed around it when needed); empty when unmapped.
std::vector<uint8_t> ascii_scancodes(char16_t c, bool down);

class input_router final : public input_sink {
public:
  /// `disabled` = Client/DisableInput: every event is dropped.
  explicit input_router(vm_input& target, bool disabled = false)
      : target_(target), disabled_(disabled) {}

  void set_disabled(bool d);
  bool disabled() const;

  void key(uint8_t scancode, bool down, bool extended, bool extended1) override;
  void unicode_key(uint16_t code, bool down) override;
  /// The first position only sets the reference point; later ones move by
  /// the difference. The wheel has no PS/2 (3-byte protocol) encoding and
  /// is dropped.
  void pointer(uint16_t x, uint16_t y, uint8_t buttons, int wheel,
               int hwheel) override;
  /// Lock state is the guest's own (PS/2 has no way to set it); ignored.
  void sync_locks(uint32_t flags) override;

  /// Largest delta per mouse_event (a PS/2 packet holds -256..255).
  static constexpr int max_step = 255;

  /// Events dropped because they have no set-1 / PS/2 form.
  uint64_t dropped() const;

private:
  vm_input& target_;
  mutable std::mutex mtx_;
  bool disabled_;
  std::optional<std::pair<int, int>> last_pos_;
  uint8_t last_buttons_ = 0;
  uint64_t dropped_ = 0;
};

} // namespace tb::display
