// T.124 GCC Conference Create Request / Response and the RDP client and
// server data blocks (MS-RDPBCGR 2.2.1.3.x, 2.2.1.4.x).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace tb::display::rdp {

/// supportedColorDepths bits of CS_CORE.
enum color_depth_bits : uint16_t {
  rns_24bpp = 0x1,
  rns_16bpp = 0x2,
  rns_15bpp = 0x4,
  rns_32bpp = 0x8,
};

/// encryptionMethods bits.
enum encryption_method : uint32_t {
  encryption_none = 0,
  encryption_40bit = 0x1,
  encryption_128bit = 0x2,
  encryption_56bit = 0x8,
  encryption_fips = 0x10,
};

struct static_channel {
  std::string name;
  uint32_t options = 0;
};

/// What the client said about itself in its GCC user data.
struct client_data {
  uint32_t version = 0;
  uint16_t desktop_width = 0;
  uint16_t desktop_height = 0;
  uint32_t keyboard_layout = 0;
  uint32_t client_build = 0;
  std::string client_name;
  uint32_t keyboard_type = 0;
  uint16_t high_color_depth = 0; ///< 0 when absent (old clients)
  uint16_t supported_color_depths = 0;
  uint16_t early_capability_flags = 0;
  uint16_t post_beta2_color_depth = 0; ///< 0xCA01 = 8 bpp etc.
  uint32_t encryption_methods = 0;
  uint32_t ext_encryption_methods = 0;
  std::vector<static_channel> channels;
  /// CS_CLUSTER flags (0 when the block is absent): REDIRECTION_SUPPORTED
  /// 0x1, the redirection version in bits 2-5.
  uint32_t cluster_flags = 0;

  /// The colour depth the session should run at, from the client's wishes.
  uint16_t session_bpp() const;
};

caf::expected<client_data>
parse_conference_create_request(std::span<const uint8_t> gcc);

/// Everything the server puts in its GCC response.
struct server_data {
  uint32_t requested_protocols = 0;  ///< echo of RDP_NEG_REQ (0 if none)
  std::vector<uint16_t> channel_ids; ///< one per client channel, in order
  uint32_t encryption_method = 0;
  uint32_t encryption_level = 0;
  std::vector<uint8_t> server_random;      ///< 32 bytes, or empty under TLS
  std::vector<uint8_t> server_certificate; ///< proprietary certificate
};

std::vector<uint8_t> build_conference_create_response(const server_data& sd);

} // namespace tb::display::rdp
