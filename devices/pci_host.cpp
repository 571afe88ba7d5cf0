#include "devices/pci_host.hpp"

#include <algorithm>

namespace tb::devices {

namespace {

pci_identity i440fx_identity() {
  pci_identity id;
  id.vendor = 0x8086;
  id.device = 0x1237;
  id.revision = 0x02;
  id.class_code = 0x060000; // host bridge
  return id;
}

} // namespace

pci_host::pci_host(std::function<void()> reset_request)
    : reset_request_(std::move(reset_request)), bridge_(i440fx_identity(), {}) {
}

bool pci_host::attach(uint8_t slot, uint8_t fn, pci_function& function) {
  if (slot == 0 || slot > 31 || fn > 7)
    return false;
  auto& entry = functions_[slot << 3 | fn];
  if (entry)
    return false;
  entry = &function;
  return true;
}

// The function CONFIG_ADDRESS selects (nullptr if disabled, not bus 0, or
// empty); `reg` receives the dword-aligned register offset.
pci_function* pci_host::selected(uint16_t& reg) const {
  if (!(config_address_ & 0x80000000u) || ((config_address_ >> 16) & 0xff))
    return nullptr;
  reg = uint16_t(config_address_ & 0xfc);
  return functions_[(config_address_ >> 8) & 0xff];
}

void pci_host::pio_read(uint16_t offset, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), 0xff);
  if (offset == 0 && data.size() == 4) {
    for (size_t i = 0; i < 4; ++i)
      data[i] = uint8_t(config_address_ >> (8 * i));
    return;
  }
  if (offset == 1 && data.size() == 1) { // 0xcf9: nothing latched
    data[0] = 0;
    return;
  }
  if (offset < 4 || offset + data.size() > 8) {
    ++counters_.ignored_reads;
    return;
  }
  if (selects_bridge()) {
    bridge_.read(data_register(offset), data);
    return;
  }
  uint16_t reg = 0;
  if (auto* f = selected(reg))
    f->config_read(uint16_t(reg + (offset - 4)), data);
}

void pci_host::pio_write(uint16_t offset, std::span<const uint8_t> data) {
  if (offset == 0 && data.size() == 4) {
    config_address_ = (uint32_t(data[0]) | uint32_t(data[1]) << 8
                       | uint32_t(data[2]) << 16 | uint32_t(data[3]) << 24)
                      & 0x80fffffcu;
    return;
  }
  if (offset == 1 && data.size() == 1) { // 0xcf9 reset control
    if ((data[0] & 0x04) && reset_request_)
      reset_request_();
    return;
  }
  if (offset < 4 || offset + data.size() > 8) {
    ++counters_.ignored_writes;
    return;
  }
  if (selects_bridge()) {
    bridge_.write(data_register(offset), data);
    return;
  }
  uint16_t reg = 0;
  if (auto* f = selected(reg))
    f->config_write(uint16_t(reg + (offset - 4)), data);
}

bool pci_host::selects_bridge() const {
  return (config_address_ & 0x8000ff00u) == 0x80000000u
         && !((config_address_ >> 16) & 0xff);
}

uint16_t pci_host::data_register(uint16_t offset) const {
  return uint16_t((config_address_ & 0xfc) + (offset - 4));
}

pci_host_state pci_host::save() const {
  return {config_address_, bridge_.bytes()};
}

void pci_host::reset() {
  config_address_ = 0;
  bridge_.reset();
}

void pci_host::restore(const pci_host_state& state) {
  config_address_ = state.config_address & 0x80fffffcu;
  bridge_.restore(state.bridge_config);
}

} // namespace tb::devices
