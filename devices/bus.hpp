// The narrow interfaces between the vCPU executor and emulated devices.
//
// A vCPU exit calls a device's register handler directly (a mailbox round
// trip costs more than the exit itself); everything asynchronous reaches a
// device as a message on its actor side. Devices never see their base address.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

namespace tb::devices {

/// Something that answers port I/O inside its own range.
class pio_device {
public:
  virtual ~pio_device() = default;
  /// Fills `data` (1, 2 or 4 bytes) from the register at `offset`.
  virtual void pio_read(uint16_t offset, std::span<uint8_t> data) = 0;
  virtual void pio_write(uint16_t offset, std::span<const uint8_t> data) = 0;
};

/// Something that answers MMIO inside its own range.
class mmio_device {
public:
  virtual ~mmio_device() = default;
  virtual void mmio_read(uint64_t offset, std::span<uint8_t> data) = 0;
  virtual void mmio_write(uint64_t offset, std::span<const uint8_t> data) = 0;
};

/// An interrupt line the device drives (edge: raise then lower).
class irq_line {
public:
  virtual ~irq_line() = default;
  virtual void set_level(bool high) = 0;
  void pulse() {
    set_level(true);
    set_level(false);
  }
};

/// Host monotonic time in nanoseconds, injected so tests pin the clock.
using clock_fn = std::function<uint64_t()>;

/// What a device ignored from the guest; guest input never fails the host.
struct device_counters {
  uint64_t ignored_reads = 0;
  uint64_t ignored_writes = 0;
};

/// Guest physical memory as a DMA-capable device sees it (virtio rings and
/// buffers). Implementations bounds-check: a guest address range that is not
/// entirely backed by guest RAM yields an empty span, never a host fault.
class guest_memory {
public:
  virtual ~guest_memory() = default;
  /// The host bytes behind [gpa, gpa + len), or an empty span if any part of
  /// the range is outside guest RAM (or len is 0).
  virtual std::span<uint8_t> span(uint64_t gpa, size_t len) = 0;
};

/// One base address register of a PCI function, as the guest programmed it.
struct pci_bar {
  uint64_t address = 0;  ///< Base address; 0 while unassigned.
  uint64_t size = 0;     ///< Decoded size in bytes; 0 = BAR not implemented.
  bool io = false;       ///< I/O-space BAR (else memory).
  bool is_64bit = false; ///< Memory BAR spanning this and the next register.
  bool prefetchable = false;
  bool enabled = false; ///< The command register enables its decoding.
};

/// Called when the guest moves a BAR or toggles its decoding (command
/// register bits 0/1), so the machine can remap a memslot or MMIO range.
using pci_bar_listener =
    std::function<void(unsigned index, const pci_bar& bar)>;

/// A PCI function's 256-byte configuration space, reached through the host
/// bridge (devices/pci_host.hpp). Separate from its BAR register interfaces.
class pci_function {
public:
  virtual ~pci_function() = default;
  /// Fills `data` (1, 2 or 4 bytes, naturally aligned) from config `offset`.
  virtual void config_read(uint16_t offset, std::span<uint8_t> data) = 0;
  virtual void config_write(uint16_t offset, std::span<const uint8_t> data) = 0;
  /// BAR `index` (0..5) as currently programmed.
  virtual pci_bar bar(unsigned index) const = 0;
};

} // namespace tb::devices
