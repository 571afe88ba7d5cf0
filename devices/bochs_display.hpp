// Bochs/QEMU "stdvga" display without the legacy VGA core: PCI 1234:1111,
// BAR0 = linear frame buffer (VRAM), BAR2 = 4 KiB MMIO with the dispi
// registers at 0x500, plus the dispi index/data ports 0x1ce/0x1cf.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>

#include <caf/meta/type_name.hpp>

#include "devices/bus.hpp"
#include "devices/pci_config_space.hpp"

namespace tb::devices {

/// Saved state: config space, dispi index and registers.
struct bochs_display_state {
  std::array<uint8_t, 256> config{};
  uint16_t index = 0;
  std::array<uint16_t, 11> regs{};
  bool operator==(const bochs_display_state&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bochs_display_state& x) {
  return f(caf::meta::type_name("bochs_display_state"), x.config, x.index,
           x.regs);
}

/// The scan-out the guest selected; reported on every change.
struct display_mode {
  bool enabled = false;
  uint32_t width = 0;
  uint32_t height = 0;
  uint32_t bpp = 0;       ///< 8, 15, 16, 24 or 32
  uint32_t stride = 0;    ///< bytes per line (virtual width)
  uint64_t fb_offset = 0; ///< first visible byte in VRAM (x/y offset)
  bool operator==(const display_mode&) const = default;
};

/// dispi register indexes (ports 0x1ce/0x1cf, MMIO 0x500 + 2 * index).
enum class dispi : uint16_t {
  id = 0,
  xres,
  yres,
  bpp,
  enable,
  bank,
  virt_width,
  virt_height,
  x_offset,
  y_offset,
  video_memory_64k,
};

/// The display device. VRAM is host memory the machine also maps as a
/// memslot at BAR0 (bar_listener reports moves); the device only clears it
/// on a mode set without NOCLEARMEM. Port offsets: 0 index, 1 data (16-bit).
class bochs_display final : public pio_device,
                            public mmio_device,
                            public pci_function {
public:
  using mode_listener = std::function<void(const display_mode&)>;
  static constexpr uint16_t max_xres = 2560, max_yres = 1600;

  /// `vram` must be a power of two of at least 1 MiB (16 MiB suggested).
  bochs_display(std::span<uint8_t> vram, mode_listener on_mode,
                pci_bar_listener on_bar = {});

  display_mode mode() const;
  /// Machine-side BAR placement: 0 = frame buffer, 2 = MMIO registers.
  void set_bar_address(unsigned bar, uint64_t address) {
    config_.set_bar_address(bar, address);
  }

  bochs_display_state save() const;
  void restore(const bochs_display_state& state);
  /// Power-on values: display off, BARs unassigned (set_bar_address again
  /// when no firmware assigns them).
  void reset();
  const device_counters& counters() const { return counters_; }

  // pio_device (0x1ce index, 0x1cf data)
  void pio_read(uint16_t offset, std::span<uint8_t> data) override;
  void pio_write(uint16_t offset, std::span<const uint8_t> data) override;
  // mmio_device (BAR2)
  void mmio_read(uint64_t offset, std::span<uint8_t> data) override;
  void mmio_write(uint64_t offset, std::span<const uint8_t> data) override;
  // pci_function
  void config_read(uint16_t offset, std::span<uint8_t> data) override {
    config_.read(offset, data);
  }
  void config_write(uint16_t offset, std::span<const uint8_t> data) override {
    config_.write(offset, data);
  }
  pci_bar bar(unsigned index) const override { return config_.bar(index); }

private:
  uint16_t read_reg(uint16_t index) const;
  void write_reg(uint16_t index, uint16_t value);
  void fix_geometry();
  void report_if_changed();

  std::span<uint8_t> vram_;
  mode_listener on_mode_;
  pci_config_space config_;
  uint16_t index_ = 0;
  std::array<uint16_t, 11> regs_{};
  std::array<uint16_t, 11> power_on_regs_{};
  display_mode reported_;
  device_counters counters_;
};

} // namespace tb::devices
