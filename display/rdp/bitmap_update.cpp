#include "display/rdp/bitmap_update.hpp"

#include <algorithm>

#include "display/rdp/bitmap_codec.hpp"
#include "display/rdp/byte_io.hpp"

namespace tb::display::rdp {

namespace {

constexpr unsigned tile_w = 64;

/// Buffers reused across tiles (one allocation per update, not per tile).
struct tile_scratch {
  std::vector<uint32_t> read;
  std::vector<uint32_t> px;   ///< bottom-up, wire width, 0x00RRGGBB
  std::vector<uint32_t> wire; ///< bottom-up, wire pixel values
  std::vector<uint8_t> data;
};

/// One encoded TS_BITMAP_DATA.
std::vector<uint8_t> encode_tile(const frame_source& fb, rect t,
                                 const bitmap_format& fmt, tile_scratch& s) {
  // Wire width: a multiple of 4 pixels (uncompressed rows must be 4-byte
  // aligned, and decoders are happiest with it); padding repeats the edge.
  unsigned w = (t.w + 3u) & ~3u;
  unsigned h = t.h;
  s.read.resize(static_cast<size_t>(t.w) * h);
  fb.read(t, s.read);
  s.px.resize(static_cast<size_t>(w) * h);
  for (unsigned y = 0; y < h; ++y) {
    const uint32_t* src = s.read.data() + static_cast<size_t>(y) * t.w;
    uint32_t* dst = s.px.data() + static_cast<size_t>(h - 1 - y) * w;
    std::copy_n(src, t.w, dst);
    std::fill(dst + t.w, dst + w, src[t.w - 1]);
  }
  const unsigned bpp = fmt.bpp;
  const unsigned bytes = (bpp + 7) / 8;
  const size_t raw_size = static_cast<size_t>(w) * h * bytes;
  if (bpp != 32) {
    s.wire.resize(s.px.size());
    for (size_t i = 0; i < s.px.size(); ++i)
      s.wire[i] = to_wire_pixel(s.px[i], bpp);
  }
  bool compressed = false;
  if (fmt.compress) {
    s.data = bpp == 32 ? encode_planar(s.px, w, h)
                       : encode_interleaved(s.wire, w, h, bpp);
    compressed = s.data.size() < raw_size;
  }
  if (!compressed) {
    s.data.resize(raw_size);
    uint8_t* o = s.data.data();
    const auto& src = bpp == 32 ? s.px : s.wire;
    for (uint32_t p : src) {
      uint32_t v = bpp == 32 ? (p | 0xFF000000u) : p;
      for (unsigned i = 0; i < bytes; ++i)
        *o++ = static_cast<uint8_t>(v >> (8 * i));
    }
  }
  const auto& data = s.data;
  byte_writer bd;
  bd.buffer().reserve(data.size() + 26);
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
  tile_scratch scratch;
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
