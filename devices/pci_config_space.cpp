#include "devices/pci_config_space.hpp"

#include <algorithm>

namespace tb::devices {

namespace {

constexpr uint16_t command_writable =
    0x0547; // I/O, mem, master, parity, SERR, INTx off
constexpr uint8_t status_cap_list = 0x10;

// Low type bits of a BAR register: I/O bit, or memory type and prefetch.
uint32_t bar_flags(const pci_bar_def& d) {
  if (d.io)
    return 0x1;
  return (d.is_64bit ? 0x4u : 0u) | (d.prefetchable ? 0x8u : 0u);
}

} // namespace

pci_config_space::pci_config_space(const pci_identity& id,
                                   std::array<pci_bar_def, 6> bars,
                                   pci_bar_listener listener)
    : defs_(bars), listener_(std::move(listener)) {
  put(0x00, id.vendor, 2);
  put(0x02, id.device, 2);
  put(0x08, id.revision, 1);
  put(0x09, id.class_code, 3);
  put(0x2c, id.subsystem_vendor, 2);
  put(0x2e, id.subsystem, 2);
  put(0x3d, id.interrupt_pin, 1);
  put(0x0e, 0, 1); // header type 0, single function
  write_mask_[0x04] = command_writable & 0xff;
  write_mask_[0x05] = command_writable >> 8;
  write_mask_[0x0c] = 0xff; // cache line size
  write_mask_[0x0d] = 0xff; // latency timer
  write_mask_[0x3c] = 0xff; // interrupt line
  for (unsigned i = 0; i < 6; ++i) {
    const auto& d = defs_[i];
    if (d.size == 0)
      continue;
    uint64_t mask = ~(d.size - 1) & ~uint64_t{d.io ? 0x3u : 0xfu};
    put(uint16_t(0x10 + i * 4), bar_flags(d), 4);
    for (unsigned b = 0; b < 4; ++b)
      write_mask_[0x10 + i * 4 + b] = uint8_t(mask >> (8 * b));
    if (d.is_64bit && i < 5) {
      for (unsigned b = 0; b < 4; ++b)
        write_mask_[0x14 + i * 4 + b] = uint8_t(mask >> (32 + 8 * b));
      ++i;
    }
  }
}

void pci_config_space::put(uint16_t offset, uint64_t value, unsigned size) {
  for (unsigned i = 0; i < size && offset + i < 256; ++i)
    bytes_[offset + i] = uint8_t(value >> (8 * i));
}

void pci_config_space::read(uint16_t offset, std::span<uint8_t> data) const {
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = offset + i < 256 ? bytes_[offset + i] : 0xff;
}

void pci_config_space::write(uint16_t offset, std::span<const uint8_t> data) {
  auto before = all_bars();
  for (size_t i = 0; i < data.size() && offset + i < 256; ++i) {
    auto at = offset + i;
    bytes_[at] =
        uint8_t((bytes_[at] & ~write_mask_[at]) | (data[i] & write_mask_[at]));
  }
  notify_changes(before);
}

pci_bar pci_config_space::bar(unsigned index) const {
  pci_bar out;
  if (index >= 6 || defs_[index].size == 0)
    return out;
  const auto& d = defs_[index];
  auto reg = [&](unsigned i) {
    unsigned o = 0x10 + i * 4;
    return uint32_t(bytes_[o] | bytes_[o + 1] << 8 | bytes_[o + 2] << 16
                    | uint32_t(bytes_[o + 3]) << 24);
  };
  uint64_t address = reg(index) & (d.io ? ~0x3u : ~0xfu);
  if (d.is_64bit && index < 5)
    address |= uint64_t(reg(index + 1)) << 32;
  out.address = address;
  out.size = d.size;
  out.io = d.io;
  out.is_64bit = d.is_64bit;
  out.prefetchable = d.prefetchable;
  out.enabled = d.io ? (command() & 0x1) : (command() & 0x2);
  return out;
}

std::array<pci_bar, 6> pci_config_space::all_bars() const {
  std::array<pci_bar, 6> out;
  for (unsigned i = 0; i < 6; ++i)
    out[i] = bar(i);
  return out;
}

void pci_config_space::notify_changes(const std::array<pci_bar, 6>& before) {
  if (!listener_)
    return;
  for (unsigned i = 0; i < 6; ++i) {
    auto now = bar(i);
    if (now.size != 0
        && (now.address != before[i].address
            || now.enabled != before[i].enabled))
      listener_(i, now);
  }
}

void pci_config_space::set_bar_address(unsigned index, uint64_t address) {
  if (index >= 6 || defs_[index].size == 0)
    return;
  auto before = all_bars();
  const auto& d = defs_[index];
  uint64_t value = (address & ~(d.size - 1)) | bar_flags(d);
  put(uint16_t(0x10 + index * 4), value, 4);
  if (d.is_64bit && index < 5)
    put(uint16_t(0x14 + index * 4), value >> 32, 4);
  notify_changes(before);
}

uint8_t pci_config_space::add_capability(uint8_t id,
                                         std::span<const uint8_t> body,
                                         std::span<const uint8_t> writable) {
  size_t len = (2 + body.size() + 3) & ~size_t{3};
  if (next_cap_ + len > 256)
    return 0;
  uint8_t at = next_cap_;
  bytes_[at] = id;
  bytes_[at + 1] = 0;
  std::copy(body.begin(), body.end(), bytes_.begin() + at + 2);
  for (size_t i = 0; i < writable.size() && i < body.size(); ++i)
    write_mask_[at + 2 + i] = writable[i];
  if (last_cap_ == 0)
    bytes_[0x34] = at;
  else
    bytes_[last_cap_ + 1] = at;
  bytes_[0x06] |= status_cap_list;
  last_cap_ = at;
  next_cap_ = uint8_t(at + len);
  return at;
}

void pci_config_space::set_interrupt_status(bool pending) {
  bytes_[0x06] = uint8_t(pending ? bytes_[0x06] | 0x08 : bytes_[0x06] & ~0x08);
}

void pci_config_space::reset() {
  for (size_t i = 0; i < 256; ++i)
    bytes_[i] &= uint8_t(~write_mask_[i]);
  set_interrupt_status(false);
  if (listener_)
    for (unsigned i = 0; i < 6; ++i)
      if (auto b = bar(i); b.size != 0)
        listener_(i, b);
}

void pci_config_space::restore(const std::array<uint8_t, 256>& saved) {
  for (size_t i = 0; i < 256; ++i)
    bytes_[i] =
        uint8_t((bytes_[i] & ~write_mask_[i]) | (saved[i] & write_mask_[i]));
  bytes_[0x06] = uint8_t((bytes_[0x06] & ~0x08) | (saved[0x06] & 0x08));
  if (listener_)
    for (unsigned i = 0; i < 6; ++i)
      if (auto b = bar(i); b.size != 0)
        listener_(i, b);
}

} // namespace tb::devices
