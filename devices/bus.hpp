// The narrow interfaces between the vCPU executor and emulated devices.
//
// A vCPU exit calls a device's register handler directly (a mailbox round
// trip costs more than the exit itself); everything asynchronous reaches a
// device as a message on its actor side. Devices never see their base address.
#pragma once

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

} // namespace tb::devices
