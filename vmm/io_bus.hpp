// The bus a vCPU exit is dispatched on: sorted, non-overlapping address
// ranges, each owned by one device, looked up by binary search. Lookups take
// a shared lock only for the search (ranges move when the guest reprograms a
// PCI BAR, possibly from inside another device's handler), and each device
// has its own mutex so two vCPUs never enter it at once.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
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

  /// Removes the range starting at `base` owned by `dev`; false if absent.
  bool remove(Addr base, const Device& dev) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (it->base == base && it->device == &dev) {
        entries_.erase(it);
        return true;
      }
    return false;
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

  /// Removes a range added before (a BAR the guest moved or disabled).
  void remove_pio(uint16_t base, const devices::pio_device& dev);
  void remove_mmio(uint64_t base, const devices::mmio_device& dev);

  /// Dispatches one port access (1, 2 or 4 bytes).
  void pio(uint16_t port, bool is_write, std::span<uint8_t> data) {
    devices::pio_device* dev = nullptr;
    std::mutex* lock = nullptr;
    uint16_t off = 0;
    {
      std::shared_lock<std::shared_mutex> ranges{ranges_mtx_};
      if (auto* e = pio_.find(port)) {
        dev = e->device;
        lock = e->lock.get();
        off = static_cast<uint16_t>(port - e->base);
      }
    }
    if (!dev) {
      unclaimed(is_write, data, counters_.unclaimed_pio_writes,
                counters_.unclaimed_pio_reads);
      return;
    }
    std::lock_guard<std::mutex> guard{*lock};
    if (is_write)
      dev->pio_write(off, data);
    else
      dev->pio_read(off, data);
  }

  /// Dispatches one MMIO access (1 to 8 bytes).
  void mmio(uint64_t gpa, bool is_write, std::span<uint8_t> data) {
    devices::mmio_device* dev = nullptr;
    std::mutex* lock = nullptr;
    uint64_t off = 0;
    {
      std::shared_lock<std::shared_mutex> ranges{ranges_mtx_};
      if (auto* e = mmio_.find(gpa)) {
        dev = e->device;
        lock = e->lock.get();
        off = gpa - e->base;
      }
    }
    if (!dev) {
      unclaimed(is_write, data, counters_.unclaimed_mmio_writes,
                counters_.unclaimed_mmio_reads);
      return;
    }
    std::lock_guard<std::mutex> guard{*lock};
    if (is_write)
      dev->mmio_write(off, data);
    else
      dev->mmio_read(off, data);
  }

  /// Copies of the range tables (for logs and tests).
  pio_bus pio_ranges() const {
    std::shared_lock<std::shared_mutex> ranges{ranges_mtx_};
    return pio_;
  }
  mmio_bus mmio_ranges() const {
    std::shared_lock<std::shared_mutex> ranges{ranges_mtx_};
    return mmio_;
  }
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

  /// Guards the range tables (not the devices). Dispatch keeps a raw
  /// pointer to a device mutex after unlocking, so every mutex ever added
  /// stays alive in `locks_` until the bus goes away.
  mutable std::shared_mutex ranges_mtx_;
  std::vector<std::shared_ptr<std::mutex>> locks_;
  pio_bus pio_;
  mmio_bus mmio_;
  bus_counters counters_;
};

} // namespace tb::vmm
