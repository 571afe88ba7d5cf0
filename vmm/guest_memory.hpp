// Guest-physical memory: RAM in one memfd (shareable with other processes,
// dirty-loggable per slot), laid out around the 32-bit PCI hole.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "vmm/engine.hpp"

namespace tb::vmm {

/// Where RAM stops below 4 GiB; [3 GiB, 4 GiB) is left for PCI BARs, the
/// IOAPIC/LAPIC and the KVM TSS/identity-map pages.
constexpr uint64_t ram_below_4g_max = 3ULL << 30;
constexpr uint64_t high_ram_base = 4ULL << 30;
constexpr uint64_t page_size = 4096;

/// One memory slot: a host mapping at a guest-physical address.
struct memory_region {
  std::string name; ///< "ram-low", "ram-high", "vram", ...
  uint64_t gpa = 0;
  uint64_t size = 0;
  uint8_t* host = nullptr;
  uint32_t slot = 0;
  int fd = -1;         ///< memfd backing the region.
  uint64_t offset = 0; ///< Offset of `host` inside `fd`.
  slot_flags flags = slot_flags::none;
};

/// Owns the guest's RAM and device memory mappings.
class guest_memory {
public:
  /// Allocates `ram_bytes` (a multiple of 4 KiB) of RAM as a memfd. With
  /// `large_pages` the mapping asks for transparent huge pages.
  static caf::expected<std::unique_ptr<guest_memory>> create(uint64_t ram_bytes,
                                                             bool large_pages);

  guest_memory(const guest_memory&) = delete;
  guest_memory& operator=(const guest_memory&) = delete;
  ~guest_memory();

  uint64_t ram_size() const { return ram_size_; }
  uint64_t ram_below_4g() const;
  uint64_t ram_above_4g() const;
  int ram_fd() const { return ram_fd_; }
  bool large_pages() const { return large_pages_; }

  /// Host address of [gpa, gpa + len) if it lies inside one region.
  uint8_t* host_ptr(uint64_t gpa, uint64_t len) const;
  /// Copies into guest memory; fails naming the range if it is not RAM.
  caf::error write(uint64_t gpa, std::span<const uint8_t> bytes);
  caf::error read(uint64_t gpa, std::span<uint8_t> out) const;
  /// Zeroes guest memory (e.g. a reset).
  caf::error fill_zero(uint64_t gpa, uint64_t len);

  /// Adds a separately backed region (video memory) at `gpa`; it joins the
  /// engine with the next map_into() or map_region() call.
  caf::expected<memory_region*> add_device_region(const std::string& name,
                                                  uint64_t gpa, uint64_t size,
                                                  slot_flags flags);
  const std::vector<std::unique_ptr<memory_region>>& regions() const {
    return regions_;
  }
  /// Registers every region with the engine's VM.
  caf::error map_into(engine_vm& vm) const;
  /// Moves a region to `gpa` (a BAR the guest reprogrammed) in `vm`.
  caf::error remap(engine_vm& vm, memory_region& region, uint64_t gpa) const;

private:
  guest_memory() = default;
  uint64_t ram_size_ = 0;
  int ram_fd_ = -1;
  uint8_t* ram_ = nullptr;
  bool large_pages_ = false;
  std::vector<std::unique_ptr<memory_region>> regions_;
};

} // namespace tb::vmm
