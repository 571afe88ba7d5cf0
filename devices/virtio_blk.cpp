#include "devices/virtio_blk.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "devices/virtio_detail.hpp"

namespace tb::devices {

using namespace virtio_detail;

namespace {

enum : uint8_t {
  st_acknowledge = 1,
  st_driver = 2,
  st_driver_ok = 4,
  st_features_ok = 8,
  st_needs_reset = 0x40,
  st_failed = 0x80,
};
constexpr uint64_t f_seg_max = 1ull << 2, f_ro = 1ull << 5,
                   f_blk_size = 1ull << 6, f_flush = 1ull << 9,
                   f_version_1 = 1ull << 32;
constexpr uint64_t common_at = 0x0000, isr_at = 0x1000, device_at = 0x2000;
constexpr uint64_t device_cfg_len = 0x24;

pci_identity identity() {
  pci_identity id;
  id.vendor = 0x1af4;
  id.device = 0x1042;       // 0x1040 + device type 2
  id.revision = 0x01;       // modern-only
  id.class_code = 0x010000; // mass storage (SCSI), as QEMU reports
  id.subsystem_vendor = 0x1af4;
  id.subsystem = 0x1100;
  id.interrupt_pin = 1;
  return id;
}

std::array<pci_bar_def, 6> bars() {
  std::array<pci_bar_def, 6> b{};
  b[0] = {virtio_blk::bar_size, false, false, false};
  return b;
}

// A virtio_pci_cap body (after cap_vndr/cap_next): cap_len, cfg_type, bar,
// id, 2 padding, offset, length, [notify_off_multiplier].
std::vector<uint8_t> cap_body(uint8_t type, uint32_t offset, uint32_t length,
                              bool notify) {
  std::vector<uint8_t> b(notify ? 18 : 14, 0);
  b[0] = notify ? 20 : 16;
  b[1] = type;
  for (int i = 0; i < 4; ++i) {
    b[6 + i] = uint8_t(offset >> (8 * i));
    b[10 + i] = uint8_t(length >> (8 * i));
  }
  if (notify)
    b[14] = 4; // notify_off_multiplier
  return b;
}

} // namespace

virtio_blk::virtio_blk(guest_memory& memory, irq_line& irq,
                       block_backend& backend, std::string serial,
                       pci_bar_listener on_bar)
    : memory_(memory), irq_(irq), backend_(backend), serial_(std::move(serial)),
      on_bar_(std::move(on_bar)),
      config_(identity(), bars(), [this](unsigned i, const pci_bar& b) {
        bar_events_.emplace_back(i, b);
      }) {
  config_.add_capability(0x09, cap_body(1, common_at, 0x38, false));
  config_.add_capability(0x09, cap_body(3, isr_at, 4, false));
  config_.add_capability(0x09, cap_body(4, device_at, device_cfg_len, false));
  config_.add_capability(0x09, cap_body(2, notify_offset, 4, true));
  // The PCI_CFG window (the spec requires one): bar, offset and length are
  // the driver's, pci_cfg_data at +16 reaches BAR0 through config space.
  auto window = cap_body(5, 0, 0, false);
  window[0] = 20;
  window.resize(18, 0);
  std::vector<uint8_t> writable(18, 0);
  writable[2] = 0xff;                                    // bar
  std::fill(writable.begin() + 6, writable.end(), 0xff); // offset, length, data
  cfg_cap_ = config_.add_capability(0x09, window, writable);
  state_.capacity = backend.sectors();
  reset_device();
}

uint64_t virtio_blk::offered_features() const {
  return f_version_1 | f_seg_max | f_blk_size | f_flush
         | (backend_.read_only() ? f_ro : 0);
}

void virtio_blk::reset_device() {
  auto config = state_.config;
  auto capacity = state_.capacity;
  auto generation = state_.config_generation;
  state_ = {};
  state_.config = config;
  state_.capacity = capacity;
  state_.config_generation = generation;
  state_.queue_size = max_queue_size;
  ++generation_;
  update_irq();
}

bool virtio_blk::queue_ready() const {
  return (state_.status & st_driver_ok) && !(state_.status & st_needs_reset)
         && state_.queue_enabled;
}

std::array<uint8_t, 0x38> virtio_blk::common_bytes() const {
  std::array<uint8_t, 0x38> b{};
  auto* p = b.data();
  uint64_t features = offered_features();
  store_le(p + 0x00, state_.device_feature_select, 4);
  if (state_.device_feature_select < 2)
    store_le(p + 0x04, features >> (32 * state_.device_feature_select), 4);
  store_le(p + 0x08, state_.driver_feature_select, 4);
  if (state_.driver_feature_select < 2)
    store_le(p + 0x0c,
             state_.driver_features >> (32 * state_.driver_feature_select), 4);
  store_le(p + 0x10, 0xffff, 2); // msix_config: no MSI-X
  store_le(p + 0x12, 1, 2);      // num_queues
  p[0x14] = state_.status;
  p[0x15] = state_.config_generation;
  store_le(p + 0x16, state_.queue_select, 2);
  if (state_.queue_select == 0) {
    store_le(p + 0x18, state_.queue_size, 2);
    store_le(p + 0x1a, 0xffff, 2); // queue_msix_vector
    store_le(p + 0x1c, state_.queue_enabled, 2);
    store_le(p + 0x1e, 0, 2); // queue_notify_off
    store_le(p + 0x20, state_.queue_desc, 8);
    store_le(p + 0x28, state_.queue_driver, 8);
    store_le(p + 0x30, state_.queue_device, 8);
  }
  return b;
}

// Width-agnostic writes: merge the bytes into the register image, then
// apply every field the write touched (a 64-bit address may come as two
// 32-bit halves).
void virtio_blk::write_common(uint64_t offset, std::span<const uint8_t> data) {
  static constexpr std::array<std::pair<unsigned, unsigned>, 14> fields = {
      {{0x00, 4},
       {0x08, 4},
       {0x0c, 4},
       {0x10, 2},
       {0x14, 1},
       {0x16, 2},
       {0x18, 2},
       {0x1a, 2},
       {0x1c, 2},
       {0x20, 8},
       {0x28, 8},
       {0x30, 8},
       {0x04, 4},
       {0x12, 2}}};
  auto image = common_bytes();
  if (offset + data.size() > image.size()) {
    ++counters_.ignored_writes;
    return;
  }
  std::copy(data.begin(), data.end(), image.begin() + long(offset));
  bool touched_any = false;
  for (auto [at, len] : fields) {
    if (offset < at + len && at < offset + data.size()) {
      touched_any = true;
      apply_common_field(at, load_le(image.data() + at, len));
    }
  }
  if (!touched_any)
    ++counters_.ignored_writes;
}

void virtio_blk::apply_common_field(unsigned at, uint64_t v) {
  bool q0 = state_.queue_select == 0;
  bool live = q0 && !state_.queue_enabled; // queue setup only before enable
  switch (at) {
  case 0x00:
    state_.device_feature_select = uint32_t(v);
    return;
  case 0x08:
    state_.driver_feature_select = uint32_t(v);
    return;
  case 0x0c:
    if (state_.driver_feature_select < 2 && !(state_.status & st_features_ok)) {
      unsigned shift = 32 * state_.driver_feature_select;
      state_.driver_features =
          (state_.driver_features & ~(0xffffffffull << shift)) | (v << shift);
      return;
    }
    break;
  case 0x14:
    write_status(uint8_t(v));
    return;
  case 0x16:
    state_.queue_select = uint16_t(v);
    return;
  case 0x18:
    if (live && v && v <= max_queue_size && !(v & (v - 1))) {
      state_.queue_size = uint16_t(v);
      return;
    }
    break;
  case 0x1c:
    if (q0 && v == 1) {
      state_.queue_enabled = true;
      return;
    }
    break;
  case 0x20:
    if (live) {
      state_.queue_desc = v;
      return;
    }
    break;
  case 0x28:
    if (live) {
      state_.queue_driver = v;
      return;
    }
    break;
  case 0x30:
    if (live) {
      state_.queue_device = v;
      return;
    }
    break;
  case 0x10:
  case 0x1a:
    return; // MSI-X vectors: none, writes harmless
  default:
    break; // read-only fields
  }
  ++counters_.ignored_writes;
}

void virtio_blk::write_status(uint8_t value) {
  if (value == 0) {
    reset_device();
    return;
  }
  if ((value & st_features_ok) && !(state_.status & st_features_ok)) {
    uint64_t f = state_.driver_features;
    if ((f & ~offered_features()) || !(f & f_version_1))
      value &= uint8_t(~st_features_ok); // refused: the driver reads it back
  }
  state_.status = uint8_t(value | (state_.status & st_needs_reset));
}

void virtio_blk::mmio_read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard guard{mutex_};
  read_registers(offset, data);
}

void virtio_blk::read_registers(uint64_t offset, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), 0);
  size_t n = data.size();
  if (offset + n <= 0x38) {
    auto image = common_bytes();
    std::copy_n(image.begin() + long(offset), n, data.begin());
  } else if (offset == isr_at && n >= 1) { // reading ISR acknowledges it
    data[0] = state_.isr;
    state_.isr = 0;
    update_irq();
  } else if (offset >= device_at && offset + n <= device_at + device_cfg_len) {
    std::array<uint8_t, device_cfg_len> cfg{};
    store_le(cfg.data() + 0, state_.capacity, 8);
    store_le(cfg.data() + 12, max_queue_size - 2, 4); // seg_max
    store_le(cfg.data() + 20, 512, 4);                // blk_size
    store_le(cfg.data() + 34, 1, 2);                  // num_queues
    std::copy_n(cfg.begin() + long(offset - device_at), n, data.begin());
  } else {
    ++counters_.ignored_reads;
  }
}

void virtio_blk::mmio_write(uint64_t offset, std::span<const uint8_t> data) {
  if (offset >= notify_offset && offset < notify_offset + 4 && !data.empty()) {
    notify_queue(
        uint16_t(load_le(data.data(), std::min<size_t>(2, data.size()))));
    return;
  }
  std::lock_guard guard{mutex_};
  if (offset < 0x38)
    write_common(offset, data);
  else
    ++counters_.ignored_writes; // ISR and device config are read-only
}

void virtio_blk::notify_queue(uint16_t q) {
  if (q != 0) {
    std::lock_guard guard{mutex_};
    ++counters_.ignored_writes;
    return;
  }
  process_queue(true);
}

void virtio_blk::kick() {
  process_queue(false);
}

void virtio_blk::process_queue(bool from_guest) {
  std::vector<pending> batch;
  {
    std::lock_guard guard{mutex_};
    if (!queue_ready()) {
      counters_.ignored_writes += from_guest;
      return;
    }
    collect(batch);
    in_flight_ += batch.size();
  }
  for (auto& p : batch)
    submit(std::move(p));
}

bool virtio_blk::quiesce(std::chrono::milliseconds limit) {
  kick();
  return wait_idle(limit);
}

bool virtio_blk::wait_idle(std::chrono::milliseconds limit) {
  std::unique_lock lock{mutex_};
  return idle_.wait_for(lock, limit, [this] { return in_flight_ == 0; });
}

void virtio_blk::fail_ring() {
  ++counters_.ring_errors;
  state_.status |= st_needs_reset;
  state_.isr |= 0x2; // config change: the driver looks at the status
  update_irq();
}

void virtio_blk::submit(pending p) {
  uint32_t generation;
  {
    std::lock_guard guard{mutex_};
    generation = generation_;
  }
  if (p.immediate) {
    complete(generation, p.head, p.status, p.used_len, p.result);
    return;
  }
  auto head = p.head;
  auto status = p.status;
  auto used_len = p.used_len;
  // A read's data lands in guest memory: complete() records it for a
  // teleport's dirty log.
  std::vector<std::span<uint8_t>> read_data;
  if (p.request.op == block_op::read)
    read_data = p.request.buffers;
  backend_.submit(std::move(p.request),
                  [this, generation, head, status, used_len,
                   data = std::move(read_data)](block_status r) {
                    complete(generation, head, status, used_len, r, data);
                  });
}

void virtio_blk::track_writes(bool on) {
  std::lock_guard guard{mutex_};
  track_writes_ = on;
  written_.clear();
}

std::vector<std::span<const uint8_t>> virtio_blk::take_writes() {
  std::lock_guard guard{mutex_};
  std::vector<std::span<const uint8_t>> out;
  out.swap(written_);
  return out;
}

void virtio_blk::note_write(std::span<const uint8_t> bytes) {
  if (track_writes_ && !bytes.empty())
    written_.push_back(bytes);
}

void virtio_blk::complete(uint32_t generation, uint16_t head,
                          std::span<uint8_t> status, uint32_t used_len,
                          block_status result,
                          std::span<const std::span<uint8_t>> read_data) {
  std::lock_guard guard{mutex_};
  // The backend wrote the data whatever happened meanwhile. (Whoever waits
  // for idle wakes only once this lock is free, so sees every write.)
  for (auto& d : read_data)
    note_write(d);
  if (in_flight_ && --in_flight_ == 0)
    idle_.notify_all();
  if (generation != generation_ || !queue_ready())
    return; // reset meanwhile: the driver forgot this request
  if (!status.empty()) {
    status[0] = uint8_t(result);
    note_write(status);
  }
  uint16_t size = state_.queue_size;
  uint8_t elem[8];
  store_le(elem, head, 4);
  store_le(elem + 4, used_len, 4);
  uint64_t slot = state_.queue_device + 4 + 8ull * (state_.used_idx % size);
  if (!write_guest(memory_, slot, elem, 8))
    return fail_ring();
  note_write(memory_.span(slot, 8));
  std::atomic_thread_fence(std::memory_order_release);
  ++state_.used_idx;
  if (!write_guest(memory_, state_.queue_device + 2, &state_.used_idx, 2))
    return fail_ring();
  note_write(memory_.span(state_.queue_device + 2, 2));
  uint16_t avail_flags = 0;
  read_guest(memory_, state_.queue_driver, &avail_flags, 2);
  if (!(avail_flags & 1)) { // VIRTQ_AVAIL_F_NO_INTERRUPT
    state_.isr |= 0x1;
    update_irq();
  }
}

void virtio_blk::set_capacity(uint64_t sectors) {
  std::lock_guard guard{mutex_};
  state_.capacity = sectors;
  ++state_.config_generation;
  state_.isr |= 0x2;
  update_irq();
}

size_t virtio_blk::in_flight() const {
  std::lock_guard guard{mutex_};
  return in_flight_;
}

void virtio_blk::update_irq() {
  bool level = state_.isr != 0 && !config_.intx_disabled();
  config_.set_interrupt_status(state_.isr != 0);
  if (level != irq_level_)
    irq_.set_level(irq_level_ = level);
}

// Whether a config access hits the PCI_CFG window's data bytes; if so, the
// BAR0 range the driver selected (bar must be 0, length 1, 2 or 4).
bool virtio_blk::window_access(uint16_t offset, size_t size,
                               uint64_t& bar_offset, size_t& length) const {
  uint16_t data_at = uint16_t(cfg_cap_ + 16);
  if (!cfg_cap_ || offset < data_at || offset + size > data_at + 4u)
    return false;
  const auto& b = config_.bytes();
  bar_offset = load_le(&b[cfg_cap_ + 8], 4);
  length = load_le(&b[cfg_cap_ + 12], 4);
  return b[cfg_cap_ + 4] == 0 && (length == 1 || length == 2 || length == 4);
}

void virtio_blk::config_read(uint16_t offset, std::span<uint8_t> data) {
  std::lock_guard guard{mutex_};
  config_.read(offset, data);
  uint64_t at = 0;
  size_t len = 0;
  if (window_access(offset, data.size(), at, len)) {
    uint8_t value[4] = {};
    read_registers(at, std::span<uint8_t>{value, len});
    std::copy_n(value, std::min(len, data.size()), data.begin());
  }
}

void virtio_blk::config_write(uint16_t offset, std::span<const uint8_t> data) {
  uint64_t at = 0;
  size_t len = 0;
  bool window = false;
  uint8_t value[4] = {};
  {
    std::lock_guard guard{mutex_};
    config_.write(offset, data);
    update_irq(); // INTx disable may have changed
    window = window_access(offset, data.size(), at, len);
    if (window)
      std::copy_n(config_.bytes().begin() + cfg_cap_ + 16, 4, value);
  }
  deliver_bar_events();
  if (window) // outside the lock: a notify there processes the queue
    mmio_write(at, std::span<const uint8_t>{value, len});
}

void virtio_blk::reset() {
  {
    std::lock_guard guard{mutex_};
    config_.reset();
    reset_device();
  }
  deliver_bar_events();
}

void virtio_blk::set_bar_address(uint64_t address) {
  {
    std::lock_guard guard{mutex_};
    config_.set_bar_address(0, address);
  }
  deliver_bar_events();
}

void virtio_blk::deliver_bar_events() {
  std::vector<std::pair<unsigned, pci_bar>> events;
  {
    std::lock_guard guard{mutex_};
    events.swap(bar_events_);
  }
  if (on_bar_)
    for (auto& [index, bar] : events)
      on_bar_(index, bar);
}

pci_bar virtio_blk::bar(unsigned index) const {
  std::lock_guard guard{mutex_};
  return config_.bar(index);
}

virtio_blk_state virtio_blk::save() const {
  std::lock_guard guard{mutex_};
  auto s = state_;
  s.config = config_.bytes();
  return s;
}

void virtio_blk::restore(const virtio_blk_state& state) {
  restore_locked(state);
  deliver_bar_events();
}

void virtio_blk::restore_locked(const virtio_blk_state& state) {
  std::lock_guard guard{mutex_};
  config_.restore(state.config);
  state_ = state;
  state_.config = config_.bytes();
  if (!state_.queue_size || state_.queue_size > max_queue_size
      || (state_.queue_size & (state_.queue_size - 1)))
    state_.queue_size = max_queue_size;
  ++generation_;
  update_irq();
}

virtio_blk_counters virtio_blk::counters() const {
  std::lock_guard guard{mutex_};
  return counters_;
}

} // namespace tb::devices
