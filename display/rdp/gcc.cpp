#include "display/rdp/gcc.hpp"

#include "display/rdp/byte_io.hpp"
#include "display/rdp/errors.hpp"
#include "display/rdp/mcs.hpp"

namespace tb::display::rdp {

namespace {

constexpr uint8_t t124_oid[] = {0x00, 0x05, 0x00, 0x14, 0x7C, 0x00, 0x01};

caf::error malformed(std::string what) {
  return make_rdp_error(rdp_errc::malformed_pdu, "GCC " + std::move(what));
}

/// Reads a PER length (1 or 2 bytes).
size_t per_length(byte_reader& r) {
  size_t len = r.u8();
  if (len & 0x80)
    len = ((len & 0x7F) << 8) | r.u8();
  return len;
}

void parse_core(byte_reader r, client_data& cd) {
  cd.version = r.u32le();
  cd.desktop_width = r.u16le();
  cd.desktop_height = r.u16le();
  r.skip(2); // colorDepth (legacy)
  r.skip(2); // SASSequence
  cd.keyboard_layout = r.u32le();
  cd.client_build = r.u32le();
  auto name = r.bytes(32);
  cd.client_name = utf16le_to_utf8(name);
  if (auto z = cd.client_name.find('\0'); z != std::string::npos)
    cd.client_name.resize(z);
  cd.keyboard_type = r.u32le();
  r.skip(4 + 4 + 64); // subtype, function keys, imeFileName
  if (!r.ok())
    return;
  // Optional trailing fields: each present only when the block is long enough.
  if (r.remaining() >= 2)
    cd.post_beta2_color_depth = r.u16le();
  if (r.remaining() >= 2)
    r.skip(2); // clientProductId
  if (r.remaining() >= 4)
    r.skip(4); // serialNumber
  if (r.remaining() >= 2)
    cd.high_color_depth = r.u16le();
  if (r.remaining() >= 2)
    cd.supported_color_depths = r.u16le();
  if (r.remaining() >= 2)
    cd.early_capability_flags = r.u16le();
}

} // namespace

uint16_t client_data::session_bpp() const {
  if (early_capability_flags & 0x0002 && supported_color_depths & rns_32bpp)
    return 32; // RNS_UD_CS_WANT_32BPP_SESSION
  switch (high_color_depth) {
  case 15:
  case 16:
  case 24:
    return high_color_depth;
  case 8:
    return 16; // we do not do palettes; every client we target has 16
  default:
    break;
  }
  if (post_beta2_color_depth == 0xCA02)
    return 15;
  if (post_beta2_color_depth == 0xCA03)
    return 16;
  if (post_beta2_color_depth == 0xCA04)
    return 24;
  return 16;
}

caf::expected<client_data>
parse_conference_create_request(std::span<const uint8_t> gcc) {
  byte_reader r{gcc};
  auto oid = r.bytes(sizeof(t124_oid));
  if (!r.ok() || std::memcmp(oid.data(), t124_oid, sizeof(t124_oid)) != 0)
    return malformed("Conference Create Request: not a T.124 ConnectData");
  per_length(r);
  // ConnectGCCPDU header up to the H.221 key "Duca": its PER form has a few
  // fixed-value fields; find the key in the next bytes instead of decoding
  // every optional field.
  size_t head_start = r.position();
  auto head = r.bytes(std::min<size_t>(r.remaining(), 16));
  size_t key = 0;
  while (key + 4 <= head.size()
         && std::memcmp(head.data() + key, "Duca", 4) != 0)
    ++key;
  if (key + 4 > head.size())
    return malformed("Conference Create Request: no client H.221 key");
  byte_reader u{gcc.subspan(head_start + key + 4)};
  size_t len = per_length(u);
  auto blocks = u.bytes(len);
  if (!u.ok())
    return malformed("Conference Create Request: user data length "
                     + std::to_string(len) + " exceeds the PDU");
  client_data cd;
  byte_reader b{blocks};
  bool have_core = false;
  while (b.remaining() >= 4) {
    uint16_t type = b.u16le();
    uint16_t blen = b.u16le();
    if (blen < 4 || blen - 4u > b.remaining())
      return malformed("client data block " + std::to_string(type) + ": length "
                       + std::to_string(blen) + " exceeds the user data");
    byte_reader blk{b.bytes(blen - 4u)};
    switch (type) {
    case 0xC001:
      parse_core(blk, cd);
      have_core = true;
      break;
    case 0xC002:
      cd.encryption_methods = blk.u32le();
      cd.ext_encryption_methods = blk.u32le();
      break;
    case 0xC003: {
      uint32_t n = blk.u32le();
      if (n > 31 || !blk.need(n * 12u))
        return malformed("CS_NET: channel count " + std::to_string(n)
                         + " is impossible");
      for (uint32_t i = 0; i < n; ++i) {
        auto nm = blk.bytes(8);
        static_channel ch;
        ch.name.assign(reinterpret_cast<const char*>(nm.data()), 8);
        if (auto z = ch.name.find('\0'); z != std::string::npos)
          ch.name.resize(z);
        ch.options = blk.u32le();
        cd.channels.push_back(std::move(ch));
      }
      break;
    }
    case 0xC004:
      cd.cluster_flags = blk.u32le();
      break;
    default:
      break; // monitor, message channel, ...: not needed
    }
  }
  if (!have_core)
    return malformed("Conference Create Request: no CS_CORE block");
  if (cd.desktop_width == 0 || cd.desktop_height == 0)
    return malformed("CS_CORE: zero desktop size");
  return cd;
}

std::vector<uint8_t> build_conference_create_response(const server_data& sd) {
  byte_writer ud;
  // SC_CORE
  ud.u16le(0x0C01);
  ud.u16le(16);
  ud.u32le(0x00080004);
  ud.u32le(sd.requested_protocols);
  ud.u32le(0); // earlyCapabilityFlags
  // SC_NET
  size_t n = sd.channel_ids.size();
  ud.u16le(0x0C03);
  ud.u16le(static_cast<uint16_t>(8 + 2 * n + ((n % 2) ? 2 : 0)));
  ud.u16le(mcs_io_channel);
  ud.u16le(static_cast<uint16_t>(n));
  for (uint16_t id : sd.channel_ids)
    ud.u16le(id);
  if (n % 2)
    ud.u16le(0);

  // SC_SECURITY last: rdesktop 1.9 parses the certificate up to the end
  // of the user data, not of the block.
  // SC_SECURITY
  size_t sec_at = ud.size();
  ud.u16le(0x0C02);
  ud.u16le(0); // patched
  ud.u32le(sd.encryption_method);
  ud.u32le(sd.encryption_level);
  if (sd.encryption_method != 0) {
    ud.u32le(static_cast<uint32_t>(sd.server_random.size()));
    ud.u32le(static_cast<uint32_t>(sd.server_certificate.size()));
    ud.bytes(sd.server_random);
    ud.bytes(sd.server_certificate);
  }
  ud.patch_u16le(sec_at + 2, static_cast<uint16_t>(ud.size() - sec_at));
  byte_writer w;
  w.bytes(std::span<const uint8_t>{t124_oid});
  byte_writer pdu;
  pdu.u8(0x14);      // conferenceCreateResponse
  pdu.u16be(0x760A); // nodeID 0x79F3 - 1001
  pdu.u8(1);         // tag
  pdu.u8(1);
  pdu.u8(0);    // result success
  pdu.u8(1);    // one user data set
  pdu.u8(0xC0); // h221NonStandard
  pdu.u8(0);    // key length 4
  pdu.bytes("McDn", 4);
  pdu.u16be(static_cast<uint16_t>(0x8000 | ud.size()));
  pdu.bytes(ud.buffer());
  // ConnectData::connectPDU length: Windows writes the fixed byte 0x2A
  // whatever follows, and rdesktop skips exactly 21 header bytes, so a
  // correct two-byte PER length would break it; FreeRDP ignores the value.
  w.u8(0x2A);
  w.bytes(pdu.buffer());
  return std::move(w.buffer());
}

} // namespace tb::display::rdp
