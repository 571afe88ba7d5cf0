#include "display/rdp/input_events.hpp"

#include "display/rdp/byte_io.hpp"
#include "display/rdp/errors.hpp"

namespace tb::display::rdp {

namespace {

constexpr uint16_t ptr_hwheel = 0x0400;
constexpr uint16_t ptr_wheel = 0x0200;
constexpr uint16_t ptr_wheel_negative = 0x0100;
constexpr uint16_t ptr_down = 0x8000;

void mouse(uint16_t flags, uint16_t x, uint16_t y, bool extended,
           pointer_state& ps, input_sink& sink) {
  int wheel = 0;
  int hwheel = 0;
  if (!extended && (flags & (ptr_wheel | ptr_hwheel))) {
    int rot = flags & 0x1FF;
    if (flags & ptr_wheel_negative)
      rot -= 0x200;
    int notches = rot / 120 ? rot / 120 : (rot > 0 ? 1 : -1);
    (flags & ptr_wheel ? wheel : hwheel) = notches;
    // Wheel events carry no position.
    x = ps.x;
    y = ps.y;
  } else {
    uint8_t bit = 0;
    if (extended) {
      if (flags & 0x0001) // XBUTTON1
        bit = 0x08;
      if (flags & 0x0002) // XBUTTON2
        bit = 0x10;
    } else {
      if (flags & 0x1000)
        bit = 0x01;
      if (flags & 0x2000)
        bit = 0x02;
      if (flags & 0x4000)
        bit = 0x04;
    }
    bool down = extended ? (flags & 0x8000) : (flags & ptr_down);
    if (bit) {
      if (down)
        ps.buttons |= bit;
      else
        ps.buttons &= ~bit;
    }
  }
  ps.x = x;
  ps.y = y;
  sink.pointer(x, y, ps.buttons, wheel, hwheel);
}

caf::error truncated(const char* what) {
  return make_rdp_error(rdp_errc::malformed_pdu,
                        std::string{what} + ": event truncated");
}

} // namespace

caf::error parse_fastpath_input(std::span<const uint8_t> events, unsigned count,
                                pointer_state& ps, input_sink& sink) {
  byte_reader r{events};
  if (count == 0)
    count = r.u8();
  for (unsigned i = 0; i < count; ++i) {
    uint8_t hdr = r.u8();
    if (!r.ok())
      return truncated("fast-path input");
    uint8_t flags = hdr & 0x1F;
    switch (hdr >> 5) {
    case 0: { // scancode
      uint8_t code = r.u8();
      if (!r.ok())
        return truncated("fast-path scancode");
      sink.key(code, !(flags & 0x1), flags & 0x2, flags & 0x4);
      break;
    }
    case 1:
    case 2: { // mouse, extended mouse
      uint16_t pf = r.u16le();
      uint16_t x = r.u16le();
      uint16_t y = r.u16le();
      if (!r.ok())
        return truncated("fast-path mouse");
      mouse(pf, x, y, (hdr >> 5) == 2, ps, sink);
      break;
    }
    case 3: // synchronize
      sink.sync_locks(flags);
      break;
    case 4: { // unicode
      uint16_t code = r.u16le();
      if (!r.ok())
        return truncated("fast-path unicode");
      sink.unicode_key(code, !(flags & 0x1));
      break;
    }
    case 5: // relative mouse (MS-RDPBCGR 2.2.8.1.2.2.7): not advertised
      r.skip(6);
      break;
    case 6: // QoE timestamp
      r.skip(4);
      break;
    default:
      return make_rdp_error(rdp_errc::malformed_pdu,
                            "fast-path input: unknown event code "
                                + std::to_string(hdr >> 5));
    }
  }
  if (!r.ok())
    return truncated("fast-path input");
  return {};
}

caf::error parse_slowpath_input(std::span<const uint8_t> body,
                                pointer_state& ps, input_sink& sink) {
  byte_reader r{body};
  uint16_t n = r.u16le();
  r.skip(2);
  for (uint16_t i = 0; i < n; ++i) {
    r.skip(4); // eventTime
    uint16_t type = r.u16le();
    uint16_t a = r.u16le();
    uint16_t b = r.u16le();
    uint16_t c = r.u16le();
    if (!r.ok())
      return truncated("slow-path input");
    switch (type) {
    case 0x0000: // sync: pad, toggleFlags (32-bit: b | c << 16)
      sink.sync_locks(b | (static_cast<uint32_t>(c) << 16));
      break;
    case 0x0004: // scancode: keyboardFlags, keyCode, pad
      sink.key(static_cast<uint8_t>(b), !(a & 0x8000), a & 0x0100, a & 0x0200);
      break;
    case 0x0005: // unicode
      sink.unicode_key(b, !(a & 0x8000));
      break;
    case 0x8001:
    case 0x8002:
      mouse(a, b, c, type == 0x8002, ps, sink);
      break;
    default:
      break; // unused (0x0002 TS_INPUT_EVENT_UNUSED): skip
    }
  }
  return {};
}

} // namespace tb::display::rdp
