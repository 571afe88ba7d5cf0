// SHA-2 against FIPS 180-4 example values.
#include <string>

#include <gtest/gtest.h>

#include "settings/hash.hpp"

namespace tb::settings {
namespace {

TEST(hash, sha256_known_answers) {
  EXPECT_EQ(sha256_hex("secret"),
            "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b");
  EXPECT_EQ(sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(
      sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(hash, sha512_known_answers) {
  EXPECT_EQ(sha512_hex("abc"),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  EXPECT_EQ(sha512_hex(""),
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
            "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
  EXPECT_EQ(
      sha512_hex(
          "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
          "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
      "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
      "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");
  std::string million(1000000, 'a');
  EXPECT_EQ(sha512_hex(million),
            "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
            "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
}

TEST(hash, padding_boundaries_are_consistent) {
  // Lengths around the block and length-field edges must not crash and
  // must differ from each other.
  std::string last;
  for (size_t n : {55u, 56u, 63u, 64u, 111u, 112u, 127u, 128u}) {
    auto h = sha512_hex(std::string(n, 'x'));
    EXPECT_EQ(h.size(), 128u);
    EXPECT_NE(h, last);
    last = h;
    EXPECT_EQ(sha256_hex(std::string(n, 'x')).size(), 64u);
  }
}

TEST(hash, teleporter_form) {
  auto h = teleporter_password_hash("pw");
  EXPECT_EQ(h, "#SHA-512##" + sha512_hex("pw"));
  EXPECT_TRUE(is_teleporter_password_hash(h));
  EXPECT_FALSE(is_teleporter_password_hash("pw"));
}

} // namespace
} // namespace tb::settings
