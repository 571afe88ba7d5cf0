// Bitmap compressors for the classic Bitmap Update: interleaved RLE for
// 15/16/24 bpp (MS-RDPBCGR 2.2.9.1.1.3.1.2.4) and RDP 6.0 planar for 32 bpp
// (MS-RDPEGDI 2.2.2.5.1). Input rows are bottom-up, as on the wire.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace tb::display::rdp {

/// 0x00RRGGBB to the wire pixel value at bpp (15, 16, 24 or 32).
inline uint32_t to_wire_pixel(uint32_t xrgb, unsigned bpp) {
  uint32_t r = (xrgb >> 16) & 0xFF, g = (xrgb >> 8) & 0xFF, b = xrgb & 0xFF;
  switch (bpp) {
  case 15:
    return ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3);
  case 16:
    return ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3);
  default:
    return xrgb & 0xFFFFFF;
  }
}

/// Interleaved RLE of wire pixels (bytes per pixel = (bpp + 7) / 8) using
/// background runs, colour runs and colour images.
std::vector<uint8_t> encode_interleaved(std::span<const uint32_t> pixels,
                                        unsigned width, unsigned height,
                                        unsigned bpp);

/// Planar with RLE and an opaque alpha plane (format header 0x10, the one
/// form rdesktop also decodes). Pixels are 0x00RRGGBB.
std::vector<uint8_t> encode_planar(std::span<const uint32_t> pixels,
                                   unsigned width, unsigned height);

} // namespace tb::display::rdp
