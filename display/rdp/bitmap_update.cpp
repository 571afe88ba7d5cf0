#include "display/rdp/bitmap_update.hpp"

#include <algorithm>

#include "display/rdp/bitmap_codec.hpp"
#include "display/rdp/byte_io.hpp"

namespace tb::display::rdp {

namespace {

constexpr unsigned tile_w = 64;

/// One encoded TS_BITMAP_DATA.
std::vector<uint8_t> encode_tile(const frame_source& fb, rect t,
                                 const bitmap_format& fmt,
                                 std::vector<uint32_t>& scratch) {
  // Wire width: a multiple of 4 pixels (uncompressed rows must be 4-byte
  // aligned, and decoders are happiest with it); padding repeats the edge.
  unsigned w = (t.w + 3u) & ~3u;
  unsigned h = t.h;
  scratch.resize(static_cast<size_t>(t.w) * h);
  fb.read(t, scratch);
  // Bottom-up rows at wire width, 0x00RRGGBB.
  std::vector<uint32_t> px(static_cast<size_t>(w) * h);
  for (unsigned y = 0; y < h; ++y) {
    const uint32_t* src = scratch.data() + static_cast<size_t>(y) * t.w;
    uint32_t* dst = px.data() + static_cast<size_t>(h - 1 - y) * w;
    std::copy_n(src, t.w, dst);
    std::fill(dst + t.w, dst + w, src[t.w - 1]);
  }
  const unsigned bpp = fmt.bpp;
  const unsigned bytes = (bpp + 7) / 8;
  std::vector<uint8_t> data;
  bool compressed = false;
  if (fmt.compress) {
    if (bpp == 32) {
      data = encode_planar(px, w, h);
    } else {
      std::vector<uint32_t> wire(px.size());
      for (size_t i = 0; i < px.size(); ++i)
        wire[i] = to_wire_pixel(px[i], bpp);
      data = encode_interleaved(wire, w, h, bpp);
    }
    compressed = data.size() < static_cast<size_t>(w) * h * bytes;
  }
  if (!compressed) {
    data.clear();
    data.reserve(static_cast<size_t>(w) * h * bytes);
    for (uint32_t p : px) {
      uint32_t v = bpp == 32 ? (p | 0xFF000000u) : to_wire_pixel(p, bpp);
      for (unsigned i = 0; i < bytes; ++i)
        data.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
  }
  byte_writer bd;
  bd.u16le(t.x);
  bd.u16le(t.y);
  bd.u16le(static_cast<uint16_t>(t.x + t.w - 1));
  bd.u16le(static_cast<uint16_t>(t.y + t.h - 1));
  bd.u16le(static_cast<uint16_t>(w));
  bd.u16le(static_cast<uint16_t>(h));
  bd.u16le(static_cast<uint16_t>(bpp));
  bool hdr = compressed && !fmt.no_compression_header;
  uint16_t flags = compressed ? 0x0001 : 0;
  if (compressed && fmt.no_compression_header)
    flags |= 0x0400;
  bd.u16le(flags);
  bd.u16le(static_cast<uint16_t>(data.size() + (hdr ? 8 : 0)));
  if (hdr) {
    bd.u16le(0); // cbCompFirstRowSize
    bd.u16le(static_cast<uint16_t>(data.size()));
    bd.u16le(static_cast<uint16_t>(w * bytes));
    bd.u16le(static_cast<uint16_t>(w * h * bytes));
  }
  bd.bytes(data);
  return std::move(bd.buffer());
}

} // namespace

std::vector<std::vector<uint8_t>>
encode_bitmap_updates(const frame_source& fb, rect r,
                      const bitmap_format& fmt) {
  std::vector<std::vector<uint8_t>> out;
  // Tile height keeps even an uncompressed tile under the payload limit.
  const unsigned bytes = (fmt.bpp + 7) / 8;
  unsigned tile_h = static_cast<unsigned>(
      std::min<size_t>(64, (fmt.max_payload - 64) / (tile_w * bytes)));
  std::vector<uint32_t> scratch;
  byte_writer cur;
  uint16_t count = 0;
  auto finish = [&] {
    if (count == 0)
      return;
    cur.patch_u16le(2, count);
    out.push_back(std::move(cur.buffer()));
    cur = byte_writer{};
    count = 0;
  };
  for (unsigned y = r.y; y < unsigned{r.y} + r.h; y += tile_h) {
    for (unsigned x = r.x; x < unsigned{r.x} + r.w; x += tile_w) {
      rect t{static_cast<uint16_t>(x), static_cast<uint16_t>(y),
             static_cast<uint16_t>(std::min(tile_w, r.x + r.w - x)),
             static_cast<uint16_t>(std::min(tile_h, r.y + r.h - y))};
      auto tile = encode_tile(fb, t, fmt, scratch);
      if (count > 0 && cur.size() + tile.size() > fmt.max_payload)
        finish();
      if (count == 0) {
        cur.u16le(1); // UPDATETYPE_BITMAP
        cur.u16le(0); // numberRectangles, patched
      }
      cur.bytes(tile);
      ++count;
    }
  }
  finish();
  return out;
}

} // namespace tb::display::rdp
