// UUID generation, parsing and IPRT byte order.
#include "storage/uuid.hpp"

#include <random>

namespace tb::storage {

uuid uuid::random() {
  std::random_device rd;
  uuid u;
  for (size_t i = 0; i < u.bytes.size(); i += 4) {
    uint32_t r = rd();
    for (size_t j = 0; j < 4; ++j)
      u.bytes[i + j] = static_cast<uint8_t>(r >> (8 * j));
  }
  u.bytes[6] = (u.bytes[6] & 0x0f) | 0x40; // version 4
  u.bytes[8] = (u.bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
  return u;
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

std::optional<uuid> uuid::parse(std::string_view text) {
  if (text.size() == 38 && text.front() == '{' && text.back() == '}')
    text = text.substr(1, 36);
  if (text.size() != 36)
    return std::nullopt;
  uuid u;
  size_t out = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-')
        return std::nullopt;
      continue;
    }
    int hi = hex_value(text[i]);
    int lo = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
    if (hi < 0 || lo < 0)
      return std::nullopt;
    u.bytes[out++] = static_cast<uint8_t>(hi * 16 + lo);
    ++i;
  }
  return u;
}

namespace {

// IPRT's RTUUID stores time_low, time_mid and time_hi_and_version
// little-endian; this is the permutation between the two byte orders.
constexpr std::array<uint8_t, 16> iprt_order{3, 2, 1,  0,  5,  4,  7,  6,
                                             8, 9, 10, 11, 12, 13, 14, 15};

} // namespace

uuid uuid::from_iprt(const uint8_t* data) {
  uuid u;
  for (size_t i = 0; i < 16; ++i)
    u.bytes[i] = data[iprt_order[i]];
  return u;
}

void uuid::to_iprt(uint8_t* out) const {
  for (size_t i = 0; i < 16; ++i)
    out[iprt_order[i]] = bytes[i];
}

bool uuid::is_null() const {
  for (auto b : bytes)
    if (b != 0)
      return false;
  return true;
}

std::string uuid::to_string() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      s += '-';
    s += digits[bytes[i] >> 4];
    s += digits[bytes[i] & 0xf];
  }
  return s;
}

} // namespace tb::storage
