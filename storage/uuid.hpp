// RFC 4122 UUIDs as VirtualBox uses them: random (version 4), printed in
// lowercase, stored in VDI headers with IPRT's little-endian first fields.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tb::storage {

/// A UUID held in RFC 4122 (big-endian, string) byte order.
struct uuid {
  std::array<uint8_t, 16> bytes{};

  /// A fresh random version-4 UUID.
  static uuid random();
  /// Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", with or without braces.
  static std::optional<uuid> parse(std::string_view text);
  /// Reads the 16-byte on-disk form IPRT writes (first three fields LE).
  static uuid from_iprt(const uint8_t* data);
  /// Writes the 16-byte on-disk form IPRT writes.
  void to_iprt(uint8_t* out) const;

  bool is_null() const;
  /// Lowercase, without braces.
  std::string to_string() const;
  /// Lowercase, in braces, as settings files store it.
  std::string to_braced() const { return "{" + to_string() + "}"; }

  friend bool operator==(const uuid&, const uuid&) = default;
};

} // namespace tb::storage
