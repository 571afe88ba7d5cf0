// i8042 keyboard controller with a PS/2 keyboard and an aux (mouse) port:
// data at port 0x60 (offset 0), status/command at 0x64 (offset 4); IRQ 1
// (keyboard) and IRQ 12 (aux).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "devices/bus.hpp"

namespace tb::devices {

/// Saved state of controller, keyboard and mouse. `output` holds queued
/// bytes for the guest; bit 8 of an entry marks an aux (mouse) byte.
struct i8042_state {
  uint8_t command_byte = 0x47; ///< kbd+aux interrupts, system flag, translation
  uint8_t output_port = 0x03;  ///< reset line high (inactive), A20 on
  uint8_t pending_command = 0; ///< controller command waiting for its data byte
  bool last_write_was_command = false;
  uint8_t last_read = 0;
  std::vector<uint16_t> output;
  // keyboard
  uint8_t kbd_pending = 0; ///< device command waiting for its parameter
  uint8_t scancode_set = 2;
  uint8_t leds = 0;
  bool kbd_scanning = true;
  // mouse
  uint8_t aux_pending = 0;
  bool aux_streaming = false;
  uint8_t aux_sample_rate = 100;
  uint8_t aux_resolution = 2;
  bool aux_scaling_2to1 = false;
  bool operator==(const i8042_state&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, i8042_state& x) {
  return f(caf::meta::type_name("i8042_state"), x.command_byte, x.output_port,
           x.pending_command, x.last_write_was_command, x.last_read, x.output,
           x.kbd_pending, x.scancode_set, x.leds, x.kbd_scanning, x.aux_pending,
           x.aux_streaming, x.aux_sample_rate, x.aux_resolution,
           x.aux_scaling_2to1);
}

/// What the i8042 dropped from the host side (not guest errors).
struct i8042_counters : device_counters {
  uint64_t dropped_keys = 0;    ///< keyboard disabled, or queue full
  uint64_t dropped_packets = 0; ///< mouse not streaming, or queue full
};

/// The controller answers the commands firmware and Linux's i8042/atkbd
/// probing use (0x20/0x60 command byte, 0xAA self test, 0xAB/0xA9 interface
/// tests, 0xA7/0xA8/0xAD/0xAE, 0xD0-0xD4, 0xFE pulse reset). Keys arrive as
/// scan code set 1 bytes (what RDP sends); they reach the guest unchanged
/// while the command byte's translation bit is set, else translated to set 2.
class i8042 final : public pio_device {
public:
  static constexpr size_t queue_limit = 64;
  using reset_fn = std::function<void()>;

  i8042(irq_line& kbd_irq, irq_line& aux_irq, reset_fn reset_request);

  /// One key event as set-1 bytes (e.g. {0x1e} 'a' make, {0x9e} break,
  /// {0xe0, 0x48} up-arrow make). Dropped when the guest disabled the
  /// keyboard or the queue is full.
  void key_event(std::span<const uint8_t> set1);
  /// Relative mouse motion (dy > 0 is up, PS/2 convention) and buttons
  /// (bit 0 left, 1 right, 2 middle) as one standard 3-byte packet.
  void mouse_event(int dx, int dy, uint8_t buttons);

  i8042_state save() const { return state_; }
  void restore(const i8042_state& state);
  /// System reset (i8042 pulse, triple fault): power-on register values.
  void reset();
  const i8042_counters& counters() const { return counters_; }

  // pio_device
  void pio_read(uint16_t offset, std::span<uint8_t> data) override;
  void pio_write(uint16_t offset, std::span<const uint8_t> data) override;

private:
  uint8_t status() const;
  uint8_t read_data();
  void controller_command(uint8_t cmd);
  void data_write(uint8_t value);
  void keyboard_command(uint8_t value);
  void aux_command(uint8_t value);
  void push(uint8_t byte, bool aux = false);
  void update_irqs();

  irq_line& kbd_irq_;
  irq_line& aux_irq_;
  reset_fn reset_request_;
  i8042_state state_;
  i8042_counters counters_;
  bool kbd_level_ = false;
  bool aux_level_ = false;
};

} // namespace tb::devices
