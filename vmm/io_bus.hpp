// The bus a vCPU exit is dispatched on: sorted, non-overlapping address
// ranges, each owned by one device, looked up by binary search. Built during
// machine assembly and read-only while vCPUs run, so lookups take no lock;
// each device has its own mutex so two vCPUs never enter it at once.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "devices/bus.hpp"

namespace tb::vmm {

/// Ranges [base, base + size) of one address space mapped to devices.
template <class Device, class Addr> class address_bus {
public:
  struct entry {
    Addr base;
    Addr size;
    Device* device;
    std::string name;
    std::shared_ptr<std::mutex> lock; ///< Serialises the device.
  };

  /// Adds a range; overlapping ranges are a telebox bug (assembly error).
  bool add(Addr base, Addr size, Device& dev, std::string name,
           std::shared_ptr<std::mutex> lock) {
    if (size == 0 || base + (size - 1) < base)
      return false;
    auto pos =
        std::lower_bound(entries_.begin(), entries_.end(), base,
                         [](const entry& e, Addr b) { return e.base < b; });
    if (pos != entries_.end() && pos->base <= base + (size - 1))
      return false;
    if (pos != entries_.begin()) {
      auto& prev = *(pos - 1);
      if (prev.base + (prev.size - 1) >= base)
        return false;
    }
    entries_.insert(pos,
                    entry{base, size, &dev, std::move(name), std::move(lock)});
    return true;
  }

  /// The entry containing `addr`, or nullptr.
  const entry* find(Addr addr) const {
    auto pos =
        std::upper_bound(entries_.begin(), entries_.end(), addr,
                         [](Addr a, const entry& e) { return a < e.base; });
    if (pos == entries_.begin())
      return nullptr;
    const auto& e = *(pos - 1);
    return addr - e.base < e.size ? &e : nullptr;
  }

  const std::vector<entry>& entries() const { return entries_; }

private:
  std::vector<entry> entries_;
};

/// Accesses no device claimed: reads see all-ones, writes vanish.
struct bus_counters {
  uint64_t unclaimed_pio_reads = 0;
  uint64_t unclaimed_pio_writes = 0;
  uint64_t unclaimed_mmio_reads = 0;
  uint64_t unclaimed_mmio_writes = 0;
};

/// Port I/O and MMIO buses of one machine.
class io_bus {
public:
  using pio_bus = address_bus<devices::pio_device, uint16_t>;
  using mmio_bus = address_bus<devices::mmio_device, uint64_t>;

  /// Claims ports [base, base + count). Fails naming both devices on overlap.
  caf::error add_pio(uint16_t base, uint16_t count, devices::pio_device& dev,
                     const std::string& name,
                     std::shared_ptr<std::mutex> lock = nullptr);
  caf::error add_mmio(uint64_t base, uint64_t size, devices::mmio_device& dev,
                      const std::string& name,
                      std::shared_ptr<std::mutex> lock = nullptr);

  /// Dispatches one port access (1, 2 or 4 bytes).
  void pio(uint16_t port, bool is_write, std::span<uint8_t> data) {
    if (auto* e = pio_.find(port)) {
      std::lock_guard<std::mutex> guard{*e->lock};
      auto off = static_cast<uint16_t>(port - e->base);
      if (is_write)
        e->device->pio_write(off, data);
      else
        e->device->pio_read(off, data);
      return;
    }
    unclaimed(is_write, data, counters_.unclaimed_pio_writes,
              counters_.unclaimed_pio_reads);
  }

  /// Dispatches one MMIO access (1 to 8 bytes).
  void mmio(uint64_t gpa, bool is_write, std::span<uint8_t> data) {
    if (auto* e = mmio_.find(gpa)) {
      std::lock_guard<std::mutex> guard{*e->lock};
      if (is_write)
        e->device->mmio_write(gpa - e->base, data);
      else
        e->device->mmio_read(gpa - e->base, data);
      return;
    }
    unclaimed(is_write, data, counters_.unclaimed_mmio_writes,
              counters_.unclaimed_mmio_reads);
  }

  const pio_bus& pio_ranges() const { return pio_; }
  const mmio_bus& mmio_ranges() const { return mmio_; }
  /// Approximate under concurrent vCPUs (plain counters, diagnostics only).
  const bus_counters& counters() const { return counters_; }

private:
  static void unclaimed(bool is_write, std::span<uint8_t> data,
                        uint64_t& writes, uint64_t& reads) {
    if (is_write) {
      ++writes;
    } else {
      ++reads;
      std::fill(data.begin(), data.end(), uint8_t{0xff});
    }
  }

  pio_bus pio_;
  mmio_bus mmio_;
  bus_counters counters_;
};

} // namespace tb::vmm
