#include "display/rdp/sec_layer.hpp"

#include <algorithm>

#include "display/rdp/byte_io.hpp"
#include "display/rdp/errors.hpp"

namespace tb::display::rdp {

caf::expected<sec_pdu> sec_layer::unwrap(std::span<const uint8_t> payload,
                                         bool has_header) {
  sec_pdu out;
  if (!has_header) {
    out.data.assign(payload.begin(), payload.end());
    return out;
  }
  byte_reader r{payload};
  out.flags = r.u16le();
  r.skip(2); // flagsHi
  if (!r.ok())
    return make_rdp_error(rdp_errc::malformed_pdu,
                          "security header: PDU shorter than 4 bytes");
  if (!(out.flags & sec_encrypt)) {
    auto rest = r.rest();
    out.data.assign(rest.begin(), rest.end());
    return out;
  }
  auto mac = r.bytes(8);
  if (!r.ok())
    return make_rdp_error(rdp_errc::malformed_pdu,
                          "security header: encrypted PDU without a MAC");
  if (!keys_)
    return make_rdp_error(rdp_errc::protocol_violation,
                          "security header: encrypted PDU before the "
                          "Security Exchange");
  auto rest = r.rest();
  out.data.assign(rest.begin(), rest.end());
  if (auto err = unwrap_fastpath(out.data, mac,
                                 (out.flags & sec_secure_checksum) != 0))
    return err;
  return out;
}

caf::error sec_layer::unwrap_fastpath(std::span<uint8_t> body,
                                      std::span<const uint8_t> mac,
                                      bool salted) {
  if (!keys_)
    return make_rdp_error(rdp_errc::protocol_violation,
                          "encrypted PDU before the Security Exchange");
  uint32_t count = keys_->decrypt.packets();
  keys_->decrypt.apply(body);
  auto want = keys_->decrypt.mac(body, salted, count);
  if (!std::equal(want.begin(), want.end(), mac.begin(), mac.end()))
    return make_rdp_error(rdp_errc::crypto_failed,
                          "client PDU: MAC signature does not match "
                          "(wrong keys or corrupted stream)");
  return {};
}

std::vector<uint8_t> sec_layer::wrap(std::span<const uint8_t> data,
                                     uint16_t extra_flags, bool may_encrypt) {
  byte_writer w;
  if (!standard_ && !extra_flags) {
    w.bytes(data);
    return std::move(w.buffer());
  }
  bool enc = keys_.has_value() && standard_ && may_encrypt;
  w.u16le(static_cast<uint16_t>(extra_flags | (enc ? sec_encrypt : 0)));
  w.u16le(0);
  if (enc) {
    uint32_t count = keys_->encrypt.packets();
    auto mac = keys_->encrypt.mac(data, false, count);
    w.bytes(mac);
    size_t at = w.size();
    w.bytes(data);
    keys_->encrypt.apply(std::span{w.buffer()}.subspan(at));
  } else {
    w.bytes(data);
  }
  return std::move(w.buffer());
}

std::vector<uint8_t>
sec_layer::wrap_fastpath(std::span<const uint8_t> updates) {
  bool enc = keys_.has_value() && standard_;
  size_t len = 3 + (enc ? 8 : 0) + updates.size();
  byte_writer w;
  w.u8(enc ? 0x80 : 0x00); // action fast-path, FASTPATH_OUTPUT_ENCRYPTED
  w.u16be(static_cast<uint16_t>(0x8000 | len));
  if (enc) {
    uint32_t count = keys_->encrypt.packets();
    w.bytes(keys_->encrypt.mac(updates, false, count));
  }
  size_t at = w.size();
  w.bytes(updates);
  if (enc)
    keys_->encrypt.apply(std::span{w.buffer()}.subspan(at));
  return std::move(w.buffer());
}

} // namespace tb::display::rdp
