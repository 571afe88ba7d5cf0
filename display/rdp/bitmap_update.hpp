// Turns a frame buffer rectangle into Bitmap Update payloads
// (TS_UPDATE_BITMAP_DATA, MS-RDPBCGR 2.2.9.1.1.3.1.2), each small enough for
// one fast-path or slow-path PDU.
#pragma once

#include <cstdint>
#include <vector>

#include "display/frame_source.hpp"

namespace tb::display::rdp {

struct bitmap_format {
  uint16_t bpp = 16;
  bool compress = true;
  bool no_compression_header = true; ///< NO_BITMAP_COMPRESSION_HDR agreed
  size_t max_payload = 0x3E00;       ///< bytes per update payload
};

/// Update payloads (starting with updateType 1) covering r; every payload
/// is at most fmt.max_payload bytes.
std::vector<std::vector<uint8_t>>
encode_bitmap_updates(const frame_source& fb, rect r, const bitmap_format& fmt);

} // namespace tb::display::rdp
