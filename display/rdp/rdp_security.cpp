// Session keys, RC4 and MACs of Standard RDP Security (MS-RDPBCGR 5.3.5 -
// 5.3.7).
#include "display/rdp/rdp_security.hpp"

#include <cstring>

#include <openssl/md5.h>
#include <openssl/rc4.h>
#include <openssl/sha.h>

#include "display/rdp/errors.hpp"
#include "display/rdp/gcc.hpp"

namespace tb::display::rdp {

namespace {

using bytes = std::vector<uint8_t>;

const uint8_t pad1[40] = {0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36,
                          0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36,
                          0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36,
                          0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36,
                          0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36};
const uint8_t pad2[48] = {
    0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c,
    0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c,
    0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c,
    0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c, 0x5c};

/// SaltedHash(S, I) = MD5(S + SHA1(I + S + ClientRandom + ServerRandom)).
bytes salted_hash(std::span<const uint8_t> s, std::span<const uint8_t> i,
                  std::span<const uint8_t> cr, std::span<const uint8_t> sr) {
  uint8_t sha[SHA_DIGEST_LENGTH];
  SHA_CTX sc;
  SHA1_Init(&sc);
  SHA1_Update(&sc, i.data(), i.size());
  SHA1_Update(&sc, s.data(), s.size());
  SHA1_Update(&sc, cr.data(), cr.size());
  SHA1_Update(&sc, sr.data(), sr.size());
  SHA1_Final(sha, &sc);
  bytes out(MD5_DIGEST_LENGTH);
  MD5_CTX mc;
  MD5_Init(&mc);
  MD5_Update(&mc, s.data(), s.size());
  MD5_Update(&mc, sha, sizeof(sha));
  MD5_Final(out.data(), &mc);
  return out;
}

/// Three salted hashes with "A","BB","CCC" style labels, concatenated.
bytes triple_hash(std::span<const uint8_t> secret, uint8_t label,
                  std::span<const uint8_t> cr, std::span<const uint8_t> sr) {
  bytes out;
  for (int n = 1; n <= 3; ++n) {
    bytes lbl(n, static_cast<uint8_t>(label + n - 1));
    auto h = salted_hash(secret, lbl, cr, sr);
    out.insert(out.end(), h.begin(), h.end());
  }
  return out;
}

bytes final_hash(std::span<const uint8_t> k, std::span<const uint8_t> cr,
                 std::span<const uint8_t> sr) {
  bytes out(MD5_DIGEST_LENGTH);
  MD5_CTX mc;
  MD5_Init(&mc);
  MD5_Update(&mc, k.data(), k.size());
  MD5_Update(&mc, cr.data(), cr.size());
  MD5_Update(&mc, sr.data(), sr.size());
  MD5_Final(out.data(), &mc);
  return out;
}

/// Reduces a 128-bit key to 40 or 56 bits (5.3.5.1); 8 bytes then.
bytes salt_key(bytes k, uint32_t method) {
  if (method == encryption_128bit)
    return k;
  k.resize(8);
  if (method == encryption_40bit) {
    k[0] = 0xD1;
    k[1] = 0x26;
    k[2] = 0x9E;
  } else {
    k[0] = 0xD1;
  }
  return k;
}

} // namespace

struct rc4_stream::impl {
  RC4_KEY state;
  bytes initial_key;
  bytes current_key;
  bytes mac_key;
  uint32_t method = 0;
  uint32_t since_update = 0;
};

rc4_stream::rc4_stream(std::span<const uint8_t> key,
                       std::span<const uint8_t> mac_key, uint32_t method)
    : impl_(std::make_unique<impl>()) {
  impl_->initial_key.assign(key.begin(), key.end());
  impl_->current_key = impl_->initial_key;
  impl_->mac_key.assign(mac_key.begin(), mac_key.end());
  impl_->method = method;
  RC4_set_key(&impl_->state, key.size(), key.data());
}

rc4_stream::~rc4_stream() = default;
rc4_stream::rc4_stream(rc4_stream&&) noexcept = default;
rc4_stream& rc4_stream::operator=(rc4_stream&&) noexcept = default;

std::array<uint8_t, 8> rc4_stream::mac(std::span<const uint8_t> data,
                                       bool salted, uint32_t count) const {
  uint8_t len[4];
  uint32_t n = static_cast<uint32_t>(data.size());
  std::memcpy(len, &n, 4); // little endian host (x86-64 only build)
  uint8_t sha[SHA_DIGEST_LENGTH];
  SHA_CTX sc;
  SHA1_Init(&sc);
  SHA1_Update(&sc, impl_->mac_key.data(), impl_->mac_key.size());
  SHA1_Update(&sc, pad1, sizeof(pad1));
  SHA1_Update(&sc, len, 4);
  SHA1_Update(&sc, data.data(), data.size());
  if (salted) {
    uint8_t cnt[4];
    std::memcpy(cnt, &count, 4);
    SHA1_Update(&sc, cnt, 4);
  }
  SHA1_Final(sha, &sc);
  uint8_t md5[MD5_DIGEST_LENGTH];
  MD5_CTX mc;
  MD5_Init(&mc);
  MD5_Update(&mc, impl_->mac_key.data(), impl_->mac_key.size());
  MD5_Update(&mc, pad2, sizeof(pad2));
  MD5_Update(&mc, sha, sizeof(sha));
  MD5_Final(md5, &mc);
  std::array<uint8_t, 8> out;
  std::memcpy(out.data(), md5, 8);
  return out;
}

void rc4_stream::update_key() {
  auto& k = *impl_;
  size_t klen = k.current_key.size();
  uint8_t sha[SHA_DIGEST_LENGTH];
  SHA_CTX sc;
  SHA1_Init(&sc);
  SHA1_Update(&sc, k.initial_key.data(), klen);
  SHA1_Update(&sc, pad1, sizeof(pad1));
  SHA1_Update(&sc, k.current_key.data(), klen);
  SHA1_Final(sha, &sc);
  uint8_t md5[MD5_DIGEST_LENGTH];
  MD5_CTX mc;
  MD5_Init(&mc);
  MD5_Update(&mc, k.initial_key.data(), klen);
  MD5_Update(&mc, pad2, sizeof(pad2));
  MD5_Update(&mc, sha, sizeof(sha));
  MD5_Final(md5, &mc);
  RC4_KEY tmp;
  RC4_set_key(&tmp, klen, md5);
  bytes next(klen);
  RC4(&tmp, klen, md5, next.data());
  next = salt_key(std::move(next), k.method);
  k.current_key = next;
  RC4_set_key(&k.state, klen, next.data());
}

void rc4_stream::apply(std::span<uint8_t> data) {
  if (impl_->since_update == 4096) {
    update_key();
    impl_->since_update = 0;
  }
  RC4(&impl_->state, data.size(), data.data(), data.data());
  ++impl_->since_update;
  ++total_;
}

caf::expected<session_keys> derive_session_keys(std::span<const uint8_t> cr,
                                                std::span<const uint8_t> sr,
                                                uint32_t method) {
  if (cr.size() != 32 || sr.size() != 32)
    return make_rdp_error(rdp_errc::crypto_failed,
                          "RDP session keys: randoms must be 32 bytes");
  if (method != encryption_40bit && method != encryption_56bit
      && method != encryption_128bit)
    return make_rdp_error(rdp_errc::unsupported,
                          "RDP session keys: encryption method "
                              + std::to_string(method) + " is not supported");
  bytes pre(48);
  std::memcpy(pre.data(), cr.data(), 24);
  std::memcpy(pre.data() + 24, sr.data(), 24);
  auto master = triple_hash(pre, 'A', cr, sr);
  auto blob = triple_hash(master, 'X', cr, sr);
  bytes mac_key(blob.begin(), blob.begin() + 16);
  auto enc = final_hash(std::span{blob}.subspan(16, 16), cr, sr);
  auto dec = final_hash(std::span{blob}.subspan(32, 16), cr, sr);
  mac_key = salt_key(std::move(mac_key), method);
  enc = salt_key(std::move(enc), method);
  dec = salt_key(std::move(dec), method);
  return session_keys{rc4_stream{enc, mac_key, method},
                      rc4_stream{dec, mac_key, method}};
}

uint32_t choose_encryption_method(uint32_t offered, uint32_t ext_offered) {
  uint32_t m = offered ? offered : ext_offered;
  if (m & encryption_128bit)
    return encryption_128bit;
  if (m & encryption_56bit)
    return encryption_56bit;
  if (m & encryption_40bit)
    return encryption_40bit;
  return 0;
}

} // namespace tb::display::rdp
