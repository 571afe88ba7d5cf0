// SHA-2 (FIPS 180-4): SHA-512 and SHA-256, written from the standard.
#include <cstring>

#include "settings/hash.hpp"

namespace tb::settings {

namespace {

constexpr uint64_t k512[80] = {
    0x428a2f98d728ae22, 0x7137449123ef65cd, 0xb5c0fbcfec4d3b2f,
    0xe9b5dba58189dbbc, 0x3956c25bf348b538, 0x59f111f1b605d019,
    0x923f82a4af194f9b, 0xab1c5ed5da6d8118, 0xd807aa98a3030242,
    0x12835b0145706fbe, 0x243185be4ee4b28c, 0x550c7dc3d5ffb4e2,
    0x72be5d74f27b896f, 0x80deb1fe3b1696b1, 0x9bdc06a725c71235,
    0xc19bf174cf692694, 0xe49b69c19ef14ad2, 0xefbe4786384f25e3,
    0x0fc19dc68b8cd5b5, 0x240ca1cc77ac9c65, 0x2de92c6f592b0275,
    0x4a7484aa6ea6e483, 0x5cb0a9dcbd41fbd4, 0x76f988da831153b5,
    0x983e5152ee66dfab, 0xa831c66d2db43210, 0xb00327c898fb213f,
    0xbf597fc7beef0ee4, 0xc6e00bf33da88fc2, 0xd5a79147930aa725,
    0x06ca6351e003826f, 0x142929670a0e6e70, 0x27b70a8546d22ffc,
    0x2e1b21385c26c926, 0x4d2c6dfc5ac42aed, 0x53380d139d95b3df,
    0x650a73548baf63de, 0x766a0abb3c77b2a8, 0x81c2c92e47edaee6,
    0x92722c851482353b, 0xa2bfe8a14cf10364, 0xa81a664bbc423001,
    0xc24b8b70d0f89791, 0xc76c51a30654be30, 0xd192e819d6ef5218,
    0xd69906245565a910, 0xf40e35855771202a, 0x106aa07032bbd1b8,
    0x19a4c116b8d2d0c8, 0x1e376c085141ab53, 0x2748774cdf8eeb99,
    0x34b0bcb5e19b48a8, 0x391c0cb3c5c95a63, 0x4ed8aa4ae3418acb,
    0x5b9cca4f7763e373, 0x682e6ff3d6b2b8a3, 0x748f82ee5defb2fc,
    0x78a5636f43172f60, 0x84c87814a1f0ab72, 0x8cc702081a6439ec,
    0x90befffa23631e28, 0xa4506cebde82bde9, 0xbef9a3f7b2c67915,
    0xc67178f2e372532b, 0xca273eceea26619c, 0xd186b8c721c0c207,
    0xeada7dd6cde0eb1e, 0xf57d4f7fee6ed178, 0x06f067aa72176fba,
    0x0a637dc5a2c898a6, 0x113f9804bef90dae, 0x1b710b35131c471b,
    0x28db77f523047d84, 0x32caab7b40c72493, 0x3c9ebe0a15c9bebc,
    0x431d67c49c100d4c, 0x4cc5d4becb3e42b6, 0x597f299cfc657e2a,
    0x5fcb6fab3ad6faec, 0x6c44198c4a475817};

constexpr uint32_t k256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

template <class W> constexpr W rotr(W x, int n) {
  return static_cast<W>((x >> n) | (x << (sizeof(W) * 8 - n)));
}

/// Parameters of one SHA-2 variant: word type, rounds and rotations.
struct sha512_traits {
  using word = uint64_t;
  static constexpr int rounds = 80;
  static constexpr const uint64_t* k = k512;
  static word S0(word x) { return rotr(x, 28) ^ rotr(x, 34) ^ rotr(x, 39); }
  static word S1(word x) { return rotr(x, 14) ^ rotr(x, 18) ^ rotr(x, 41); }
  static word s0(word x) { return rotr(x, 1) ^ rotr(x, 8) ^ (x >> 7); }
  static word s1(word x) { return rotr(x, 19) ^ rotr(x, 61) ^ (x >> 6); }
};

struct sha256_traits {
  using word = uint32_t;
  static constexpr int rounds = 64;
  static constexpr const uint32_t* k = k256;
  static word S0(word x) { return rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22); }
  static word S1(word x) { return rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25); }
  static word s0(word x) { return rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3); }
  static word s1(word x) { return rotr(x, 17) ^ rotr(x, 19) ^ (x >> 10); }
};

template <class T>
void compress(typename T::word (&h)[8], const uint8_t* block) {
  using word = typename T::word;
  constexpr size_t wb = sizeof(word);
  word w[80];
  for (int i = 0; i < 16; ++i) {
    word v = 0;
    for (size_t b = 0; b < wb; ++b)
      v = static_cast<word>((v << 8) | block[i * wb + b]);
    w[i] = v;
  }
  for (int i = 16; i < T::rounds; ++i)
    w[i] = T::s1(w[i - 2]) + w[i - 7] + T::s0(w[i - 15]) + w[i - 16];
  word a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6],
       hh = h[7];
  for (int i = 0; i < T::rounds; ++i) {
    word t1 = hh + T::S1(e) + ((e & f) ^ (~e & g)) + T::k[i] + w[i];
    word t2 = T::S0(a) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d;
  h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

/// Runs the Merkle-Damgard construction and writes the big-endian state.
template <class T, size_t N>
std::array<uint8_t, N> digest(typename T::word (&h)[8], std::string_view in) {
  using word = typename T::word;
  constexpr size_t block = 16 * sizeof(word);
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  size_t n = in.size();
  size_t full = n / block * block;
  for (size_t off = 0; off < full; off += block)
    compress<T>(h, p + off);
  // Padding: 0x80, zeros, then the bit length in the last 16 (or 8) bytes.
  uint8_t tail[2 * block] = {};
  size_t rest = n - full;
  std::memcpy(tail, p + full, rest);
  tail[rest] = 0x80;
  size_t len_bytes = 2 * sizeof(word);
  size_t total = rest + 1 + len_bytes <= block ? block : 2 * block;
  uint64_t bits = static_cast<uint64_t>(n) * 8;
  for (int i = 0; i < 8; ++i)
    tail[total - 1 - i] = static_cast<uint8_t>(bits >> (8 * i));
  for (size_t off = 0; off < total; off += block)
    compress<T>(h, tail + off);
  std::array<uint8_t, N> out{};
  for (size_t i = 0; i < N; ++i)
    out[i] = static_cast<uint8_t>(
        h[i / sizeof(word)] >> (8 * (sizeof(word) - 1 - i % sizeof(word))));
  return out;
}

template <size_t N> std::string hex(const std::array<uint8_t, N>& d) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * N);
  for (auto b : d) {
    out += digits[b >> 4];
    out += digits[b & 0xF];
  }
  return out;
}

} // namespace

std::array<uint8_t, 64> sha512(std::string_view data) {
  uint64_t h[8] = {0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b,
                   0xa54ff53a5f1d36f1, 0x510e527fade682d1, 0x9b05688c2b3e6c1f,
                   0x1f83d9abfb41bd6b, 0x5be0cd19137e2179};
  return digest<sha512_traits, 64>(h, data);
}

std::array<uint8_t, 32> sha256(std::string_view data) {
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  return digest<sha256_traits, 32>(h, data);
}

std::string sha512_hex(std::string_view data) {
  return hex(sha512(data));
}
std::string sha256_hex(std::string_view data) {
  return hex(sha256(data));
}

std::string teleporter_password_hash(std::string_view plain) {
  return "#SHA-512##" + sha512_hex(plain);
}

bool is_teleporter_password_hash(std::string_view stored) {
  return stored.starts_with("#SHA-512#");
}

} // namespace tb::settings
