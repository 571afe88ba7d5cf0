#include "display/rdp/mcs.hpp"

#include "display/rdp/byte_io.hpp"
#include "display/rdp/errors.hpp"

namespace tb::display::rdp {

namespace {

caf::error malformed(std::string what) {
  return make_rdp_error(rdp_errc::malformed_pdu, "MCS " + std::move(what));
}

/// BER length; fails on forms longer than 2 bytes.
size_t ber_length(byte_reader& r) {
  uint8_t b = r.u8();
  if (b < 0x80)
    return b;
  if (b == 0x81)
    return r.u8();
  if (b == 0x82)
    return r.u16be();
  r.fail();
  return 0;
}

/// Skips one BER TLV with the expected tag, returning its value.
std::span<const uint8_t> ber_tlv(byte_reader& r, uint8_t tag) {
  if (r.u8() != tag) {
    r.fail();
    return {};
  }
  return r.bytes(ber_length(r));
}

void ber_write_length(byte_writer& w, size_t n) {
  if (n < 0x80) {
    w.u8(static_cast<uint8_t>(n));
  } else if (n < 0x100) {
    w.u8(0x81);
    w.u8(static_cast<uint8_t>(n));
  } else {
    w.u8(0x82);
    w.u16be(static_cast<uint16_t>(n));
  }
}

void ber_write_integer(byte_writer& w, uint32_t v) {
  w.u8(0x02);
  if (v < 0x80) {
    w.u8(1);
    w.u8(static_cast<uint8_t>(v));
  } else if (v < 0x8000) {
    w.u8(2);
    w.u16be(static_cast<uint16_t>(v));
  } else {
    w.u8(3);
    w.u8(static_cast<uint8_t>(v >> 16));
    w.u16be(static_cast<uint16_t>(v));
  }
}

std::vector<uint8_t> domain_parameters() {
  byte_writer w;
  for (uint32_t v : {22u, 3u, 0u, 1u, 0u, 1u, 0xFFF8u, 2u})
    ber_write_integer(w, v);
  return std::move(w.buffer());
}

} // namespace

caf::expected<std::span<const uint8_t>>
parse_connect_initial(std::span<const uint8_t> mcs) {
  byte_reader r{mcs};
  if (r.u8() != 0x7F || r.u8() != 0x65)
    return malformed("Connect-Initial: wrong application tag");
  auto body = r.bytes(ber_length(r));
  if (!r.ok() || r.remaining() != 0)
    return malformed("Connect-Initial: length does not match the PDU");
  byte_reader b{body};
  ber_tlv(b, 0x04); // callingDomainSelector
  ber_tlv(b, 0x04); // calledDomainSelector
  ber_tlv(b, 0x01); // upwardFlag
  ber_tlv(b, 0x30); // targetParameters
  ber_tlv(b, 0x30); // minimumParameters
  ber_tlv(b, 0x30); // maximumParameters
  auto user_data = ber_tlv(b, 0x04);
  if (!b.ok())
    return malformed("Connect-Initial: truncated or misordered fields");
  return user_data;
}

std::vector<uint8_t> build_connect_response(std::span<const uint8_t> gcc) {
  byte_writer body;
  body.u8(0x0A); // result: rt-successful
  body.u8(1);
  body.u8(0);
  ber_write_integer(body, 0); // calledConnectId
  auto params = domain_parameters();
  body.u8(0x30);
  ber_write_length(body, params.size());
  body.bytes(params);
  body.u8(0x04);
  ber_write_length(body, gcc.size());
  body.bytes(gcc);
  byte_writer w;
  w.u8(0x7F);
  w.u8(0x66);
  ber_write_length(w, body.size());
  w.bytes(body.buffer());
  return std::move(w.buffer());
}

caf::expected<mcs_domain_pdu> parse_domain_pdu(std::span<const uint8_t> mcs) {
  byte_reader r{mcs};
  uint8_t first = r.u8();
  if (!r.ok())
    return malformed("domain PDU: empty");
  mcs_domain_pdu p;
  p.type = static_cast<mcs_pdu>(first >> 2);
  switch (p.type) {
  case mcs_pdu::erect_domain_request:
  case mcs_pdu::attach_user_request:
    return p;
  case mcs_pdu::disconnect_provider_ultimatum:
    p.reason = static_cast<uint8_t>(((first & 1) << 1) | (r.u8() >> 7));
    return p;
  case mcs_pdu::channel_join_request:
    p.initiator = r.u16be() + mcs_base_channel;
    p.channel_id = r.u16be();
    if (!r.ok())
      return malformed("Channel Join Request: truncated");
    return p;
  case mcs_pdu::send_data_request: {
    p.initiator = r.u16be() + mcs_base_channel;
    p.channel_id = r.u16be();
    r.skip(1); // dataPriority + segmentation
    size_t len = r.u8();
    if (len & 0x80)
      len = ((len & 0x3F) << 8) | r.u8();
    p.data = r.bytes(len);
    if (!r.ok())
      return malformed("Send Data Request: truncated");
    if (r.remaining() != 0)
      return malformed("Send Data Request: " + std::to_string(r.remaining())
                       + " trailing bytes after the user data");
    return p;
  }
  default:
    return make_rdp_error(rdp_errc::unsupported,
                          "MCS domain PDU choice "
                              + std::to_string(static_cast<int>(p.type))
                              + " is not handled by the server");
  }
}

std::vector<uint8_t> build_attach_user_confirm(uint16_t user_channel) {
  byte_writer w;
  w.u8(0x2E);
  w.u8(0x00);
  w.u16be(user_channel - mcs_base_channel);
  return std::move(w.buffer());
}

std::vector<uint8_t> build_channel_join_confirm(uint16_t user_channel,
                                                uint16_t channel, bool ok) {
  byte_writer w;
  w.u8(0x3E);
  w.u8(ok ? 0 : 14); // rt-successful / rt-no-such-channel
  w.u16be(user_channel - mcs_base_channel);
  w.u16be(channel);
  w.u16be(channel);
  return std::move(w.buffer());
}

std::vector<uint8_t> build_send_data_indication(uint16_t user_channel,
                                                uint16_t channel,
                                                std::span<const uint8_t> data) {
  byte_writer w;
  w.u8(0x68);
  w.u16be(user_channel - mcs_base_channel);
  w.u16be(channel);
  w.u8(0x70);
  if (data.size() < 0x80)
    w.u8(static_cast<uint8_t>(data.size()));
  else
    w.u16be(static_cast<uint16_t>(0x8000 | data.size()));
  w.bytes(data);
  return std::move(w.buffer());
}

std::vector<uint8_t> build_disconnect_ultimatum(uint8_t reason) {
  byte_writer w;
  w.u8(static_cast<uint8_t>(0x20 | ((reason >> 1) & 1)));
  w.u8(static_cast<uint8_t>((reason & 1) << 7));
  return std::move(w.buffer());
}

} // namespace tb::display::rdp
