// Capability exchange: the server's Demand Active and the client's Confirm
// Active (MS-RDPBCGR 2.2.1.13, 2.2.7).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <caf/expected.hpp>

namespace tb::display::rdp {

/// General capability extraFlags.
enum general_extra_flags : uint16_t {
  fastpath_output_supported = 0x0001,
  long_credentials_supported = 0x0004,
  enc_salted_checksum = 0x0010,
  no_bitmap_compression_hdr = 0x0400,
};

/// What the server offers.
struct server_caps {
  uint16_t width = 0;
  uint16_t height = 0;
  uint16_t bpp = 16;
};

/// What the client's Confirm Active says; defaults are what a client that
/// omits a set means.
struct client_caps {
  uint16_t extra_flags = 0;
  uint16_t preferred_bpp = 0;
  uint16_t desktop_width = 0;
  uint16_t desktop_height = 0;
  bool desktop_resize = false;
  bool bitmap_compression = false;
  uint16_t input_flags = 0;
  uint32_t multifragment_max = 0; ///< 0: set absent
  uint16_t pointer_cache = 0;
  bool color_pointer = false;

  bool fastpath_output() const {
    return extra_flags & fastpath_output_supported;
  }
};

/// The whole Demand Active PDU (Share Control header included).
std::vector<uint8_t> build_demand_active(const server_caps& caps,
                                         uint32_t session_id);

/// Parses a Confirm Active body (after the Share Control header).
caf::expected<client_caps> parse_confirm_active(std::span<const uint8_t> body);

} // namespace tb::display::rdp
