#include "devices/bochs_display.hpp"

#include <algorithm>
#include <cstring>

namespace tb::devices {

namespace {

enum : uint16_t {
  en_enabled = 0x01,
  en_getcaps = 0x02,
  en_8bit_dac = 0x20,
  en_lfb = 0x40,
  en_noclearmem = 0x80,
  id_first = 0xb0c0,
  id_last = 0xb0c5,
  mmio_dispi = 0x500,
};

pci_identity identity() {
  pci_identity id;
  id.vendor = 0x1234;
  id.device = 0x1111;
  id.revision = 0x02;
  id.class_code = 0x030000; // VGA-compatible display
  id.subsystem_vendor = 0x1af4;
  id.subsystem = 0x1100;
  return id;
}

std::array<pci_bar_def, 6> bars(size_t vram_size) {
  std::array<pci_bar_def, 6> b{};
  b[0] = {vram_size, false, true, false};
  b[2] = {4096, false, false, false};
  return b;
}

uint32_t bytes_per_pixel(uint32_t bpp) {
  return bpp == 15 ? 2 : (bpp + 7) / 8;
}

bool valid_bpp(uint16_t bpp) {
  return bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 || bpp == 32;
}

} // namespace

bochs_display::bochs_display(std::span<uint8_t> vram, mode_listener on_mode,
                             pci_bar_listener on_bar)
    : vram_(vram), on_mode_(std::move(on_mode)),
      config_(identity(), bars(vram.size()), std::move(on_bar)) {
  regs_[size_t(dispi::id)] = id_last;
  regs_[size_t(dispi::xres)] = 640;
  regs_[size_t(dispi::yres)] = 480;
  regs_[size_t(dispi::bpp)] = 32;
  regs_[size_t(dispi::video_memory_64k)] = uint16_t(vram.size() >> 16);
  fix_geometry();
  power_on_regs_ = regs_;
}

void bochs_display::reset() {
  config_.reset();
  index_ = 0;
  regs_ = power_on_regs_;
  report_if_changed();
}

display_mode bochs_display::mode() const {
  display_mode m;
  m.enabled = regs_[size_t(dispi::enable)] & en_enabled;
  if (!m.enabled)
    return m;
  m.width = regs_[size_t(dispi::xres)];
  m.height = regs_[size_t(dispi::yres)];
  m.bpp = regs_[size_t(dispi::bpp)];
  m.stride = regs_[size_t(dispi::virt_width)] * bytes_per_pixel(m.bpp);
  m.fb_offset =
      uint64_t(regs_[size_t(dispi::y_offset)]) * m.stride
      + uint64_t(regs_[size_t(dispi::x_offset)]) * bytes_per_pixel(m.bpp);
  return m;
}

// Keeps the mode inside VRAM, like QEMU's vbe_fixup_regs: the virtual width
// is at least the visible width, the virtual height follows from VRAM, the
// offsets keep the visible window inside.
void bochs_display::fix_geometry() {
  auto& r = regs_;
  auto& bpp = r[size_t(dispi::bpp)];
  if (!valid_bpp(bpp))
    bpp = 32;
  auto& xres = r[size_t(dispi::xres)];
  auto& yres = r[size_t(dispi::yres)];
  xres = uint16_t(std::clamp<uint16_t>(xres, 8, max_xres) & ~7u);
  yres = std::clamp<uint16_t>(yres, 1, max_yres);
  auto& vw = r[size_t(dispi::virt_width)];
  vw = std::clamp<uint16_t>(vw, xres, max_xres);
  uint64_t stride = uint64_t(vw) * bytes_per_pixel(bpp);
  if (stride * yres > vram_.size()) { // too big: fall back to the visible size
    vw = xres;
    stride = uint64_t(vw) * bytes_per_pixel(bpp);
    if (stride * yres > vram_.size())
      yres = uint16_t(std::max<uint64_t>(1, vram_.size() / stride));
  }
  r[size_t(dispi::virt_height)] =
      uint16_t(std::min<uint64_t>(vram_.size() / stride, 0xffff));
  auto& xo = r[size_t(dispi::x_offset)];
  auto& yo = r[size_t(dispi::y_offset)];
  xo = std::min<uint16_t>(xo, uint16_t(vw - xres));
  yo = std::min<uint16_t>(
      yo, uint16_t(std::max<int>(0, r[size_t(dispi::virt_height)] - yres)));
}

uint16_t bochs_display::read_reg(uint16_t index) const {
  bool caps = regs_[size_t(dispi::enable)] & en_getcaps;
  switch (dispi(index)) {
  case dispi::xres:
    return caps ? max_xres : regs_[index];
  case dispi::yres:
    return caps ? max_yres : regs_[index];
  case dispi::bpp:
    return caps ? 32 : regs_[index];
  default:
    return index < regs_.size() ? regs_[index] : 0;
  }
}

void bochs_display::write_reg(uint16_t index, uint16_t value) {
  switch (dispi(index)) {
  case dispi::id:
    if (value >= id_first && value <= id_last)
      regs_[index] = value;
    else
      ++counters_.ignored_writes;
    return;
  case dispi::enable: {
    bool was = regs_[index] & en_enabled;
    regs_[index] =
        value
        & (en_enabled | en_getcaps | en_8bit_dac | en_lfb | en_noclearmem);
    if (!was && (value & en_enabled)) { // a mode set starts unpanned
      regs_[size_t(dispi::virt_width)] = regs_[size_t(dispi::xres)];
      regs_[size_t(dispi::x_offset)] = regs_[size_t(dispi::y_offset)] = 0;
    }
    fix_geometry();
    if (!was && (value & en_enabled) && !(value & en_noclearmem)) {
      auto m = mode();
      size_t n = std::min<uint64_t>(
          vram_.size(), uint64_t(m.stride) * regs_[size_t(dispi::yres)]);
      std::memset(vram_.data(), 0, n);
    }
    break;
  }
  case dispi::bank:
    regs_[index] = uint16_t(std::min<size_t>(value, vram_.size() >> 16));
    return;
  case dispi::virt_height:
  case dispi::video_memory_64k:
    ++counters_.ignored_writes; // derived / read-only
    return;
  default:
    if (index >= regs_.size()) {
      ++counters_.ignored_writes;
      return;
    }
    regs_[index] = value;
    fix_geometry();
  }
  report_if_changed();
}

void bochs_display::report_if_changed() {
  auto m = mode();
  if (m != reported_) {
    reported_ = m;
    if (on_mode_)
      on_mode_(m);
  }
}

void bochs_display::pio_read(uint16_t offset, std::span<uint8_t> data) {
  uint16_t v = 0;
  if (data.size() == 2 && offset == 0)
    v = index_;
  else if (data.size() == 2 && offset == 1)
    v = read_reg(index_);
  else {
    std::fill(data.begin(), data.end(), 0xff);
    ++counters_.ignored_reads;
    return;
  }
  data[0] = uint8_t(v);
  data[1] = uint8_t(v >> 8);
}

void bochs_display::pio_write(uint16_t offset, std::span<const uint8_t> data) {
  if (data.size() != 2 || offset > 1) {
    ++counters_.ignored_writes;
    return;
  }
  uint16_t v = uint16_t(data[0] | data[1] << 8);
  if (offset == 0)
    index_ = v;
  else
    write_reg(index_, v);
}

void bochs_display::mmio_read(uint64_t offset, std::span<uint8_t> data) {
  uint64_t rel = offset - mmio_dispi;
  if (offset < mmio_dispi || data.size() != 2 || (rel & 1)
      || rel / 2 >= regs_.size()) {
    std::fill(data.begin(), data.end(), 0xff);
    ++counters_.ignored_reads;
    return;
  }
  uint16_t v = read_reg(uint16_t(rel / 2));
  data[0] = uint8_t(v);
  data[1] = uint8_t(v >> 8);
}

void bochs_display::mmio_write(uint64_t offset, std::span<const uint8_t> data) {
  uint64_t rel = offset - mmio_dispi;
  if (offset < mmio_dispi || data.size() != 2 || (rel & 1)
      || rel / 2 >= regs_.size()) {
    ++counters_.ignored_writes;
    return;
  }
  write_reg(uint16_t(rel / 2), uint16_t(data[0] | data[1] << 8));
}

bochs_display_state bochs_display::save() const {
  return {config_.bytes(), index_, regs_};
}

void bochs_display::restore(const bochs_display_state& state) {
  config_.restore(state.config);
  index_ = state.index;
  regs_ = state.regs;
  regs_[size_t(dispi::video_memory_64k)] = uint16_t(vram_.size() >> 16);
  if (regs_[size_t(dispi::id)] < id_first || regs_[size_t(dispi::id)] > id_last)
    regs_[size_t(dispi::id)] = id_last;
  fix_geometry();
  report_if_changed();
}

} // namespace tb::devices
