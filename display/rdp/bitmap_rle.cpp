// Interleaved RLE encoder. Only orders whose meaning does not depend on
// decoder state are used: background runs (copy the pixel one row up),
// colour runs and colour images; background runs never follow each other
// (the decoder would insert a foreground pixel) and never start in the
// first row (they would paint black there).
#include "display/rdp/bitmap_codec.hpp"

namespace tb::display::rdp {

namespace {

constexpr uint8_t code_bg_run = 0x0;
constexpr uint8_t code_color_run = 0x3;
constexpr uint8_t code_color_image = 0x4;
constexpr uint8_t mega_bg_run = 0xF0;
constexpr uint8_t mega_color_run = 0xF3;
constexpr uint8_t mega_color_image = 0xF4;

void order_header(std::vector<uint8_t>& out, uint8_t code, uint8_t mega,
                  unsigned len) {
  if (len < 32) {
    out.push_back(static_cast<uint8_t>((code << 5) | len));
  } else if (len < 32 + 256) {
    out.push_back(static_cast<uint8_t>(code << 5));
    out.push_back(static_cast<uint8_t>(len - 32));
  } else {
    out.push_back(mega);
    out.push_back(static_cast<uint8_t>(len & 0xFF));
    out.push_back(static_cast<uint8_t>(len >> 8));
  }
}

void put_pixel(std::vector<uint8_t>& out, uint32_t px, unsigned bytes) {
  for (unsigned i = 0; i < bytes; ++i)
    out.push_back(static_cast<uint8_t>(px >> (8 * i)));
}

} // namespace

std::vector<uint8_t> encode_interleaved(std::span<const uint32_t> px,
                                        unsigned width, unsigned height,
                                        unsigned bpp) {
  const unsigned bytes = (bpp + 7) / 8;
  const size_t n = static_cast<size_t>(width) * height;
  std::vector<uint8_t> out;
  out.reserve(n * bytes / 2 + 16);
  size_t raw_start = 0;
  size_t raw_len = 0;
  bool last_was_bg = false;
  auto flush_raw = [&] {
    size_t done = 0;
    while (done < raw_len) {
      unsigned chunk =
          static_cast<unsigned>(std::min<size_t>(raw_len - done, 0xFFFF));
      order_header(out, code_color_image, mega_color_image, chunk);
      for (unsigned k = 0; k < chunk; ++k)
        put_pixel(out, px[raw_start + done + k], bytes);
      done += chunk;
    }
    if (raw_len)
      last_was_bg = false;
    raw_len = 0;
  };
  size_t i = 0;
  while (i < n) {
    size_t bg = 0;
    if (i >= width && !(last_was_bg && raw_len == 0))
      while (i + bg < n && bg < 0xFFFF && px[i + bg] == px[i + bg - width])
        ++bg;
    size_t run = 1;
    while (i + run < n && run < 0xFFFF && px[i + run] == px[i])
      ++run;
    if (bg >= 2 && bg >= run) {
      flush_raw();
      order_header(out, code_bg_run, mega_bg_run, static_cast<unsigned>(bg));
      last_was_bg = true;
      i += bg;
    } else if (run >= 3) {
      flush_raw();
      order_header(out, code_color_run, mega_color_run,
                   static_cast<unsigned>(run));
      put_pixel(out, px[i], bytes);
      last_was_bg = false;
      i += run;
    } else {
      if (raw_len == 0)
        raw_start = i;
      ++raw_len;
      ++i;
    }
  }
  flush_raw();
  return out;
}

} // namespace tb::display::rdp
