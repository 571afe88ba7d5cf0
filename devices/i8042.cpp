#include "devices/i8042.hpp"

#include <algorithm>
#include <array>

namespace tb::devices {

namespace {

enum : uint8_t {
  cb_kbd_int = 0x01,
  cb_aux_int = 0x02,
  cb_sys = 0x04,
  cb_kbd_off = 0x10,
  cb_aux_off = 0x20,
  cb_xlate = 0x40,
  ack = 0xfa,
  resend = 0xfe,
};
constexpr uint16_t aux_bit = 0x100;

// Set-1 make code -> set-2 make code (0 = no such key). Extended (E0) keys
// use the same table: their set-2 code after E0 equals the base key's,
// except the Windows/menu keys at 0x5b-0x5d.
constexpr std::array<uint8_t, 0x5e> set1_to_set2 = {
    0x00, 0x76, 0x16, 0x1e, 0x26, 0x25, 0x2e, 0x36, 0x3d, 0x3e, 0x46, 0x45,
    0x4e, 0x55, 0x66, 0x0d, 0x15, 0x1d, 0x24, 0x2d, 0x2c, 0x35, 0x3c, 0x43,
    0x44, 0x4d, 0x54, 0x5b, 0x5a, 0x14, 0x1c, 0x1b, 0x23, 0x2b, 0x34, 0x33,
    0x3b, 0x42, 0x4b, 0x4c, 0x52, 0x0e, 0x12, 0x5d, 0x1a, 0x22, 0x21, 0x2a,
    0x32, 0x31, 0x3a, 0x41, 0x49, 0x4a, 0x59, 0x7c, 0x11, 0x29, 0x58, 0x05,
    0x06, 0x04, 0x0c, 0x03, 0x0b, 0x83, 0x0a, 0x01, 0x09, 0x77, 0x7e, 0x6c,
    0x75, 0x7d, 0x7b, 0x6b, 0x73, 0x74, 0x79, 0x69, 0x72, 0x7a, 0x70, 0x71,
    0x84, 0x00, 0x61, 0x78, 0x07, 0x00, 0x00, 0x1f, 0x27, 0x2f};

} // namespace

i8042::i8042(irq_line& kbd_irq, irq_line& aux_irq, reset_fn reset_request)
    : kbd_irq_(kbd_irq), aux_irq_(aux_irq),
      reset_request_(std::move(reset_request)) {}

void i8042::reset() {
  restore(i8042_state{});
}

void i8042::restore(const i8042_state& state) {
  state_ = state;
  if (state_.output.size() > queue_limit)
    state_.output.resize(queue_limit);
  update_irqs();
}

uint8_t i8042::status() const {
  uint8_t s = 0x10; // keyboard not inhibited
  if (!state_.output.empty()) {
    s |= 0x01;
    if (state_.output.front() & aux_bit)
      s |= 0x20;
  }
  if (state_.command_byte & cb_sys)
    s |= 0x04;
  if (state_.last_write_was_command)
    s |= 0x08;
  return s;
}

void i8042::pio_read(uint16_t offset, std::span<uint8_t> data) {
  if (data.size() != 1 || (offset != 0 && offset != 4)) {
    std::fill(data.begin(), data.end(), 0xff);
    ++counters_.ignored_reads;
    return;
  }
  data[0] = offset == 0 ? read_data() : status();
}

// Reading the output buffer drops the interrupt line; the next queued byte
// raises it again, so an edge-triggered PIC sees one edge per byte.
uint8_t i8042::read_data() {
  if (!state_.output.empty()) {
    state_.last_read = uint8_t(state_.output.front());
    state_.output.erase(state_.output.begin());
  }
  if (kbd_level_)
    kbd_irq_.set_level(kbd_level_ = false);
  if (aux_level_)
    aux_irq_.set_level(aux_level_ = false);
  update_irqs();
  return state_.last_read;
}

void i8042::pio_write(uint16_t offset, std::span<const uint8_t> data) {
  if (data.size() != 1 || (offset != 0 && offset != 4)) {
    ++counters_.ignored_writes;
    return;
  }
  state_.last_write_was_command = offset == 4;
  if (offset == 4)
    controller_command(data[0]);
  else
    data_write(data[0]);
  update_irqs();
}

void i8042::controller_command(uint8_t cmd) {
  state_.pending_command = 0;
  auto& cb = state_.command_byte;
  switch (cmd) {
  case 0x20:
    push(cb);
    return;
  case 0x60:
  case 0xd1:
  case 0xd2:
  case 0xd3:
  case 0xd4:
    state_.pending_command = cmd;
    return;
  case 0xa7:
    cb |= cb_aux_off;
    return;
  case 0xa8:
    cb &= uint8_t(~cb_aux_off);
    return;
  case 0xa9:
    push(0x00);
    return; // aux interface OK
  case 0xaa:
    push(0x55);
    return; // self test passed
  case 0xab:
    push(0x00);
    return; // keyboard interface OK
  case 0xad:
    cb |= cb_kbd_off;
    return;
  case 0xae:
    cb &= uint8_t(~cb_kbd_off);
    return;
  case 0xc0:
    push(0x80);
    return; // input port: keyboard not locked
  case 0xd0:
    push(state_.output_port);
    return;
  case 0xe0:
    push(0x00);
    return; // test inputs
  default:
    break;
  }
  if ((cmd & 0xf0) == 0xf0) { // pulse output lines; bit 0 low = CPU reset
    if (!(cmd & 0x01) && reset_request_)
      reset_request_();
    return;
  }
  if (cmd >= 0x21 && cmd <= 0x3f) { // read controller RAM: nothing stored
    push(0x00);
    return;
  }
  ++counters_.ignored_writes;
}

void i8042::data_write(uint8_t value) {
  uint8_t cmd = state_.pending_command;
  state_.pending_command = 0;
  switch (cmd) {
  case 0x60:
    state_.command_byte = value;
    return;
  case 0xd1:
    state_.output_port = value;
    if (!(value & 0x01) && reset_request_)
      reset_request_();
    return;
  case 0xd2:
    push(value);
    return;
  case 0xd3:
    push(value, true);
    return;
  case 0xd4:
    aux_command(value);
    return;
  default:
    keyboard_command(value);
    return;
  }
}

void i8042::keyboard_command(uint8_t value) {
  if (uint8_t p = state_.kbd_pending) {
    state_.kbd_pending = 0;
    if (p == 0xed) {
      state_.leds = value & 0x07;
      push(ack);
      return;
    }
    if (p == 0xf0) {
      push(ack);
      if (value == 0)
        push(state_.scancode_set);
      else if (value <= 3)
        state_.scancode_set = value;
      return;
    }
    if (p == 0xf3) { // typematic rate: accepted, not modelled
      push(ack);
      return;
    }
  }
  switch (value) {
  case 0xed:
  case 0xf0:
  case 0xf3:
    state_.kbd_pending = value;
    push(ack);
    return;
  case 0xee:
    push(0xee);
    return;  // echo
  case 0xf2: // identify: MF2 keyboard, translated ID while translating
    push(ack);
    push(0xab);
    push((state_.command_byte & cb_xlate) ? 0x41 : 0x83);
    return;
  case 0xf4:
    state_.kbd_scanning = true;
    push(ack);
    return;
  case 0xf5:
    state_.kbd_scanning = false;
    push(ack);
    return;
  case 0xf6:
    state_.scancode_set = 2;
    push(ack);
    return;
  case 0xf7:
  case 0xf8:
  case 0xf9:
  case 0xfa:
  case 0xfb:
  case 0xfc:
  case 0xfd:
    push(ack);
    return;
  case 0xff: // reset: ACK, then self-test passed
    state_.scancode_set = 2;
    state_.leds = 0;
    state_.kbd_scanning = true;
    push(ack);
    push(0xaa);
    return;
  default:
    ++counters_.ignored_writes;
    push(resend);
  }
}

void i8042::aux_command(uint8_t value) {
  if (uint8_t p = state_.aux_pending) {
    state_.aux_pending = 0;
    if (p == 0xf3)
      state_.aux_sample_rate = value;
    else
      state_.aux_resolution = value & 0x03;
    push(ack, true);
    return;
  }
  switch (value) {
  case 0xe6:
    state_.aux_scaling_2to1 = false;
    break;
  case 0xe7:
    state_.aux_scaling_2to1 = true;
    break;
  case 0xe8:
  case 0xf3:
    state_.aux_pending = value;
    break;
  case 0xe9: { // status request: ACK, status, resolution, sample rate
    push(ack, true);
    push(uint8_t((state_.aux_streaming ? 0x20 : 0)
                 | (state_.aux_scaling_2to1 ? 0x10 : 0)),
         true);
    push(state_.aux_resolution, true);
    push(state_.aux_sample_rate, true);
    return;
  }
  case 0xea:
    break;   // stream mode (the only mode)
  case 0xeb: // read data: an empty packet
    push(ack, true);
    push(0x08, true);
    push(0x00, true);
    push(0x00, true);
    return;
  case 0xf2:
    push(ack, true);
    push(0x00, true);
    return; // standard mouse
  case 0xf4:
    state_.aux_streaming = true;
    break;
  case 0xf5:
    state_.aux_streaming = false;
    break;
  case 0xf6:
    state_.aux_sample_rate = 100;
    state_.aux_resolution = 2;
    state_.aux_scaling_2to1 = false;
    break;
  case 0xff:
    state_.aux_streaming = false;
    state_.aux_sample_rate = 100;
    state_.aux_resolution = 2;
    push(ack, true);
    push(0xaa, true);
    push(0x00, true);
    return;
  default:
    ++counters_.ignored_writes;
    push(resend, true);
    return;
  }
  push(ack, true);
}

void i8042::push(uint8_t byte, bool aux) {
  if (state_.output.size() < queue_limit)
    state_.output.push_back(uint16_t(byte | (aux ? aux_bit : 0)));
}

void i8042::key_event(std::span<const uint8_t> set1) {
  if ((state_.command_byte & cb_kbd_off) || !state_.kbd_scanning
      || state_.output.size() + 2 * set1.size() > queue_limit) {
    ++counters_.dropped_keys;
    return;
  }
  bool raw = (state_.command_byte & cb_xlate) || state_.scancode_set == 1;
  std::vector<uint8_t> bytes;
  for (uint8_t b : set1) {
    if (raw || b == 0xe0 || b == 0xe1) {
      bytes.push_back(b);
      continue;
    }
    uint8_t code = b & 0x7f;
    uint8_t s2 = code < set1_to_set2.size() ? set1_to_set2[code] : 0;
    if (!s2) {
      ++counters_.dropped_keys;
      return;
    }
    if (b & 0x80)
      bytes.push_back(0xf0);
    bytes.push_back(s2);
  }
  for (uint8_t b : bytes)
    push(b);
  update_irqs();
}

void i8042::mouse_event(int dx, int dy, uint8_t buttons) {
  if ((state_.command_byte & cb_aux_off) || !state_.aux_streaming
      || state_.output.size() + 3 > queue_limit) {
    ++counters_.dropped_packets;
    return;
  }
  dx = std::clamp(dx, -256, 255);
  dy = std::clamp(dy, -256, 255);
  uint8_t head = uint8_t(0x08 | (buttons & 0x07) | (dx < 0 ? 0x10 : 0)
                         | (dy < 0 ? 0x20 : 0));
  push(head, true);
  push(uint8_t(dx & 0xff), true);
  push(uint8_t(dy & 0xff), true);
  update_irqs();
}

void i8042::update_irqs() {
  bool kbd = false, aux = false;
  if (!state_.output.empty()) {
    bool is_aux = state_.output.front() & aux_bit;
    kbd = !is_aux && (state_.command_byte & cb_kbd_int);
    aux = is_aux && (state_.command_byte & cb_aux_int);
  }
  if (kbd != kbd_level_)
    kbd_irq_.set_level(kbd_level_ = kbd);
  if (aux != aux_level_)
    aux_irq_.set_level(aux_level_ = aux);
}

} // namespace tb::devices
