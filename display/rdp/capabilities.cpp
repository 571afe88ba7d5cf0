#include "display/rdp/capabilities.hpp"

#include "display/rdp/byte_io.hpp"
#include "display/rdp/errors.hpp"
#include "display/rdp/share.hpp"

namespace tb::display::rdp {

namespace {

enum cap_type : uint16_t {
  cap_general = 1,
  cap_bitmap = 2,
  cap_order = 3,
  cap_pointer = 8,
  cap_share = 9,
  cap_color_cache = 10,
  cap_input = 13,
  cap_font = 14,
  cap_virtual_channel = 20,
  cap_multifragment = 26,
  cap_large_pointer = 27,
  cap_bitmap_codecs = 29,
};

/// Appends one capability set, patching its length.
template <class F> void cap(byte_writer& w, uint16_t type, F&& body) {
  size_t at = w.size();
  w.u16le(type);
  w.u16le(0);
  body(w);
  w.patch_u16le(at + 2, static_cast<uint16_t>(w.size() - at));
}

} // namespace

std::vector<uint8_t> build_demand_active(const server_caps& sc,
                                         uint32_t session_id) {
  byte_writer caps;
  cap(caps, cap_general, [](byte_writer& w) {
    w.u16le(4); // OSMAJORTYPE_UNIX
    w.u16le(7); // OSMINORTYPE_PSEUDO_XSERVER
    w.u16le(0x0200);
    w.u16le(0);
    w.u16le(0);
    w.u16le(fastpath_output_supported | long_credentials_supported
            | no_bitmap_compression_hdr);
    w.u16le(0);
    w.u16le(0);
    w.u16le(0);
    w.u8(1); // refreshRectSupport
    w.u8(1); // suppressOutputSupport
  });
  cap(caps, cap_bitmap, [&](byte_writer& w) {
    w.u16le(sc.bpp);
    w.u16le(1);
    w.u16le(1);
    w.u16le(1);
    w.u16le(sc.width);
    w.u16le(sc.height);
    w.u16le(0);
    w.u16le(1); // desktopResizeFlag
    w.u16le(1); // bitmapCompressionFlag
    w.u8(0);
    w.u8(0);
    w.u16le(1); // multipleRectangleSupport
    w.u16le(0);
  });
  cap(caps, cap_order, [](byte_writer& w) {
    w.zeros(16 + 4);
    w.u16le(1);
    w.u16le(20);
    w.u16le(0);
    w.u16le(1);
    w.u16le(0);
    w.u16le(0x0002 | 0x0008); // NEGOTIATE | ZEROBOUNDSDELTAS
    w.zeros(32);              // no drawing orders
    w.u16le(0);
    w.u16le(0);
    w.u32le(0);
    w.u32le(0);
    w.u16le(0);
    w.u16le(0);
    w.u16le(0);
    w.u16le(0);
  });
  cap(caps, cap_pointer, [](byte_writer& w) {
    w.u16le(1);
    w.u16le(25);
    w.u16le(25);
  });
  cap(caps, cap_input, [](byte_writer& w) {
    // SCANCODES | MOUSEX | UNICODE | FASTPATH_INPUT2
    w.u16le(0x0001 | 0x0004 | 0x0010 | 0x0020);
    w.u16le(0);
    w.zeros(4 + 4 + 4 + 4 + 64);
  });
  cap(caps, cap_virtual_channel, [](byte_writer& w) {
    w.u32le(0);
    w.u32le(1600);
  });
  cap(caps, cap_share, [](byte_writer& w) {
    w.u16le(server_channel_source);
    w.u16le(0);
  });
  cap(caps, cap_font, [](byte_writer& w) {
    w.u16le(1);
    w.u16le(0);
  });
  cap(caps, cap_color_cache, [](byte_writer& w) {
    w.u16le(6);
    w.u16le(0);
  });
  cap(caps, cap_multifragment, [](byte_writer& w) { w.u32le(0x3F0000); });
  cap(caps, cap_large_pointer, [](byte_writer& w) { w.u16le(1); });
  // Bitmap Codecs with no codec: we send no surface bits yet, and saying
  // so keeps clients from assigning codec IDs we would have to honour.
  cap(caps, cap_bitmap_codecs, [](byte_writer& w) { w.u8(0); });
  constexpr uint16_t count = 12;

  byte_writer w;
  w.u32le(share_id);
  w.u16le(4);
  w.u16le(static_cast<uint16_t>(4 + caps.size()));
  w.bytes("RDP", 4);
  w.u16le(count);
  w.u16le(0);
  w.bytes(caps.buffer());
  w.u32le(session_id);
  return build_share_control(pdu_type::demand_active, server_channel_source,
                             w.buffer());
}

caf::expected<client_caps> parse_confirm_active(std::span<const uint8_t> body) {
  byte_reader r{body};
  r.skip(4 + 2); // shareId, originatorId
  uint16_t len_src = r.u16le();
  uint16_t len_caps = r.u16le();
  r.skip(len_src);
  auto capsbytes = r.bytes(len_caps);
  if (!r.ok())
    return make_rdp_error(rdp_errc::malformed_pdu,
                          "Confirm Active: lengths exceed the PDU");
  byte_reader c{capsbytes};
  uint16_t n = c.u16le();
  c.skip(2);
  client_caps cc;
  for (uint16_t i = 0; i < n && c.ok(); ++i) {
    uint16_t type = c.u16le();
    uint16_t len = c.u16le();
    if (!c.ok() || len < 4 || len - 4u > c.remaining())
      return make_rdp_error(rdp_errc::malformed_pdu,
                            "Confirm Active: capability set "
                                + std::to_string(type) + " of length "
                                + std::to_string(len) + " runs past the PDU");
    byte_reader s{c.bytes(len - 4u)};
    switch (type) {
    case cap_general:
      s.skip(10);
      cc.extra_flags = s.u16le();
      break;
    case cap_bitmap:
      cc.preferred_bpp = s.u16le();
      s.skip(6);
      cc.desktop_width = s.u16le();
      cc.desktop_height = s.u16le();
      s.skip(2);
      cc.desktop_resize = s.u16le() != 0;
      cc.bitmap_compression = s.u16le() != 0;
      break;
    case cap_pointer:
      cc.color_pointer = s.u16le() != 0;
      cc.pointer_cache = s.u16le();
      break;
    case cap_input:
      cc.input_flags = s.u16le();
      break;
    case cap_multifragment:
      cc.multifragment_max = s.u32le();
      break;
    default:
      break;
    }
  }
  return cc;
}

} // namespace tb::display::rdp
