#include "display/rdp/x224.hpp"

#include "display/rdp/byte_io.hpp"
#include "display/rdp/errors.hpp"

namespace tb::display::rdp {

namespace {

constexpr uint8_t x224_cr = 0xE0;
constexpr uint8_t x224_cc = 0xD0;
constexpr uint8_t x224_dt = 0xF0;

caf::error malformed(std::string what) {
  return make_rdp_error(rdp_errc::malformed_pdu, std::move(what));
}

} // namespace

caf::expected<size_t> frame_length(std::span<const uint8_t> buf) {
  if (buf.empty())
    return size_t{0};
  if (buf[0] == 0x03) {
    if (buf.size() < 4)
      return size_t{0};
    size_t len = (buf[2] << 8) | buf[3];
    if (len < 7)
      return malformed("TPKT header: length " + std::to_string(len)
                       + " is shorter than a TPKT + X.224 header");
    return len;
  }
  if ((buf[0] & 0x03) != 0)
    return malformed("PDU header: first byte "
                     + std::to_string(static_cast<int>(buf[0]))
                     + " is neither TPKT nor fast-path");
  if (buf.size() < 2)
    return size_t{0};
  if (buf[1] & 0x80) {
    if (buf.size() < 3)
      return size_t{0};
    size_t len = ((buf[1] & 0x7F) << 8) | buf[2];
    if (len < 3)
      return malformed("fast-path header: length " + std::to_string(len)
                       + " is shorter than its own header");
    return len;
  }
  if (buf[1] < 2)
    return malformed("fast-path header: length "
                     + std::to_string(static_cast<int>(buf[1]))
                     + " is shorter than its own header");
  return size_t{buf[1]};
}

caf::expected<connection_request>
parse_connection_request(std::span<const uint8_t> tpkt) {
  byte_reader r{tpkt};
  if (r.u8() != 0x03)
    return malformed("X.224 Connection Request: not a TPKT");
  r.skip(1);
  if (r.u16be() != tpkt.size())
    return malformed("X.224 Connection Request: TPKT length mismatch");
  uint8_t li = r.u8();
  if (!r.ok() || li + 5u != tpkt.size() || li < 6)
    return malformed("X.224 Connection Request: length indicator "
                     + std::to_string(li) + " does not match the TPKT");
  if ((r.u8() & 0xF0) != x224_cr)
    return malformed("X.224 Connection Request: wrong TPDU code");
  r.skip(5); // dst-ref, src-ref, class
  auto rest = r.rest();
  connection_request cr;
  size_t pos = 0;
  static constexpr char cookie[] = "Cookie: ";
  if (rest.size() >= 8
      && std::memcmp(rest.data(), cookie, sizeof(cookie) - 1) == 0) {
    size_t end = 8;
    while (end + 1 < rest.size()
           && !(rest[end] == '\r' && rest[end + 1] == '\n'))
      ++end;
    if (end + 1 >= rest.size())
      return malformed("X.224 Connection Request: cookie without CR LF");
    cr.cookie.assign(reinterpret_cast<const char*>(rest.data()) + 8, end - 8);
    pos = end + 2;
  }
  if (rest.size() - pos >= 8 && rest[pos] == 0x01) {
    byte_reader n{rest.subspan(pos, 8)};
    n.skip(1);
    cr.neg_flags = n.u8();
    if (n.u16le() != 8)
      return malformed("RDP_NEG_REQ: length is not 8");
    cr.has_neg_req = true;
    cr.requested_protocols = n.u32le();
  }
  return cr;
}

negotiation_result negotiate(const connection_request& cr, bool tls_available,
                             bool rdp_allowed) {
  negotiation_result res;
  uint32_t req = cr.has_neg_req ? cr.requested_protocols : 0;
  if (req & protocol_ssl) {
    if (tls_available) {
      res.selected = protocol_ssl;
      return res;
    }
    res.ok = false;
    res.failure = neg_failure::ssl_not_allowed_by_server;
    return res;
  }
  if (req != 0) {
    // HYBRID (NLA) or RDSTLS without SSL: we do neither.
    res.ok = false;
    res.failure = tls_available ? neg_failure::ssl_required_by_server
                                : neg_failure::ssl_not_allowed_by_server;
    return res;
  }
  if (!rdp_allowed) {
    res.ok = false;
    res.failure = neg_failure::ssl_required_by_server;
    return res;
  }
  res.selected = protocol_rdp;
  return res;
}

std::vector<uint8_t> build_connection_confirm(const connection_request& cr,
                                              const negotiation_result& res) {
  byte_writer w;
  w.u8(0x03);
  w.u8(0);
  w.u16be(0); // patched
  w.u8(cr.has_neg_req ? 14 : 6);
  w.u8(x224_cc);
  w.u16be(0);      // dst-ref
  w.u16be(0x1234); // src-ref
  w.u8(0);         // class 0
  if (cr.has_neg_req) {
    w.u8(res.ok ? 0x02 : 0x03);
    w.u8(res.ok ? 0x01 : 0x00); // EXTENDED_CLIENT_DATA_SUPPORTED
    w.u16le(8);
    w.u32le(res.ok ? res.selected : static_cast<uint32_t>(res.failure));
  }
  w.patch_u16be(2, static_cast<uint16_t>(w.size()));
  return std::move(w.buffer());
}

caf::expected<std::span<const uint8_t>>
parse_x224_data(std::span<const uint8_t> tpkt) {
  byte_reader r{tpkt};
  if (r.u8() != 0x03)
    return malformed("X.224 Data: not a TPKT");
  r.skip(1);
  if (r.u16be() != tpkt.size())
    return malformed("X.224 Data: TPKT length mismatch");
  uint8_t li = r.u8();
  uint8_t code = r.u8();
  uint8_t eot = r.u8();
  if (!r.ok() || li != 2 || code != x224_dt || eot != 0x80)
    return malformed("X.224 Data: header is not 02 F0 80");
  return r.rest();
}

std::vector<uint8_t> wrap_x224_data(std::span<const uint8_t> payload) {
  byte_writer w;
  w.u8(0x03);
  w.u8(0);
  w.u16be(static_cast<uint16_t>(payload.size() + 7));
  w.u8(2);
  w.u8(x224_dt);
  w.u8(0x80);
  w.bytes(payload);
  return std::move(w.buffer());
}

} // namespace tb::display::rdp
