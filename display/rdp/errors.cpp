#include "display/rdp/errors.hpp"

#include "display/rdp/byte_io.hpp"

namespace tb::display::rdp {

std::string to_string(rdp_errc x) {
  switch (x) {
  case rdp_errc::malformed_pdu:
    return "malformed_pdu";
  case rdp_errc::unsupported:
    return "unsupported";
  case rdp_errc::negotiation_failed:
    return "negotiation_failed";
  case rdp_errc::crypto_failed:
    return "crypto_failed";
  case rdp_errc::protocol_violation:
    return "protocol_violation";
  case rdp_errc::access_denied:
    return "access_denied";
  }
  return "rdp_errc(" + std::to_string(static_cast<int>(x)) + ")";
}

caf::error make_rdp_error(rdp_errc code, std::string msg) {
  return caf::make_error(code, std::move(msg));
}

std::string utf16le_to_utf8(std::span<const uint8_t> s) {
  std::string out;
  auto put = [&out](uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  };
  for (size_t i = 0; i + 1 < s.size(); i += 2) {
    uint32_t u = s[i] | (s[i + 1] << 8);
    if (u >= 0xD800 && u < 0xDC00 && i + 3 < s.size()) {
      uint32_t lo = s[i + 2] | (s[i + 3] << 8);
      if (lo >= 0xDC00 && lo < 0xE000) {
        put(0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
        i += 2;
        continue;
      }
    }
    put(u >= 0xD800 && u < 0xE000 ? 0xFFFD : u);
  }
  return out;
}

} // namespace tb::display::rdp
