// virtio-blk over the virtio 1.x modern PCI transport (1af4:1042), one
// split virtqueue, INTx interrupt. Registers live in BAR0 (16 KiB).
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "devices/block_backend.hpp"
#include "devices/bus.hpp"
#include "devices/pci_config_space.hpp"

namespace tb::devices {

/// Saved state. Take it only while no request is in flight (in_flight()).
struct virtio_blk_state {
  std::array<uint8_t, 256> config{};
  uint8_t status = 0;
  uint8_t isr = 0;
  uint8_t config_generation = 0;
  uint32_t device_feature_select = 0;
  uint32_t driver_feature_select = 0;
  uint64_t driver_features = 0;
  uint16_t queue_select = 0;
  uint16_t queue_size = 0;
  bool queue_enabled = false;
  uint64_t queue_desc = 0;
  uint64_t queue_driver = 0;
  uint64_t queue_device = 0;
  uint16_t last_avail = 0;
  uint16_t used_idx = 0;
  uint64_t capacity = 0;
  bool operator==(const virtio_blk_state&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, virtio_blk_state& x) {
  return f(caf::meta::type_name("virtio_blk_state"), x.config, x.status, x.isr,
           x.config_generation, x.device_feature_select,
           x.driver_feature_select, x.driver_features, x.queue_select,
           x.queue_size, x.queue_enabled, x.queue_desc, x.queue_driver,
           x.queue_device, x.last_avail, x.used_idx, x.capacity);
}

/// What virtio_blk refused from the guest beyond plain ignored accesses.
struct virtio_blk_counters : device_counters {
  uint64_t bad_requests = 0; ///< malformed chains, out-of-range buffers
  uint64_t ring_errors = 0;  ///< broken rings: the device set NEEDS_RESET
};

/// BAR0 layout (plus the PCI_CFG access window in config space):
/// 0x0000 common config, 0x1000 ISR, 0x2000 device config
/// (virtio_blk_config), 0x3000 queue notify (multiplier 4, queue 0 at
/// 0x3000). Features: VERSION_1, SEG_MAX, BLK_SIZE, FLUSH, RO (read-only
/// media). Requests IN, OUT, FLUSH, GET_ID; every ring index, descriptor
/// and buffer is bounds-checked through guest_memory, so a malicious guest
/// gets IOERR/UNSUPP or NEEDS_RESET, never a host fault. Thread-safe: the
/// vCPU (MMIO, notify) and the backend's completions may call in from
/// different threads.
class virtio_blk final : public mmio_device, public pci_function {
public:
  static constexpr uint16_t max_queue_size = 256;
  static constexpr uint64_t bar_size = 0x4000;
  static constexpr uint64_t notify_offset = 0x3000;

  /// `serial` is returned by GET_ID (at most 20 bytes used).
  virtio_blk(guest_memory& memory, irq_line& irq, block_backend& backend,
             std::string serial, pci_bar_listener on_bar = {});

  /// Processes new requests on queue `q` (0); the notify register and an
  /// ioeventfd on BAR0 + notify_offset both end here (an ioeventfd does
  /// not see the value written, so its owner passes 0).
  void notify_queue(uint16_t q);
  /// Drains the device so save() is legal: processes whatever the guest
  /// queued (a notify still pending in an ioeventfd included; the caller
  /// has consumed the eventfd or calls this after doing so), then waits
  /// until every request handed to the backend has completed. Call with
  /// the vCPUs paused, else the guest may queue more behind it. Returns
  /// false when requests are still in flight after `limit` (save() is not
  /// legal then). The backend's completions must be able to run meanwhile:
  /// never call it on the thread they are delivered on.
  bool quiesce(std::chrono::milliseconds limit);
  /// Waits up to `limit` until no request is in flight, without looking at
  /// the queue (teardown: nothing new is started). True when idle.
  bool wait_idle(std::chrono::milliseconds limit);
  /// After restore() (and the guest memory it points into): processes
  /// requests the guest queued but the saved device had not yet seen, as a
  /// notify would. Does nothing while the queue is not live.
  void kick();
  /// While on, the device remembers the guest memory it writes (status
  /// bytes, used ring, data of reads and GET_ID): a teleport's dirty log
  /// (KVM's) sees only the vCPUs' writes. Off forgets what was recorded.
  void track_writes(bool on);
  /// The host ranges of guest memory written since the last call (each
  /// recorded after the write), while track_writes is on.
  std::vector<std::span<const uint8_t>> take_writes();
  /// Online resize: new capacity, config-change interrupt.
  void set_capacity(uint64_t sectors);
  size_t in_flight() const;
  void set_bar_address(uint64_t address);

  virtio_blk_state save() const;
  void restore(const virtio_blk_state& state);
  /// System reset: device status 0 (in-flight completions are dropped) and
  /// config space at power-on values (set_bar_address again if needed).
  void reset();
  virtio_blk_counters counters() const;

  // mmio_device (BAR0)
  void mmio_read(uint64_t offset, std::span<uint8_t> data) override;
  void mmio_write(uint64_t offset, std::span<const uint8_t> data) override;
  // pci_function
  void config_read(uint16_t offset, std::span<uint8_t> data) override;
  void config_write(uint16_t offset, std::span<const uint8_t> data) override;
  pci_bar bar(unsigned index) const override;

private:
  struct pending;
  std::array<uint8_t, 0x38> common_bytes() const;
  void write_common(uint64_t offset, std::span<const uint8_t> data);
  void apply_common_field(unsigned field_offset, uint64_t value);
  void write_status(uint8_t value);
  void reset_device();
  uint64_t offered_features() const;
  bool queue_ready() const;
  void collect(std::vector<pending>& out);
  bool parse_chain(uint16_t head, pending& out);
  void process_queue(bool from_guest);
  void submit(pending p);
  void complete(uint32_t generation, uint16_t head, std::span<uint8_t> status,
                uint32_t used_len, block_status result,
                std::span<const std::span<uint8_t>> read_data = {});
  void note_write(std::span<const uint8_t> bytes); ///< Under mutex_.
  void update_irq();
  void fail_ring();
  void deliver_bar_events();
  void read_registers(uint64_t offset, std::span<uint8_t> data);
  bool window_access(uint16_t offset, size_t size, uint64_t& bar_offset,
                     size_t& length) const;
  void restore_locked(const virtio_blk_state& state);

  guest_memory& memory_;
  irq_line& irq_;
  block_backend& backend_;
  std::string serial_;
  mutable std::mutex mutex_;
  std::condition_variable idle_; ///< in_flight_ reached 0
  pci_bar_listener on_bar_;
  // BAR changes recorded under mutex_ and delivered after it is released,
  // so the machine may remap (and take its own locks) without deadlock.
  std::vector<std::pair<unsigned, pci_bar>> bar_events_;
  pci_config_space config_;
  virtio_blk_state state_;
  virtio_blk_counters counters_;
  uint8_t cfg_cap_ = 0;     ///< VIRTIO_PCI_CAP_PCI_CFG window in config space
  uint32_t generation_ = 0; ///< bumped by reset: late completions are dropped
  size_t in_flight_ = 0;
  bool irq_level_ = false;
  bool track_writes_ = false;
  std::vector<std::span<const uint8_t>> written_; ///< While track_writes_.
};

} // namespace tb::devices
