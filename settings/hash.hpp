// SHA-256 and SHA-512 (FIPS 180-4), small and dependency-free: tb_settings
// must not link BoringSSL, yet teleporter passwords are stored hashed and
// `internalcommands passwordhash` prints SHA-256 (virtualbox-compat.md 2.5,
// 3).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace tb::settings {

/// SHA-512 digest of `data`.
std::array<uint8_t, 64> sha512(std::string_view data);
/// SHA-256 digest of `data`.
std::array<uint8_t, 32> sha256(std::string_view data);

/// 128 lowercase hex digits of SHA-512(data).
std::string sha512_hex(std::string_view data);
/// 64 lowercase hex digits of SHA-256(data).
std::string sha256_hex(std::string_view data);

/// The form VirtualBox stores a teleporter password in:
/// "#SHA-512#" + salt (empty) + "#" + sha512_hex(plain).
std::string teleporter_password_hash(std::string_view plain);
/// Whether `stored` is already in that hashed form.
bool is_teleporter_password_hash(std::string_view stored);

} // namespace tb::settings
