// RDP 6.0 planar encoder: four byte planes (A, R, G, B), each scanline RLE
// coded; lines after the first carry sign-magnitude deltas to the line
// before.
#include "display/rdp/bitmap_codec.hpp"

namespace tb::display::rdp {

namespace {

/// One control byte + raw bytes + run, splitting runs the control byte
/// cannot hold (a run of 1 or 2 only exists in the 16..47 forms).
void emit(std::vector<uint8_t>& out, const uint8_t* raw, size_t nraw,
          size_t run, uint8_t last) {
  while (nraw > 15) {
    out.push_back(0xF0);
    out.insert(out.end(), raw, raw + 15);
    raw += 15;
    nraw -= 15;
  }
  size_t first = std::min<size_t>(run, 15);
  if (first > 0 && first < 3)
    first = 0; // handled below as raw
  if (nraw || first) {
    out.push_back(static_cast<uint8_t>((nraw << 4) | first));
    out.insert(out.end(), raw, raw + nraw);
  }
  size_t rem = run - first;
  while (rem > 0) {
    if (rem >= 16) {
      size_t chunk = std::min<size_t>(rem, 47);
      if (rem - chunk == 1 || rem - chunk == 2)
        chunk -= 3;
      if (chunk >= 32)
        out.push_back(static_cast<uint8_t>(2 | ((chunk - 32) << 4)));
      else
        out.push_back(static_cast<uint8_t>(1 | ((chunk - 16) << 4)));
      rem -= chunk;
    } else if (rem >= 3) {
      out.push_back(static_cast<uint8_t>(rem));
      rem = 0;
    } else {
      out.push_back(static_cast<uint8_t>(rem << 4));
      for (size_t k = 0; k < rem; ++k)
        out.push_back(last);
      rem = 0;
    }
  }
}

void encode_line(std::vector<uint8_t>& out, const uint8_t* s, unsigned w) {
  uint8_t last = 0;
  size_t raw_start = 0;
  size_t nraw = 0;
  unsigned i = 0;
  while (i < w) {
    unsigned run = 0;
    while (i + run < w && s[i + run] == last)
      ++run;
    if (run >= 3 || (run > 0 && i + run == w && nraw == 0)) {
      emit(out, s + raw_start, nraw, run, last);
      nraw = 0;
      i += run;
    } else {
      if (nraw == 0)
        raw_start = i;
      ++nraw;
      last = s[i];
      ++i;
    }
  }
  if (nraw)
    emit(out, s + raw_start, nraw, 0, last);
}

void encode_plane(std::vector<uint8_t>& out, std::span<const uint32_t> px,
                  unsigned w, unsigned h, unsigned shift) {
  std::vector<uint8_t> line(w), prev(w), sym(w);
  for (unsigned y = 0; y < h; ++y) {
    for (unsigned x = 0; x < w; ++x)
      line[x] =
          static_cast<uint8_t>(px[static_cast<size_t>(y) * w + x] >> shift);
    if (y == 0) {
      sym = line;
    } else {
      for (unsigned x = 0; x < w; ++x) {
        // Deltas wrap to a signed byte; the decoder adds modulo 256.
        int d = static_cast<int8_t>(static_cast<uint8_t>(line[x] - prev[x]));
        sym[x] = static_cast<uint8_t>(d >= 0 ? 2 * d : -2 * d - 1);
      }
    }
    encode_line(out, sym.data(), w);
    prev.swap(line);
  }
}

} // namespace

std::vector<uint8_t> encode_planar(std::span<const uint32_t> px, unsigned width,
                                   unsigned height) {
  std::vector<uint8_t> out;
  out.reserve(static_cast<size_t>(width) * height + 64);
  out.push_back(0x10); // RLE, alpha plane present, no colour loss
  std::vector<uint32_t> alpha(px.size(), 0xFF);
  encode_plane(out, alpha, width, height, 0);
  encode_plane(out, px, width, height, 16);
  encode_plane(out, px, width, height, 8);
  encode_plane(out, px, width, height, 0);
  return out;
}

} // namespace tb::display::rdp
