// Standard RDP Security: certificate signature, client random, RC4 + MAC
// streams across the 4096-packet key update.
#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "display/rdp/byte_io.hpp"
#include "display/rdp/gcc.hpp"
#include "display/rdp/rdp_security.hpp"

using namespace tb::display::rdp;

namespace {

// Terminal Services signing key, public half (MS-RDPBCGR 5.3.3.1.1).
const uint8_t tssk_modulus[64] = {
    0x3d, 0x3a, 0x5e, 0xbd, 0x72, 0x43, 0x3e, 0xc9, 0x4d, 0xbb, 0xc1,
    0x1e, 0x4a, 0xba, 0x5f, 0xcb, 0x3e, 0x88, 0x20, 0x87, 0xef, 0xf5,
    0xc1, 0xe2, 0xd7, 0xb7, 0x6b, 0x9a, 0xf2, 0x52, 0x45, 0x95, 0xce,
    0x63, 0x65, 0x6b, 0x58, 0x3a, 0xfe, 0xef, 0x7c, 0xe7, 0xbf, 0xfe,
    0x3d, 0xf6, 0x5c, 0x7d, 0x6c, 0x5e, 0x06, 0x09, 0x1a, 0xf5, 0x61,
    0xbb, 0x20, 0x93, 0x09, 0x5f, 0x05, 0x6d, 0xea, 0x87};
const uint8_t tssk_exponent[4] = {0x5b, 0x7b, 0x88, 0xc0};

struct parsed_cert {
  std::vector<uint8_t> signed_part, modulus, signature;
  uint32_t exponent = 0;
};

parsed_cert parse(const std::vector<uint8_t>& c) {
  parsed_cert p;
  byte_reader r{c};
  EXPECT_EQ(r.u32le(), 1u);
  EXPECT_EQ(r.u32le(), 1u);
  EXPECT_EQ(r.u32le(), 1u);
  EXPECT_EQ(r.u16le(), 6u);
  uint16_t blob = r.u16le();
  byte_reader k{r.bytes(blob)};
  EXPECT_EQ(k.u32le(), 0x31415352u);
  uint32_t keylen = k.u32le();
  k.skip(8);
  p.exponent = k.u32le();
  auto m = k.bytes(keylen - 8);
  p.modulus.assign(m.begin(), m.end());
  p.signed_part.assign(c.begin(), c.begin() + r.position());
  EXPECT_EQ(r.u16le(), 8u);
  EXPECT_EQ(r.u16le(), 72u);
  auto s = r.bytes(72);
  p.signature.assign(s.begin(), s.end());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return p;
}

} // namespace

TEST(rdp_security, certificate_is_signed_with_the_terminal_services_key) {
  auto key = rsa_server_key::generate(512);
  ASSERT_TRUE(key) << tb::error_text(key.error());
  auto p = parse((*key)->certificate());
  EXPECT_EQ(p.modulus.size(), 64u);
  EXPECT_EQ(p.exponent, 65537u);
  auto plain = rsa_le_modexp(std::span{p.signature}.first(64), tssk_exponent,
                             tssk_modulus, 64);
  ASSERT_EQ(plain.size(), 64u);
  // 16-byte MD5, 0x00, 0xFF..., 0x01 (5.3.3.1.2); the hash itself is
  // compared against an independent MD5 below via the layout only.
  EXPECT_EQ(plain[16], 0x00);
  for (int i = 17; i < 62; ++i)
    EXPECT_EQ(plain[i], 0xFF) << i;
  EXPECT_EQ(plain[62], 0x01);
  EXPECT_EQ(plain[63], 0x00);
  for (int i = 64; i < 72; ++i)
    EXPECT_EQ(p.signature[i], 0);
}

TEST(rdp_security, client_random_round_trips_through_the_server_key) {
  auto key = rsa_server_key::generate(512);
  ASSERT_TRUE(key);
  auto p = parse((*key)->certificate());
  std::vector<uint8_t> random(32);
  for (int i = 0; i < 32; ++i)
    random[i] = static_cast<uint8_t>(i * 7 + 1);
  uint8_t e[4] = {0x01, 0x00, 0x01, 0x00};
  auto enc = rsa_le_modexp(random, e, p.modulus, 64);
  enc.resize(72, 0); // 8 bytes of padding, as clients send it
  auto dec = (*key)->decrypt_client_random(enc);
  ASSERT_TRUE(dec) << tb::error_text(dec.error());
  EXPECT_TRUE(std::equal(random.begin(), random.end(), dec->begin()));
  enc.resize(10);
  EXPECT_FALSE((*key)->decrypt_client_random(enc));
}

TEST(rdp_security, rc4_streams_stay_in_step_across_key_updates) {
  std::vector<uint8_t> cr(32, 0x11), sr(32, 0x22);
  for (uint32_t method :
       {encryption_40bit, encryption_56bit, encryption_128bit}) {
    auto server = derive_session_keys(cr, sr, method);
    auto peer = derive_session_keys(cr, sr, method);
    ASSERT_TRUE(server && peer);
    for (int i = 0; i < 9000; ++i) {
      std::vector<uint8_t> plain(40, static_cast<uint8_t>(i));
      auto mac = server->encrypt.mac(plain, i % 2, server->encrypt.packets());
      auto wire = plain;
      server->encrypt.apply(wire);
      if (i == 0 || i == 4096 || i == 8192) {
        EXPECT_NE(wire, plain);
      }
      // The peer decrypts with the same key schedule (RC4 is symmetric).
      uint32_t count = peer->encrypt.packets();
      peer->encrypt.apply(wire);
      ASSERT_EQ(wire, plain) << "packet " << i << " method " << method;
      EXPECT_EQ(peer->encrypt.mac(wire, i % 2, count), mac);
    }
  }
  EXPECT_FALSE(derive_session_keys(cr, sr, encryption_fips));
  EXPECT_FALSE(
      derive_session_keys(std::vector<uint8_t>(5), sr, encryption_128bit));
}

TEST(rdp_security, 40_and_56_bit_keys_are_salted) {
  std::vector<uint8_t> cr(32, 0x33), sr(32, 0x44);
  auto k40 = derive_session_keys(cr, sr, encryption_40bit);
  auto k128 = derive_session_keys(cr, sr, encryption_128bit);
  ASSERT_TRUE(k40 && k128);
  std::vector<uint8_t> a(16, 0), b(16, 0);
  k40->encrypt.apply(a);
  k128->encrypt.apply(b);
  EXPECT_NE(a, b);
  EXPECT_EQ(choose_encryption_method(0x1B, 0), uint32_t{encryption_128bit});
  EXPECT_EQ(choose_encryption_method(0, 0x9), uint32_t{encryption_56bit});
  EXPECT_EQ(choose_encryption_method(0x10, 0), 0u);
}
