// PCI phase of machine assembly: the host bridge at 0xcf8 and the Bochs
// display (slot 1) with its video memory as a dirty-logged memslot. BARs are
// pre-assigned (there is no firmware); when the guest moves one, the
// listener moves the memslot or the MMIO range with it.
#include "vmm/errors.hpp"
#include "vmm/machine.hpp"
#include "vmm/machine_devices.hpp"

namespace tb::vmm {

namespace {

uint64_t vram_bytes(uint32_t mb) {
  uint64_t want = uint64_t{std::max<uint32_t>(mb, 1)} << 20, size = 1 << 20;
  while (size < want && size < (256ULL << 20))
    size <<= 1;
  return size;
}

/// Puts the display in the mode the kernel's screen_info describes, as a
/// BIOS would have (DISPI: xres, yres, bpp, enable | LFB).
void set_boot_mode(devices::bochs_display& d, const display_spec& s) {
  auto put = [&d](uint16_t index, uint16_t value) {
    uint8_t i[2] = {uint8_t(index), uint8_t(index >> 8)};
    uint8_t v[2] = {uint8_t(value), uint8_t(value >> 8)};
    d.pio_write(0, i);
    d.pio_write(1, v);
  };
  put(uint16_t(devices::dispi::enable), 0);
  put(uint16_t(devices::dispi::xres), uint16_t(s.width));
  put(uint16_t(devices::dispi::yres), uint16_t(s.height));
  put(uint16_t(devices::dispi::bpp), 32);
  // 0x80: no-clear; fresh VRAM is already zero and clearing it would
  // fault in every page.
  put(uint16_t(devices::dispi::enable), 0xc1);
}

} // namespace

caf::error machine::build_pci() {
  auto& d = *devices_;
  auto events = hooks_.on_event;
  d.pci = std::make_unique<devices::pci_host>([events] {
    if (events)
      events(UINT32_MAX, "reset", "reset control register 0xcf9");
  });
  if (auto err = bus_.add_pio(layout::pci_port, 8, *d.pci, "pci_host"))
    return err;
  if (!spec_.display.enabled)
    return caf::none;
  auto size = vram_bytes(spec_.display.vram_mb);
  auto region = memory_->add_device_region("vram", layout::vram_base, size,
                                           slot_flags::log_dirty);
  if (!region)
    return region.error();
  d.vram = *region;
  if (auto err = vm_->set_memory_slot(d.vram->slot, d.vram->gpa, size,
                                      d.vram->host, d.vram->flags))
    return err;
  auto log = hooks_.log;
  auto on_mode = [this, log](const devices::display_mode& m) {
    if (hooks_.display_mode)
      hooks_.display_mode(this, m);
    if (log)
      log("Display: " + std::string{m.enabled ? "" : "disabled, "}
          + std::to_string(m.width) + "x" + std::to_string(m.height) + "x"
          + std::to_string(m.bpp));
  };
  auto on_bar = [this](unsigned index, const devices::pci_bar& bar) {
    move_display_bar(index, bar);
  };
  d.display = std::make_unique<devices::bochs_display>(
      std::span<uint8_t>{d.vram->host, size}, on_mode, on_bar);
  d.display->set_bar_address(0, layout::vram_base);
  d.display->set_bar_address(2, layout::display_mmio_base);
  if (!d.pci->attach(layout::display_slot, 0, *d.display))
    return make_vmm_error(vmm_errc::bad_config, "PCI slot 1 is taken");
  auto lock = std::make_shared<std::mutex>();
  d.display_lock = lock;
  caf::error err;
  if ((err =
           bus_.add_pio(layout::dispi_port, 2, *d.display, "bochs-dispi", lock))
      || (err = bus_.add_mmio(layout::display_mmio_base,
                              layout::display_mmio_size, *d.display,
                              "bochs-mmio", lock)))
    return err;
  set_boot_mode(*d.display, spec_.display);
  d.fb = framebuffer_info{layout::vram_base,
                          spec_.display.width,
                          spec_.display.height,
                          spec_.display.width * 4,
                          32,
                          size};
  return caf::none;
}

void machine::move_display_bar(unsigned index, const devices::pci_bar& bar) {
  auto& d = *devices_;
  if (!bar.enabled || bar.address == 0)
    return; // Sizing or disabled: keep the old mapping until it settles.
  if (index == 0 && bar.address != d.vram->gpa) {
    if (auto err = memory_->remap(*vm_, *d.vram, bar.address);
        err && hooks_.log)
      hooks_.log("Display: cannot move VRAM: " + caf::to_string(err));
  } else if (index == 2 && bar.address != d.display_mmio_at) {
    bus_.remove_mmio(d.display_mmio_at, *d.display);
    d.display_mmio_at = bar.address;
    (void)bus_.add_mmio(bar.address, layout::display_mmio_size, *d.display,
                        "bochs-mmio", d.display_lock);
  }
}

} // namespace tb::vmm
