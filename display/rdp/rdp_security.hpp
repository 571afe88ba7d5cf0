// Standard RDP Security (MS-RDPBCGR 5.3): the server's RSA key and
// proprietary certificate, session key derivation, RC4 with MACs and the
// key update every 4096 packets.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <caf/expected.hpp>

namespace tb::display::rdp {

/// The server's RSA key for the Security Exchange. Generated once per
/// server; shared read-only by its sessions.
class rsa_server_key {
public:
  /// A fresh key (512 bits is what clients expect; 64..256 byte moduli work).
  static caf::expected<std::shared_ptr<const rsa_server_key>>
  generate(int bits = 512);

  ~rsa_server_key();
  rsa_server_key(const rsa_server_key&) = delete;
  rsa_server_key& operator=(const rsa_server_key&) = delete;

  /// Proprietary certificate (5.3.3.1) signed with the Terminal Services
  /// signing key.
  const std::vector<uint8_t>& certificate() const { return certificate_; }
  size_t modulus_bytes() const { return modulus_le_.size(); }

  /// Decrypts the Security Exchange's encrypted client random (little
  /// endian, modulus size + optional 8 zero bytes); returns 32 bytes.
  caf::expected<std::array<uint8_t, 32>>
  decrypt_client_random(std::span<const uint8_t> encrypted) const;

private:
  struct impl;
  explicit rsa_server_key(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
  std::vector<uint8_t> modulus_le_;
  std::vector<uint8_t> certificate_;
};

/// Little-endian modular exponentiation used for the TS signature:
/// returns m^e mod n as len bytes, all values little-endian.
std::vector<uint8_t> rsa_le_modexp(std::span<const uint8_t> m,
                                   std::span<const uint8_t> e,
                                   std::span<const uint8_t> n, size_t len);

/// One direction of RC4 with its MAC key and update logic.
class rc4_stream {
public:
  rc4_stream(std::span<const uint8_t> key, std::span<const uint8_t> mac_key,
             uint32_t method);
  ~rc4_stream();
  rc4_stream(rc4_stream&&) noexcept;
  rc4_stream& operator=(rc4_stream&&) noexcept;

  /// 8-byte MAC of plaintext. The salted form adds count, the number of
  /// packets this direction had processed before this one.
  std::array<uint8_t, 8> mac(std::span<const uint8_t> data, bool salted,
                             uint32_t count) const;
  /// Encrypts or decrypts in place, updating the key every 4096 packets.
  void apply(std::span<uint8_t> data);
  uint32_t packets() const { return total_; }

private:
  void update_key();
  struct impl;
  std::unique_ptr<impl> impl_;
  uint32_t total_ = 0;
};

/// Both directions of a session's Standard RDP Security.
struct session_keys {
  rc4_stream encrypt; ///< server -> client
  rc4_stream decrypt; ///< client -> server
};

/// Derives session keys (5.3.5.1) for 40, 56 or 128-bit RC4.
caf::expected<session_keys>
derive_session_keys(std::span<const uint8_t> client_random,
                    std::span<const uint8_t> server_random, uint32_t method);

/// Picks the encryption method from the client's offer (prefers 128-bit).
/// 0 when no non-FIPS method is offered.
uint32_t choose_encryption_method(uint32_t offered, uint32_t ext_offered);

} // namespace tb::display::rdp

namespace tb::display::rdp {
/// Cryptographically random bytes (BoringSSL RAND_bytes).
void random_bytes(std::span<uint8_t> out);
} // namespace tb::display::rdp
