// Client Info PDU (MS-RDPBCGR 2.2.1.11) and the licensing shortcut
// (2.2.1.12: one error alert with STATUS_VALID_CLIENT).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace tb::display::rdp {

/// Logon data the client sent. The password is kept only for the
/// authentication decision; never log it.
struct client_info {
  uint32_t code_page = 0;
  uint32_t flags = 0;
  std::string domain; ///< with any "@N" suffix removed
  std::string user;
  std::string password;
  /// 0-based screen from a domain ending in "@N" (VirtualBox rule: the last
  /// '@' followed only by digits; "@0" and "@1" both mean screen 0).
  std::optional<uint32_t> screen;
  uint32_t performance_flags = 0;
};

/// Parses TS_INFO_PACKET (the bytes after the security header).
caf::expected<client_info> parse_client_info(std::span<const uint8_t> data);

/// Splits "@N" off a domain; returns the screen when present.
std::optional<uint32_t> take_screen_suffix(std::string& domain);

/// The 16-byte licensing error PDU body (preamble + STATUS_VALID_CLIENT).
std::vector<uint8_t> build_license_valid_client();

} // namespace tb::display::rdp
