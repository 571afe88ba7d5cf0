// The RDP security header on slow-path PDUs and the fast-path encryption
// framing (MS-RDPBCGR 2.2.8.1.1.2, 2.2.9.1.2): one object per session so
// every encryption happens in one serialized place.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <caf/expected.hpp>

#include "display/rdp/rdp_security.hpp"

namespace tb::display::rdp {

/// Security header flags.
enum sec_flags : uint16_t {
  sec_exchange_pkt = 0x0001,
  sec_encrypt = 0x0008,
  sec_info_pkt = 0x0040,
  sec_license_pkt = 0x0080,
  sec_license_encrypt_sc = 0x0200,
  sec_secure_checksum = 0x0800,
};

/// An inbound slow-path payload after the security layer.
struct sec_pdu {
  uint16_t flags = 0;
  std::vector<uint8_t> data; ///< decrypted
};

class sec_layer {
public:
  /// Standard RDP Security with keys, or none (TLS / no encryption).
  void set_keys(session_keys keys) { keys_.emplace(std::move(keys)); }
  bool encrypting() const { return keys_.has_value(); }
  /// Packets encrypted (server to client) and decrypted so far.
  uint32_t packets_out() const { return keys_ ? keys_->encrypt.packets() : 0; }
  uint32_t packets_in() const { return keys_ ? keys_->decrypt.packets() : 0; }
  /// Whether the basic security header is present on every slow-path PDU
  /// (Standard RDP Security); under TLS only info and licensing PDUs have it.
  void set_standard_security(bool on) { standard_ = on; }
  bool standard_security() const { return standard_; }

  /// Parses the security header of a client slow-path payload, decrypting
  /// and verifying the MAC when SEC_ENCRYPT is set. has_header false means
  /// the PDU carries none (TLS, non-info PDUs).
  caf::expected<sec_pdu> unwrap(std::span<const uint8_t> payload,
                                bool has_header);

  /// Wraps a server slow-path payload: security header (+MAC, encrypted)
  /// under Standard RDP Security, extra_flags added (license, ...).
  /// may_encrypt false sends in the clear (licensing when the client did
  /// not ask for SEC_LICENSE_ENCRYPT_SC).
  std::vector<uint8_t> wrap(std::span<const uint8_t> data,
                            uint16_t extra_flags = 0, bool may_encrypt = true);

  /// A complete fast-path output PDU around the update bytes.
  std::vector<uint8_t> wrap_fastpath(std::span<const uint8_t> updates);

  /// Decrypts a fast-path input PDU body (after its length field) in
  /// place when encrypted is set; mac is the 8-byte signature.
  caf::error unwrap_fastpath(std::span<uint8_t> body,
                             std::span<const uint8_t> mac, bool salted);

private:
  std::optional<session_keys> keys_;
  bool standard_ = false;
};

} // namespace tb::display::rdp
