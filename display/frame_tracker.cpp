#include "display/frame_tracker.hpp"

#include <algorithm>
#include <cstring>

namespace tb::display {

namespace {

constexpr uint64_t page_size = 4096;

uint32_t expand5(uint32_t v) {
  return (v << 3) | (v >> 2);
}
uint32_t expand6(uint32_t v) {
  return (v << 2) | (v >> 4);
}

} // namespace

frame_tracker::frame_tracker(std::span<const uint8_t> memory, dirty_fn dirty)
    : mem_(memory), dirty_(std::move(dirty)) {}

uint32_t frame_tracker::bytes_per_pixel(uint16_t bpp) {
  switch (bpp) {
  case 32:
    return 4;
  case 24:
    return 3;
  case 16:
  case 15:
    return 2;
  default:
    return 0;
  }
}

bool frame_tracker::mode_fits(const fb_mode& m) const {
  uint32_t bpp = bytes_per_pixel(m.bpp);
  if (!bpp || !m.width || !m.height || m.stride < uint64_t{m.width} * bpp)
    return false;
  uint64_t end =
      m.offset + uint64_t{m.stride} * (m.height - 1) + uint64_t{m.width} * bpp;
  return end <= mem_.size();
}

void frame_tracker::set_mode(const fb_mode& m) {
  std::lock_guard lock{mtx_};
  mode_ = m;
  if (!mode_.stride)
    mode_.stride = mode_.width * bytes_per_pixel(mode_.bpp);
  mode_changed_ = true;
}

fb_mode frame_tracker::mode() const {
  std::lock_guard lock{mtx_};
  return mode_;
}

uint16_t frame_tracker::width() const {
  std::lock_guard lock{mtx_};
  return mode_.width;
}

uint16_t frame_tracker::height() const {
  std::lock_guard lock{mtx_};
  return mode_.height;
}

void frame_tracker::read(const rect& r, std::span<uint32_t> out) const {
  fb_mode m;
  {
    std::lock_guard lock{mtx_};
    m = mode_;
  }
  size_t need = size_t{r.w} * r.h;
  if (out.size() < need)
    return;
  std::fill_n(out.begin(), need, 0u);
  if (!mode_fits(m))
    return; // black, per frame_source's contract
  uint32_t bpp = bytes_per_pixel(m.bpp);
  int x1 = std::min<int>(r.x + r.w, m.width);
  int y1 = std::min<int>(r.y + r.h, m.height);
  for (int y = r.y; y < y1; ++y) {
    const uint8_t* row = mem_.data() + m.offset + size_t{m.stride} * y;
    uint32_t* dst = out.data() + size_t{r.w} * (y - r.y);
    for (int x = r.x; x < x1; ++x) {
      const uint8_t* p = row + size_t{bpp} * x;
      uint32_t px = 0;
      switch (m.bpp) {
      case 32:
      case 24: // little-endian B, G, R
        px = (uint32_t{p[2]} << 16) | (uint32_t{p[1]} << 8) | p[0];
        break;
      case 16: {
        uint32_t v = p[0] | (uint32_t{p[1]} << 8);
        px = (expand5(v >> 11) << 16) | (expand6((v >> 5) & 0x3F) << 8)
             | expand5(v & 0x1F);
        break;
      }
      case 15: {
        uint32_t v = p[0] | (uint32_t{p[1]} << 8);
        px = (expand5((v >> 10) & 0x1F) << 16) | (expand5((v >> 5) & 0x1F) << 8)
             | expand5(v & 0x1F);
        break;
      }
      }
      dst[x - r.x] = px;
    }
  }
}

std::vector<bool> frame_tracker::candidate_rows(const fb_mode& m) {
  std::vector<bool> rows(m.height, false);
  auto bits = dirty_ ? dirty_() : std::vector<uint64_t>{};
  if (bits.empty()) {
    std::fill(rows.begin(), rows.end(), true);
    return rows;
  }
  for (size_t w = 0; w < bits.size(); ++w) {
    for (uint64_t word = bits[w]; word; word &= word - 1) {
      uint64_t page = w * 64 + static_cast<uint64_t>(__builtin_ctzll(word));
      uint64_t lo = page * page_size;
      uint64_t hi = lo + page_size; // exclusive
      if (hi <= m.offset)
        continue;
      uint64_t first = lo <= m.offset ? 0 : (lo - m.offset) / m.stride;
      uint64_t last =
          (hi - 1 - std::min<uint64_t>(hi - 1, m.offset)) / m.stride;
      for (uint64_t y = first; y <= last && y < m.height; ++y)
        rows[y] = true;
    }
  }
  return rows;
}

std::vector<rect> frame_tracker::collect_damage() {
  fb_mode m;
  bool changed;
  {
    std::lock_guard lock{mtx_};
    m = mode_;
    changed = mode_changed_;
    mode_changed_ = false;
  }
  std::vector<rect> out;
  if (!mode_fits(m)) {
    if (changed && m.width && m.height)
      out.push_back(rect{0, 0, m.width, m.height});
    shadow_.clear();
    return out;
  }
  uint32_t bpp = bytes_per_pixel(m.bpp);
  size_t row_bytes = size_t{m.width} * bpp;
  auto rows = candidate_rows(m); // also consumes the dirty log
  if (changed || shadow_.size() != row_bytes * m.height) {
    shadow_.resize(row_bytes * m.height);
    for (int y = 0; y < m.height; ++y)
      std::memcpy(shadow_.data() + row_bytes * y,
                  mem_.data() + m.offset + size_t{m.stride} * y, row_bytes);
    out.push_back(rect{0, 0, m.width, m.height});
    return out;
  }
  for (int ty = 0; ty < m.height; ty += tile) {
    int th = std::min(tile, m.height - ty);
    bool any = false;
    for (int y = ty; y < ty + th && !any; ++y)
      any = rows[y];
    if (!any)
      continue;
    int run_start = -1; // horizontal run of changed tiles in this band
    int ntiles = (m.width + tile - 1) / tile;
    for (int i = 0; i <= ntiles; ++i) {
      int tx = i * tile;
      bool diff = false;
      if (i < ntiles) {
        int tw = std::min(tile, m.width - tx);
        size_t off = static_cast<size_t>(tx) * bpp;
        size_t len = static_cast<size_t>(tw) * bpp;
        for (int y = ty; y < ty + th; ++y) {
          if (!rows[y])
            continue;
          const uint8_t* src =
              mem_.data() + m.offset + size_t{m.stride} * y + off;
          uint8_t* sh = shadow_.data() + row_bytes * y + off;
          if (std::memcmp(src, sh, len) != 0) {
            std::memcpy(sh, src, len);
            diff = true;
          }
        }
      }
      if (diff && run_start < 0)
        run_start = tx;
      if (!diff && run_start >= 0) {
        int end = std::min<int>(tx, m.width);
        out.push_back(rect{
            static_cast<uint16_t>(run_start), static_cast<uint16_t>(ty),
            static_cast<uint16_t>(end - run_start), static_cast<uint16_t>(th)});
        run_start = -1;
      }
    }
  }
  return out;
}

} // namespace tb::display
