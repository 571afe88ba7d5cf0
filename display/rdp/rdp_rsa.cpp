// The server RSA key and its proprietary certificate.
#include <algorithm>

#include <openssl/bn.h>
#include <openssl/md5.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "display/rdp/byte_io.hpp"
#include "display/rdp/errors.hpp"
#include "display/rdp/rdp_security.hpp"

namespace tb::display::rdp {

namespace {

// Terminal Services signing key, published in MS-RDPBCGR 5.3.3.1.1 (little
// endian). Its private half is public; the signature only proves the
// certificate bytes were not mangled, which is all clients check.
constexpr uint8_t tssk_modulus[64] = {
    0x3d, 0x3a, 0x5e, 0xbd, 0x72, 0x43, 0x3e, 0xc9, 0x4d, 0xbb, 0xc1,
    0x1e, 0x4a, 0xba, 0x5f, 0xcb, 0x3e, 0x88, 0x20, 0x87, 0xef, 0xf5,
    0xc1, 0xe2, 0xd7, 0xb7, 0x6b, 0x9a, 0xf2, 0x52, 0x45, 0x95, 0xce,
    0x63, 0x65, 0x6b, 0x58, 0x3a, 0xfe, 0xef, 0x7c, 0xe7, 0xbf, 0xfe,
    0x3d, 0xf6, 0x5c, 0x7d, 0x6c, 0x5e, 0x06, 0x09, 0x1a, 0xf5, 0x61,
    0xbb, 0x20, 0x93, 0x09, 0x5f, 0x05, 0x6d, 0xea, 0x87};
constexpr uint8_t tssk_private_exponent[64] = {
    0x87, 0xa7, 0x19, 0x32, 0xda, 0x11, 0x87, 0x55, 0x58, 0x00, 0x16,
    0x16, 0x25, 0x65, 0x68, 0xf8, 0x24, 0x3e, 0xe6, 0xfa, 0xe9, 0x67,
    0x49, 0x94, 0xcf, 0x92, 0xcc, 0x33, 0x99, 0xe8, 0x08, 0x60, 0x17,
    0x9a, 0x12, 0x9f, 0x24, 0xdd, 0xb1, 0x24, 0x99, 0xc7, 0x3a, 0xb8,
    0x0a, 0x7b, 0x0d, 0xdd, 0x35, 0x07, 0x79, 0x17, 0x0b, 0x51, 0x9b,
    0xb3, 0xc7, 0x10, 0x01, 0x13, 0xe7, 0x3f, 0xf3, 0x5f};

struct bn_ptr {
  BIGNUM* p = BN_new();
  ~bn_ptr() { BN_free(p); }
};

BIGNUM* le_to_bn(std::span<const uint8_t> le, BIGNUM* out) {
  std::vector<uint8_t> be(le.rbegin(), le.rend());
  return BN_bin2bn(be.data(), be.size(), out);
}

std::vector<uint8_t> bn_to_le(const BIGNUM* bn, size_t len) {
  std::vector<uint8_t> be(len);
  if (!BN_bn2bin_padded(be.data(), len, bn))
    return {};
  return {be.rbegin(), be.rend()};
}

} // namespace

void random_bytes(std::span<uint8_t> out) {
  RAND_bytes(out.data(), out.size());
}

std::vector<uint8_t> rsa_le_modexp(std::span<const uint8_t> m,
                                   std::span<const uint8_t> e,
                                   std::span<const uint8_t> n, size_t len) {
  bn_ptr bm, be, bnn, res;
  BN_CTX* ctx = BN_CTX_new();
  le_to_bn(m, bm.p);
  le_to_bn(e, be.p);
  le_to_bn(n, bnn.p);
  std::vector<uint8_t> out;
  if (ctx && BN_mod_exp(res.p, bm.p, be.p, bnn.p, ctx))
    out = bn_to_le(res.p, len);
  BN_CTX_free(ctx);
  return out;
}

struct rsa_server_key::impl {
  RSA* rsa = nullptr;
  ~impl() { RSA_free(rsa); }
};

rsa_server_key::rsa_server_key(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
rsa_server_key::~rsa_server_key() = default;

caf::expected<std::shared_ptr<const rsa_server_key>>
rsa_server_key::generate(int bits) {
  auto p = std::make_unique<impl>();
  p->rsa = RSA_new();
  bn_ptr e;
  BN_set_word(e.p, 65537);
  if (!p->rsa || !RSA_generate_key_ex(p->rsa, bits, e.p, nullptr))
    return make_rdp_error(rdp_errc::crypto_failed,
                          "RDP server key: generating a " + std::to_string(bits)
                              + "-bit RSA key failed");
  std::shared_ptr<rsa_server_key> key{new rsa_server_key(std::move(p))};
  const BIGNUM* n = RSA_get0_n(key->impl_->rsa);
  size_t nbytes = BN_num_bytes(n);
  key->modulus_le_ = bn_to_le(n, nbytes);
  uint32_t exponent = 65537;

  byte_writer c;
  c.u32le(1);      // dwVersion: CERT_CHAIN_VERSION_1, permanent
  c.u32le(1);      // dwSigAlgId: RSA
  c.u32le(1);      // dwKeyAlgId: RSA
  c.u16le(0x0006); // BB_RSA_KEY_BLOB
  c.u16le(static_cast<uint16_t>(20 + nbytes + 8));
  c.u32le(0x31415352); // "RSA1"
  c.u32le(static_cast<uint32_t>(nbytes + 8));
  c.u32le(static_cast<uint32_t>(BN_num_bits(n)));
  c.u32le(static_cast<uint32_t>(nbytes - 1));
  c.u32le(exponent);
  c.bytes(key->modulus_le_);
  c.zeros(8);
  // Signature over everything so far (5.3.3.1.2).
  uint8_t block[64] = {};
  MD5(c.buffer().data(), c.size(), block);
  block[16] = 0x00;
  std::fill(block + 17, block + 62, 0xFF);
  block[62] = 0x01;
  auto sig = rsa_le_modexp(block, tssk_private_exponent, tssk_modulus, 64);
  if (sig.size() != 64)
    return make_rdp_error(rdp_errc::crypto_failed,
                          "RDP server certificate: signing failed");
  c.u16le(0x0008); // BB_RSA_SIGNATURE_BLOB
  c.u16le(72);
  c.bytes(sig);
  c.zeros(8);
  key->certificate_ = std::move(c.buffer());
  return std::shared_ptr<const rsa_server_key>{std::move(key)};
}

caf::expected<std::array<uint8_t, 32>>
rsa_server_key::decrypt_client_random(std::span<const uint8_t> enc) const {
  size_t n = modulus_le_.size();
  if (enc.size() != n && enc.size() != n + 8)
    return make_rdp_error(rdp_errc::malformed_pdu,
                          "Security Exchange: encrypted random of "
                              + std::to_string(enc.size()) + " bytes for a "
                              + std::to_string(n) + "-byte key");
  const BIGNUM* d = RSA_get0_d(impl_->rsa);
  auto d_le = bn_to_le(d, BN_num_bytes(d));
  auto plain = rsa_le_modexp(enc.first(n), d_le, modulus_le_, n);
  if (plain.size() != n)
    return make_rdp_error(rdp_errc::crypto_failed,
                          "Security Exchange: RSA decryption failed");
  std::array<uint8_t, 32> out{};
  std::copy_n(plain.begin(), 32, out.begin());
  return out;
}

} // namespace tb::display::rdp
