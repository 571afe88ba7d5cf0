// Bitmap codecs checked by independent decoders written from the
// specifications (MS-RDPBCGR 2.2.9.1.1.3.1.2.4, MS-RDPEGDI 2.2.2.5.1), and
// the update splitter's size limits.
#include <random>

#include <gtest/gtest.h>

#include "display/rdp/bitmap_codec.hpp"
#include "display/rdp/bitmap_update.hpp"
#include "display/rdp/byte_io.hpp"

using namespace tb::display;
using namespace tb::display::rdp;

namespace {

/// Interleaved RLE decoder for the orders a decoder must support; fails
/// the test on an order it does not know, and applies the "foreground pel
/// after two background runs" rule so an encoder relying on it shows up.
std::vector<uint32_t> decode_interleaved(const std::vector<uint8_t>& in,
                                         unsigned w, unsigned h, unsigned bpp) {
  unsigned bytes = (bpp + 7) / 8;
  std::vector<uint32_t> out;
  size_t i = 0;
  bool last_bg = false;
  auto pixel = [&] {
    uint32_t v = 0;
    for (unsigned k = 0; k < bytes; ++k)
      v |= uint32_t{in.at(i++)} << (8 * k);
    return v;
  };
  while (i < in.size()) {
    uint8_t hdr = in[i++];
    unsigned code, len;
    if (hdr >= 0xF0) {
      code = hdr;
      len = in.at(i) | (in.at(i + 1) << 8);
      i += 2;
    } else {
      code = hdr >> 5;
      len = hdr & 0x1F;
      if (len == 0)
        len = in.at(i++) + 32u;
    }
    bool bg = code == 0 || code == 0xF0;
    if (bg) {
      for (unsigned k = 0; k < len; ++k) {
        uint32_t above = out.size() >= w ? out[out.size() - w] : 0;
        if (k == 0 && last_bg)
          above ^= 0xFFFFFF; // inserted foreground pel (white)
        out.push_back(above);
      }
    } else if (code == 3 || code == 0xF3) {
      uint32_t v = pixel();
      out.insert(out.end(), len, v);
    } else if (code == 4 || code == 0xF4) {
      for (unsigned k = 0; k < len; ++k)
        out.push_back(pixel());
    } else {
      ADD_FAILURE() << "unexpected order " << code;
      return {};
    }
    last_bg = bg;
  }
  EXPECT_EQ(out.size(), size_t{w} * h);
  return out;
}

/// Planar decoder (RLE, alpha present) into 0x00RRGGBB.
std::vector<uint32_t> decode_planar(const std::vector<uint8_t>& in, unsigned w,
                                    unsigned h) {
  EXPECT_EQ(in.at(0), 0x10);
  size_t i = 1;
  std::vector<uint32_t> out(size_t{w} * h, 0);
  for (int plane = 0; plane < 4; ++plane) {
    std::vector<uint8_t> prev(w), line(w);
    for (unsigned y = 0; y < h; ++y) {
      unsigned x = 0;
      int pixel = 0;
      while (x < w) {
        uint8_t c = in.at(i++);
        unsigned run = c & 0x0F, raw = c >> 4;
        if (run == 1) {
          run = raw + 16;
          raw = 0;
        } else if (run == 2) {
          run = raw + 32;
          raw = 0;
        }
        auto put = [&](int v) {
          ASSERT_LT(x, w);
          line[x] = static_cast<uint8_t>(y == 0 ? v : prev[x] + v);
          ++x;
        };
        for (unsigned k = 0; k < raw; ++k) {
          uint8_t v = in.at(i++);
          pixel = y == 0 ? v : ((v & 1) ? -((v >> 1) + 1) : (v >> 1));
          put(pixel);
        }
        for (unsigned k = 0; k < run; ++k)
          put(pixel);
      }
      for (unsigned xx = 0; xx < w; ++xx) {
        uint32_t& o = out[size_t{y} * w + xx];
        if (plane == 0)
          EXPECT_EQ(line[xx], 0xFF);
        else
          o |= uint32_t{line[xx]} << (8 * (3 - plane));
      }
      prev = line;
    }
  }
  EXPECT_EQ(i, in.size());
  return out;
}

std::vector<uint32_t> test_image(unsigned w, unsigned h, int seed) {
  std::mt19937 rng(seed);
  std::vector<uint32_t> px(size_t{w} * h);
  for (unsigned y = 0; y < h; ++y)
    for (unsigned x = 0; x < w; ++x) {
      uint32_t v;
      switch ((x / 8 + y / 8 + seed) % 4) {
      case 0:
        v = 0x336699; // flat
        break;
      case 1:
        v = (x * 4) << 16 | (y * 4) << 8 | (x + y); // gradient
        break;
      case 2:
        v = rng() & 0xFFFFFF; // noise
        break;
      default:
        v = (y % 2) ? 0xFFFFFF : 0; // stripes: vertical repeats
      }
      px[size_t{y} * w + x] = v;
    }
  return px;
}

class fake_fb final : public frame_source {
public:
  fake_fb(uint16_t w, uint16_t h) : w_(w), h_(h), px_(test_image(w, h, 3)) {}
  uint16_t width() const override { return w_; }
  uint16_t height() const override { return h_; }
  void read(const rect& r, std::span<uint32_t> out) const override {
    for (unsigned y = 0; y < r.h; ++y)
      for (unsigned x = 0; x < r.w; ++x)
        out[size_t{y} * r.w + x] = px_[size_t{r.y + y} * w_ + r.x + x];
  }

private:
  uint16_t w_, h_;
  std::vector<uint32_t> px_;
};

} // namespace

TEST(interleaved_rle, round_trips_at_15_16_24_bpp) {
  for (unsigned bpp : {15u, 16u, 24u})
    for (int seed = 0; seed < 4; ++seed)
      for (auto [w, h] : {std::pair{64u, 64u}, {4u, 1u}, {20u, 7u}}) {
        auto img = test_image(w, h, seed);
        for (auto& p : img)
          p = to_wire_pixel(p, bpp);
        auto enc = encode_interleaved(img, w, h, bpp);
        EXPECT_EQ(decode_interleaved(enc, w, h, bpp), img)
            << bpp << " bpp seed " << seed << " " << w << "x" << h;
      }
}

TEST(interleaved_rle, flat_and_repeating_images_compress) {
  std::vector<uint32_t> flat(64 * 64, 0x1234);
  EXPECT_LT(encode_interleaved(flat, 64, 64, 16).size(), 16u);
  std::vector<uint32_t> rows(64 * 64);
  for (size_t i = 0; i < rows.size(); ++i)
    rows[i] = static_cast<uint32_t>(i % 64) * 997;
  // First row raw, every other row one background run.
  EXPECT_LT(encode_interleaved(rows, 64, 64, 16).size(), 64u * 2 + 80);
}

TEST(planar, round_trips_and_compresses) {
  for (int seed = 0; seed < 4; ++seed)
    for (auto [w, h] : {std::pair{64u, 64u}, {4u, 3u}, {52u, 61u}}) {
      auto img = test_image(w, h, seed);
      EXPECT_EQ(decode_planar(encode_planar(img, w, h), w, h), img)
          << "seed " << seed << " " << w << "x" << h;
    }
  std::vector<uint32_t> flat(64 * 64, 0x808080);
  // Two or three control bytes per line and plane, against 16 KiB raw.
  EXPECT_LE(encode_planar(flat, 64, 64).size(), 1u + 64 * 4 * 3 + 8);
}

TEST(bitmap_update, payloads_stay_under_the_limit_and_cover_the_rect) {
  fake_fb fb(1024, 768);
  for (uint16_t bpp : {15, 16, 24, 32})
    for (bool compress : {true, false}) {
      bitmap_format fmt;
      fmt.bpp = bpp;
      fmt.compress = compress;
      size_t pixels = 0;
      for (auto& p : encode_bitmap_updates(fb, rect{3, 5, 1000, 700}, fmt)) {
        ASSERT_LE(p.size(), fmt.max_payload);
        byte_reader r{p};
        EXPECT_EQ(r.u16le(), 1); // UPDATETYPE_BITMAP
        uint16_t n = r.u16le();
        for (uint16_t i = 0; i < n; ++i) {
          uint16_t l = r.u16le(), t = r.u16le(), rr = r.u16le(), b = r.u16le();
          uint16_t w = r.u16le(), h = r.u16le();
          EXPECT_EQ(r.u16le(), bpp);
          uint16_t flags = r.u16le();
          uint16_t len = r.u16le();
          r.skip(len);
          EXPECT_EQ(w % 4, 0);
          EXPECT_EQ(h, b - t + 1);
          EXPECT_GE(w, rr - l + 1);
          EXPECT_EQ((flags & 1) != 0, compress && (flags & 1));
          if (!(flags & 1)) {
            EXPECT_EQ(len, size_t{w} * h * ((bpp + 7) / 8));
          }
          pixels += size_t{rr - l + 1u} * (b - t + 1u);
        }
        EXPECT_TRUE(r.ok());
        EXPECT_EQ(r.remaining(), 0u);
      }
      EXPECT_EQ(pixels, 1000u * 700u) << bpp << " " << compress;
    }
}
