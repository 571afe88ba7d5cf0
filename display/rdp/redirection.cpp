#include "display/rdp/redirection.hpp"

#include "display/rdp/byte_io.hpp"
#include "display/rdp/share.hpp"

namespace tb::display::rdp {

namespace {

constexpr uint16_t sec_redirection_pkt = 0x0400;

/// Decodes one UTF-8 sequence at s[i]; advances i. U+FFFD when invalid.
uint32_t next_code_point(const std::string& s, size_t& i) {
  auto b = static_cast<uint8_t>(s[i++]);
  if (b < 0x80)
    return b;
  int extra = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : b >= 0xC0 ? 1 : -1;
  if (extra < 0 || b >= 0xF8)
    return 0xFFFD;
  uint32_t cp = b & (0x3F >> extra);
  for (int k = 0; k < extra; ++k) {
    if (i >= s.size() || (static_cast<uint8_t>(s[i]) & 0xC0) != 0x80)
      return 0xFFFD;
    cp = (cp << 6) | (static_cast<uint8_t>(s[i++]) & 0x3F);
  }
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0xFFFD;
  return cp;
}

void field(byte_writer& w, std::span<const uint8_t> data) {
  w.u32le(static_cast<uint32_t>(data.size()));
  w.bytes(data);
}

} // namespace

std::vector<uint8_t> utf16le_z(const std::string& utf8) {
  byte_writer w;
  for (size_t i = 0; i < utf8.size();) {
    uint32_t cp = next_code_point(utf8, i);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      w.u16le(static_cast<uint16_t>(0xD800 | (cp >> 10)));
      w.u16le(static_cast<uint16_t>(0xDC00 | (cp & 0x3FF)));
    } else {
      w.u16le(static_cast<uint16_t>(cp));
    }
  }
  w.u16le(0);
  return std::move(w.buffer());
}

std::vector<uint8_t> build_redirection_packet(const redirection_target& t) {
  uint32_t flags = 0;
  if (!t.address.empty())
    flags |= lb_target_net_address;
  if (!t.username.empty())
    flags |= lb_username;
  if (!t.domain.empty())
    flags |= lb_domain;
  if (!t.password.empty())
    flags |= lb_password;
  byte_writer w;
  w.u16le(sec_redirection_pkt);
  w.u16le(0); // length, patched below
  w.u32le(t.session_id);
  w.u32le(flags);
  // The order MS-RDPBCGR gives and FreeRDP reads.
  if (flags & lb_target_net_address)
    field(w, utf16le_z(t.address));
  if (flags & lb_username)
    field(w, utf16le_z(t.username));
  if (flags & lb_domain)
    field(w, utf16le_z(t.domain));
  if (flags & lb_password)
    field(w, t.password);
  w.zeros(8); // pad
  w.patch_u16le(2, static_cast<uint16_t>(w.size()));
  return std::move(w.buffer());
}

std::vector<uint8_t> build_enhanced_redirection_pdu(const redirection_target& t,
                                                    uint16_t source) {
  byte_writer body;
  body.u16le(0); // pad2Octets
  body.bytes(build_redirection_packet(t));
  body.u8(0); // pad1Octet
  return build_share_control(pdu_type::server_redirection, source,
                             body.buffer());
}

} // namespace tb::display::rdp
