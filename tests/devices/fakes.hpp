// Test doubles for device tests: an IRQ line that records, guest memory
// backed by a vector, and byte-level register helpers.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "devices/bus.hpp"

namespace tb::devices::test {

/// Records the level and counts rising edges.
class fake_irq final : public irq_line {
public:
  void set_level(bool high) override {
    if (high && !level)
      ++raised;
    level = high;
  }
  bool level = false;
  int raised = 0;
};

/// Guest RAM at guest physical 0 with the bounds checks real memory has.
class fake_memory final : public guest_memory {
public:
  explicit fake_memory(size_t size) : bytes(size) {}
  std::span<uint8_t> span(uint64_t gpa, size_t len) override {
    if (len == 0 || gpa > bytes.size() || len > bytes.size() - gpa)
      return {};
    return {bytes.data() + gpa, len};
  }
  template <class T> void put(uint64_t gpa, T value) {
    std::memcpy(bytes.data() + gpa, &value, sizeof value);
  }
  template <class T> T get(uint64_t gpa) const {
    T v;
    std::memcpy(&v, bytes.data() + gpa, sizeof v);
    return v;
  }
  std::vector<uint8_t> bytes;
};

inline uint8_t inb(pio_device& d, uint16_t off) {
  uint8_t v = 0;
  d.pio_read(off, {&v, 1});
  return v;
}
inline void outb(pio_device& d, uint16_t off, uint8_t v) {
  d.pio_write(off, {&v, 1});
}
inline uint16_t inw(pio_device& d, uint16_t off) {
  uint8_t b[2] = {};
  d.pio_read(off, b);
  return uint16_t(b[0] | b[1] << 8);
}
inline void outw(pio_device& d, uint16_t off, uint16_t v) {
  uint8_t b[2] = {uint8_t(v), uint8_t(v >> 8)};
  d.pio_write(off, b);
}
inline uint32_t inl(pio_device& d, uint16_t off) {
  uint8_t b[4] = {};
  d.pio_read(off, b);
  return uint32_t(b[0] | b[1] << 8 | b[2] << 16 | uint32_t(b[3]) << 24);
}
inline void outl(pio_device& d, uint16_t off, uint32_t v) {
  uint8_t b[4] = {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16),
                  uint8_t(v >> 24)};
  d.pio_write(off, b);
}
template <class T> T mmio_get(mmio_device& d, uint64_t off) {
  uint8_t b[sizeof(T)] = {};
  d.mmio_read(off, b);
  T v;
  std::memcpy(&v, b, sizeof v);
  return v;
}
template <class T> void mmio_put(mmio_device& d, uint64_t off, T v) {
  uint8_t b[sizeof(T)];
  std::memcpy(b, &v, sizeof v);
  d.mmio_write(off, b);
}
template <class T> T cfg_get(pci_function& f, uint16_t off) {
  uint8_t b[sizeof(T)] = {};
  f.config_read(off, b);
  T v;
  std::memcpy(&v, b, sizeof v);
  return v;
}
template <class T> void cfg_put(pci_function& f, uint16_t off, T v) {
  uint8_t b[sizeof(T)];
  std::memcpy(b, &v, sizeof v);
  f.config_write(off, b);
}

} // namespace tb::devices::test
