#include "display/rdp/share.hpp"

#include "display/rdp/byte_io.hpp"
#include "display/rdp/errors.hpp"

namespace tb::display::rdp {

caf::expected<share_pdu> parse_share_pdu(std::span<const uint8_t> data,
                                         size_t& consumed) {
  byte_reader r{data};
  uint16_t total = r.u16le();
  if (total == 0x8000) { // flow control PDU: 8 bytes, ignored
    consumed = std::min<size_t>(8, data.size());
    return make_rdp_error(rdp_errc::unsupported, "flow control PDU");
  }
  uint16_t type = r.u16le();
  r.skip(2); // pduSource
  if (!r.ok() || total < 6 || total > data.size())
    return make_rdp_error(rdp_errc::malformed_pdu,
                          "Share Control header: totalLength "
                              + std::to_string(total) + " of a "
                              + std::to_string(data.size()) + "-byte PDU");
  consumed = total;
  share_pdu p;
  p.type = static_cast<pdu_type>(type & 0x0F);
  byte_reader b{data.subspan(6, total - 6u)};
  if (p.type == pdu_type::data) {
    b.skip(4 + 1 + 1 + 2); // shareId, pad, streamId, uncompressedLength
    p.type2 = static_cast<pdu_type2>(b.u8());
    uint8_t compressed = b.u8();
    b.skip(2);
    if (!b.ok())
      return make_rdp_error(rdp_errc::malformed_pdu,
                            "Share Data header: truncated");
    if (compressed & 0x20)
      return make_rdp_error(rdp_errc::unsupported,
                            "Share Data PDU: bulk compression was not "
                            "negotiated");
  }
  p.body = b.rest();
  return p;
}

std::vector<uint8_t> build_share_control(pdu_type type, uint16_t source,
                                         std::span<const uint8_t> body) {
  byte_writer w;
  w.u16le(static_cast<uint16_t>(6 + body.size()));
  w.u16le(static_cast<uint16_t>(0x10 | static_cast<uint8_t>(type)));
  w.u16le(source);
  w.bytes(body);
  return std::move(w.buffer());
}

std::vector<uint8_t> build_share_data(pdu_type2 type2, uint16_t source,
                                      std::span<const uint8_t> body) {
  byte_writer w;
  w.u32le(share_id);
  w.u8(0);
  w.u8(1); // STREAM_LOW
  w.u16le(static_cast<uint16_t>(body.size() + 4));
  w.u8(static_cast<uint8_t>(type2));
  w.u8(0);
  w.u16le(0);
  w.bytes(body);
  return build_share_control(pdu_type::data, source, w.buffer());
}

std::vector<uint8_t> build_synchronize(uint16_t user_channel) {
  byte_writer w;
  w.u16le(1); // SYNCMSGTYPE_SYNC
  w.u16le(user_channel);
  return build_share_data(pdu_type2::synchronize, server_channel_source,
                          w.buffer());
}

std::vector<uint8_t> build_control(uint16_t action, uint16_t grant_id,
                                   uint32_t control_id) {
  byte_writer w;
  w.u16le(action);
  w.u16le(grant_id);
  w.u32le(control_id);
  return build_share_data(pdu_type2::control, server_channel_source,
                          w.buffer());
}

std::vector<uint8_t> build_font_map() {
  byte_writer w;
  w.u16le(0);
  w.u16le(0);
  w.u16le(3); // FONTMAP_FIRST | FONTMAP_LAST
  w.u16le(4);
  return build_share_data(pdu_type2::font_map, server_channel_source,
                          w.buffer());
}

std::vector<uint8_t> build_set_error_info(uint32_t code) {
  byte_writer w;
  w.u32le(code);
  return build_share_data(pdu_type2::set_error_info, server_channel_source,
                          w.buffer());
}

} // namespace tb::display::rdp
