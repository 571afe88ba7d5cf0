#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "devices/virtio_blk.hpp"
#include "tests/devices/fakes.hpp"

namespace tb::devices {
namespace {

using namespace test;

/// RAM-disk backend; optionally holds completions to test asynchrony.
class ram_backend final : public block_backend {
public:
  explicit ram_backend(uint64_t sectors) : disk(sectors * 512) {}
  uint64_t sectors() const override { return disk.size() / 512; }
  bool read_only() const override { return ro; }
  void submit(block_request r, block_completion done) override {
    ++submitted;
    if (r.op != block_op::flush) {
      uint64_t pos = r.sector * 512;
      for (auto b : r.buffers) {
        if (r.op == block_op::read)
          std::memcpy(b.data(), disk.data() + pos, b.size());
        else
          std::memcpy(disk.data() + pos, b.data(), b.size());
        pos += b.size();
      }
    }
    if (hold)
      held.push_back(std::move(done));
    else
      done(block_status::ok);
  }
  std::vector<uint8_t> disk;
  bool ro = false;
  bool hold = false;
  int submitted = 0;
  std::vector<block_completion> held;
};

// Guest layout in the fake RAM: rings at 0x1000/0x2000/0x3000, request
// header 0x4000, status 0x4100, data 0x5000.
constexpr uint64_t desc = 0x1000, avail = 0x2000, used = 0x3000;
constexpr uint64_t hdr = 0x4000, status_at = 0x4100, data_at = 0x5000;

struct virtio_fixture : ::testing::Test {
  fake_memory mem{1 << 20};
  fake_irq irq;
  ram_backend backend{2048};
  virtio_blk dev{mem, irq, backend, "tb-serial-0001"};
  uint16_t next_avail = 0;

  void common8(uint64_t off, uint8_t v) { mmio_put<uint8_t>(dev, off, v); }
  void common16(uint64_t off, uint16_t v) { mmio_put<uint16_t>(dev, off, v); }
  void common32(uint64_t off, uint32_t v) { mmio_put<uint32_t>(dev, off, v); }

  // The driver side of device initialisation (virtio 1.x section 3.1).
  void bring_up(uint16_t qsize = 8) {
    common8(0x14, 0);
    common8(0x14, 1 | 2);
    common32(0x08, 1);
    common32(0x0c, 1); // VERSION_1
    common32(0x08, 0);
    common32(0x0c, 1u << 9); // FLUSH
    common8(0x14, 1 | 2 | 8);
    common16(0x16, 0);
    common16(0x18, qsize);
    common32(0x20, desc);
    common32(0x24, 0);
    common32(0x28, avail);
    common32(0x30, used);
    common16(0x1c, 1);
    common8(0x14, 1 | 2 | 4 | 8);
  }

  void put_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                uint16_t next) {
    mem.put<uint64_t>(desc + 16 * i, addr);
    mem.put<uint32_t>(desc + 16 * i + 8, len);
    mem.put<uint16_t>(desc + 16 * i + 12, flags);
    mem.put<uint16_t>(desc + 16 * i + 14, next);
  }

  // Header, one data buffer, status: the layout Linux uses.
  void request(uint32_t type, uint64_t sector, uint32_t len, bool data_write) {
    mem.put<uint32_t>(hdr, type);
    mem.put<uint32_t>(hdr + 4, 0);
    mem.put<uint64_t>(hdr + 8, sector);
    mem.put<uint8_t>(status_at, 0xff);
    if (len) {
      put_desc(0, hdr, 16, 1, 1);
      put_desc(1, data_at, len, uint16_t(1 | (data_write ? 2 : 0)), 2);
      put_desc(2, status_at, 1, 2, 0);
    } else {
      put_desc(0, hdr, 16, 1, 2);
      put_desc(2, status_at, 1, 2, 0);
    }
    mem.put<uint16_t>(avail + 4 + 2 * (next_avail % 8), 0);
    mem.put<uint16_t>(avail + 2, ++next_avail);
    mmio_put<uint16_t>(dev, virtio_blk::notify_offset, 0);
  }
  uint8_t status() const { return mem.get<uint8_t>(status_at); }
  uint16_t used_idx() const { return mem.get<uint16_t>(used + 2); }
};

TEST_F(virtio_fixture, pci_identity_is_modern_virtio_blk) {
  EXPECT_EQ(cfg_get<uint32_t>(dev, 0), 0x10421af4u);
  EXPECT_EQ(cfg_get<uint8_t>(dev, 0x08), 1); // revision 1: modern only
  EXPECT_EQ(cfg_get<uint8_t>(dev, 0x3d), 1); // INTA
}

TEST_F(virtio_fixture, capability_list_names_the_regions_and_cfg_window) {
  std::vector<uint8_t> types;
  for (uint8_t p = cfg_get<uint8_t>(dev, 0x34); p;
       p = cfg_get<uint8_t>(dev, p + 1)) {
    EXPECT_EQ(cfg_get<uint8_t>(dev, p), 0x09);
    types.push_back(cfg_get<uint8_t>(dev, p + 3));
  }
  EXPECT_EQ(types, (std::vector<uint8_t>{1, 3, 4, 2, 5}));
}

TEST_F(virtio_fixture, pci_cfg_window_reaches_bar0) {
  uint8_t cap = 0;
  for (uint8_t p = cfg_get<uint8_t>(dev, 0x34); p;
       p = cfg_get<uint8_t>(dev, p + 1))
    if (cfg_get<uint8_t>(dev, p + 3) == 5)
      cap = p;
  ASSERT_NE(cap, 0);
  cfg_put<uint8_t>(dev, cap + 4, 0);       // BAR0
  cfg_put<uint32_t>(dev, cap + 8, 0x2000); // device config: capacity
  cfg_put<uint32_t>(dev, cap + 12, 4);     // 4 bytes
  EXPECT_EQ(cfg_get<uint32_t>(dev, cap + 16), 2048u);
  cfg_put<uint32_t>(dev, cap + 8, 0x14); // common config: device_status
  cfg_put<uint32_t>(dev, cap + 12, 1);
  cfg_put<uint8_t>(dev, cap + 16, 1); // ACKNOWLEDGE through the window
  EXPECT_EQ(mmio_get<uint8_t>(dev, 0x14), 1);
}

TEST_F(virtio_fixture, device_config_reports_capacity) {
  EXPECT_EQ(mmio_get<uint64_t>(dev, 0x2000), 2048u);
  EXPECT_EQ(mmio_get<uint32_t>(dev, 0x2000 + 20), 512u);
}

TEST_F(virtio_fixture, features_without_version_1_are_refused) {
  common8(0x14, 1 | 2);
  common8(0x14, 1 | 2 | 8);
  EXPECT_EQ(mmio_get<uint8_t>(dev, 0x14) & 8, 0);
}

TEST_F(virtio_fixture, write_then_read_round_trips_through_the_backend) {
  bring_up();
  std::memset(mem.bytes.data() + data_at, 0x5a, 1024);
  request(1, 4, 1024, false);
  EXPECT_EQ(status(), 0);
  EXPECT_EQ(backend.disk[4 * 512], 0x5a);
  std::memset(mem.bytes.data() + data_at, 0, 1024);
  request(0, 4, 1024, true);
  EXPECT_EQ(status(), 0);
  EXPECT_EQ(mem.bytes[data_at + 1023], 0x5a);
  EXPECT_EQ(used_idx(), 2);
  EXPECT_EQ(mem.get<uint32_t>(used + 4 + 8 * 1 + 4), 1025u); // data + status
}

TEST_F(virtio_fixture, completion_raises_intx_until_isr_is_read) {
  bring_up();
  request(4, 0, 0, false); // FLUSH
  EXPECT_TRUE(irq.level);
  EXPECT_EQ(mmio_get<uint8_t>(dev, 0x1000), 1);
  EXPECT_FALSE(irq.level);
}

TEST_F(virtio_fixture, get_id_returns_the_serial) {
  bring_up();
  request(8, 0, 20, true);
  EXPECT_EQ(status(), 0);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(mem.bytes.data() + data_at)),
            "tb-serial-0001");
}

TEST_F(virtio_fixture, reads_past_the_end_fail_with_ioerr) {
  bring_up();
  request(0, 2047, 1024, true);
  EXPECT_EQ(status(), 1);
  EXPECT_EQ(backend.submitted, 0);
}

TEST_F(virtio_fixture, unknown_request_type_is_unsupported) {
  bring_up();
  request(0x55, 0, 512, true);
  EXPECT_EQ(status(), 2);
}

TEST_F(virtio_fixture, writes_to_read_only_media_fail) {
  backend.ro = true;
  bring_up();
  request(1, 0, 512, false);
  EXPECT_EQ(status(), 1);
}

TEST_F(virtio_fixture, buffer_outside_guest_memory_gives_ioerr) {
  bring_up();
  mem.put<uint32_t>(hdr, 0);
  mem.put<uint64_t>(hdr + 8, 0);
  put_desc(0, hdr, 16, 1, 1);
  put_desc(1, 0xfff00000ull, 512, 1 | 2, 2); // beyond the 1 MiB of RAM
  put_desc(2, status_at, 1, 2, 0);
  mem.put<uint16_t>(avail + 4, 0);
  mem.put<uint16_t>(avail + 2, 1);
  dev.notify_queue(0);
  EXPECT_EQ(status(), 1);
  EXPECT_EQ(dev.counters().bad_requests, 1u);
}

TEST_F(virtio_fixture, descriptor_loop_sets_needs_reset) {
  bring_up();
  put_desc(0, hdr, 16, 1, 1);
  put_desc(1, hdr, 16, 1, 0); // 1 -> 0 -> 1 ...
  mem.put<uint16_t>(avail + 4, 0);
  mem.put<uint16_t>(avail + 2, 1);
  dev.notify_queue(0);
  EXPECT_EQ(mmio_get<uint8_t>(dev, 0x14) & 0x40, 0x40);
  EXPECT_EQ(dev.counters().ring_errors, 1u);
}

TEST_F(virtio_fixture, completions_after_reset_are_dropped) {
  bring_up();
  backend.hold = true;
  request(0, 0, 512, true);
  EXPECT_EQ(dev.in_flight(), 1u);
  common8(0x14, 0); // reset with the request in flight
  backend.held.front()(block_status::ok);
  EXPECT_EQ(dev.in_flight(), 0u);
  EXPECT_EQ(used_idx(), 0);
}

TEST_F(virtio_fixture, random_chains_complete_or_fail_closed) {
  // Fixed seed: 20k requests whose descriptors have random addresses (half
  // of them outside RAM), lengths, flags and next indexes, plus an
  // occasional wild head index; after NEEDS_RESET the driver resets.
  std::mt19937 rng{42};
  bring_up(8);
  uint16_t completed = 0;
  uint64_t resets = 0;
  for (int i = 0; i < 20000; ++i) {
    for (uint16_t d = 0; d < 8; ++d)
      put_desc(d, rng() % (2u << 20), rng() % 2048, uint16_t(rng() % 8),
               uint16_t(rng() % 9));
    mem.put<uint32_t>(hdr, rng() % 10); // a plausible request type
    mem.put<uint64_t>(hdr + 8, rng() % 4096);
    put_desc(0, hdr, 16, 1, 1); // keep a real header at the head often
    uint16_t head = rng() % 16 == 0 ? uint16_t(rng()) : uint16_t(rng() % 8);
    mem.put<uint16_t>(avail + 4 + 2 * (next_avail % 8), head);
    mem.put<uint16_t>(avail + 2, ++next_avail);
    dev.notify_queue(0);
    completed = std::max(completed, used_idx());
    if (mmio_get<uint8_t>(dev, 0x14) & 0x40) {
      ++resets;
      next_avail = 0;
      mem.put<uint16_t>(avail + 2, 0);
      mem.put<uint16_t>(used + 2, 0);
      bring_up(8);
    }
  }
  EXPECT_GT(completed, 0);
  EXPECT_GT(resets, 0u);
  EXPECT_GT(dev.counters().bad_requests, 0u);
}

/// Completes every request on its own worker thread, like the storage
/// actor does.
class threaded_backend final : public block_backend {
public:
  threaded_backend() : worker_([this] { run(); }) {}
  ~threaded_backend() override {
    {
      std::lock_guard g{m_};
      stop_ = true;
    }
    cv_.notify_one();
    worker_.join();
  }
  uint64_t sectors() const override { return 64; }
  bool read_only() const override { return false; }
  void submit(block_request r, block_completion done) override {
    {
      std::lock_guard g{m_};
      jobs_.emplace_back(std::move(r), std::move(done));
    }
    cv_.notify_one();
  }

private:
  void run() {
    std::unique_lock l{m_};
    for (;;) {
      cv_.wait(l, [this] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty())
        return;
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      l.unlock();
      for (auto b : job.first.buffers)
        std::memset(b.data(), 0x42, b.size());
      job.second(block_status::ok);
      l.lock();
    }
  }
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::pair<block_request, block_completion>> jobs_;
  bool stop_ = false;
  std::thread worker_;
};

TEST(virtio_blk, completions_from_another_thread_while_the_guest_polls) {
  // 500 reads, each completed by the worker thread while this thread
  // (the "vCPU") polls the ISR: the device's lock keeps the ring sane.
  fake_memory mem{1 << 20};
  fake_irq irq;
  threaded_backend backend;
  virtio_blk dev{mem, irq, backend, "t"};
  auto put8 = [&](uint64_t o, uint8_t v) { mmio_put<uint8_t>(dev, o, v); };
  put8(0x14, 1 | 2);
  mmio_put<uint32_t>(dev, 0x08, 1);
  mmio_put<uint32_t>(dev, 0x0c, 1);
  put8(0x14, 1 | 2 | 8);
  mmio_put<uint16_t>(dev, 0x18, 8);
  mmio_put<uint32_t>(dev, 0x20, desc);
  mmio_put<uint32_t>(dev, 0x28, avail);
  mmio_put<uint32_t>(dev, 0x30, used);
  mmio_put<uint16_t>(dev, 0x1c, 1);
  put8(0x14, 1 | 2 | 4 | 8);
  auto put_desc = [&](uint16_t i, uint64_t a, uint32_t len, uint16_t flags,
                      uint16_t next) {
    mem.put<uint64_t>(desc + 16 * i, a);
    mem.put<uint32_t>(desc + 16 * i + 8, len);
    mem.put<uint16_t>(desc + 16 * i + 12, flags);
    mem.put<uint16_t>(desc + 16 * i + 14, next);
  };
  put_desc(0, hdr, 16, 1, 1);
  put_desc(1, data_at, 512, 3, 2);
  put_desc(2, status_at, 1, 2, 0);
  mem.put<uint32_t>(hdr, 0);
  for (uint16_t i = 1; i <= 500; ++i) {
    mem.put<uint16_t>(avail + 4 + 2 * ((i - 1) % 8), 0);
    mem.put<uint16_t>(avail + 2, i);
    dev.notify_queue(0);
    while (mmio_get<uint16_t>(dev, 0x14) != 0 && dev.in_flight() != 0)
      mmio_get<uint8_t>(dev, 0x1000); // poll ISR like an interrupt handler
  }
  while (dev.in_flight() != 0)
    std::this_thread::yield();
  EXPECT_EQ(mem.get<uint8_t>(status_at), 0);
  EXPECT_EQ(mem.bytes[data_at + 511], 0x42);
  EXPECT_EQ(mem.get<uint16_t>(used + 2), 500);
}

TEST(virtio_blk, bar_listener_hears_moves_outside_the_device_lock) {
  fake_memory mem{4096};
  fake_irq irq;
  ram_backend backend{8};
  std::vector<uint64_t> seen;
  virtio_blk* self = nullptr;
  virtio_blk dev{mem, irq, backend, "s", [&](unsigned i, const pci_bar& b) {
                   EXPECT_EQ(i, 0u);
                   seen.push_back(b.address);
                   self->bar(0); // re-entering the device must not deadlock
                 }};
  self = &dev;
  dev.set_bar_address(0xe1000000u);
  cfg_put<uint32_t>(dev, 0x10, 0xe2000000u);
  EXPECT_EQ(seen, (std::vector<uint64_t>{0xe1000000u, 0xe2000000u}));
}

// The ioeventfd path: the machine's event thread calls notify_queue(0)
// (it never sees the value the guest wrote); same effect as the register.
TEST_F(virtio_fixture, notify_queue_zero_serves_the_ring_like_the_register) {
  bring_up();
  mem.put<uint32_t>(hdr, 4); // FLUSH, header + status only
  mem.put<uint8_t>(status_at, 0xff);
  put_desc(0, hdr, 16, 1, 2);
  put_desc(2, status_at, 1, 2, 0);
  mem.put<uint16_t>(avail + 4, 0);
  mem.put<uint16_t>(avail + 2, 1);
  dev.notify_queue(0);
  EXPECT_EQ(status(), 0);
  EXPECT_EQ(used_idx(), 1);
  dev.notify_queue(0); // a repeated (coalesced) signal finds nothing new
  EXPECT_EQ(used_idx(), 1);
  EXPECT_EQ(backend.submitted, 1);
  EXPECT_EQ(dev.counters().ignored_writes, 0u);
  dev.notify_queue(1); // no queue 1
  EXPECT_EQ(dev.counters().ignored_writes, 1u);
}

// Draining for saved state: a request queued but not yet notified (the
// ioeventfd signal still pending) is served, and quiesce returns once the
// backend completed it; save() then has the ring indexes past it.
TEST_F(virtio_fixture, quiesce_serves_a_pending_notify_and_waits_for_it) {
  bring_up();
  backend.hold = true;
  mem.put<uint32_t>(hdr, 0);
  mem.put<uint64_t>(hdr + 8, 0);
  put_desc(0, hdr, 16, 1, 1);
  put_desc(1, data_at, 512, 3, 2);
  put_desc(2, status_at, 1, 2, 0);
  mem.put<uint16_t>(avail + 4, 0);
  mem.put<uint16_t>(avail + 2, 1); // queued; the notify never reached us
  EXPECT_FALSE(dev.quiesce(std::chrono::milliseconds(20)));
  EXPECT_EQ(dev.in_flight(), 1u); // picked up, held by the backend
  std::thread completer{[this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    backend.held.front()(block_status::ok);
  }};
  EXPECT_TRUE(dev.quiesce(std::chrono::seconds(10)));
  completer.join();
  EXPECT_EQ(dev.in_flight(), 0u);
  auto st = dev.save();
  EXPECT_EQ(st.last_avail, 1);
  EXPECT_EQ(st.used_idx, 1);
  EXPECT_EQ(backend.submitted, 1);
}

TEST_F(virtio_fixture, quiesce_on_an_idle_or_stopped_device_returns_at_once) {
  EXPECT_TRUE(dev.quiesce(std::chrono::milliseconds(0))); // before DRIVER_OK
  bring_up();
  EXPECT_TRUE(dev.quiesce(std::chrono::milliseconds(0)));
  EXPECT_TRUE(dev.wait_idle(std::chrono::milliseconds(0)));
  EXPECT_EQ(dev.counters().ignored_writes, 0u); // not guest accesses
}

// After restore on another machine: requests the guest had queued behind
// the saved last_avail are served by kick(), without a guest notify.
TEST(virtio_blk, kick_after_restore_picks_up_what_the_guest_queued) {
  fake_memory mem_a{1 << 20}, mem_b{1 << 20};
  fake_irq irq_a, irq_b;
  ram_backend disk_a{64}, disk_b{64};
  virtio_blk a{mem_a, irq_a, disk_a, "a"};
  auto drive = [](virtio_blk& d, fake_memory& m) {
    mmio_put<uint8_t>(d, 0x14, 1 | 2);
    mmio_put<uint32_t>(d, 0x08, 1);
    mmio_put<uint32_t>(d, 0x0c, 1);
    mmio_put<uint8_t>(d, 0x14, 1 | 2 | 8);
    mmio_put<uint16_t>(d, 0x18, 8);
    mmio_put<uint32_t>(d, 0x20, desc);
    mmio_put<uint32_t>(d, 0x28, avail);
    mmio_put<uint32_t>(d, 0x30, used);
    mmio_put<uint16_t>(d, 0x1c, 1);
    mmio_put<uint8_t>(d, 0x14, 1 | 2 | 4 | 8);
    m.put<uint32_t>(hdr, 1); // OUT sector 3
    m.put<uint64_t>(hdr + 8, 3);
    m.put<uint64_t>(desc, hdr);
    m.put<uint32_t>(desc + 8, 16);
    m.put<uint16_t>(desc + 12, 1);
    m.put<uint16_t>(desc + 14, 1);
    m.put<uint64_t>(desc + 16, data_at);
    m.put<uint32_t>(desc + 24, 512);
    m.put<uint16_t>(desc + 28, 1);
    m.put<uint16_t>(desc + 30, 2);
    m.put<uint64_t>(desc + 32, status_at);
    m.put<uint32_t>(desc + 40, 1);
    m.put<uint16_t>(desc + 44, 2);
    m.put<uint16_t>(desc + 46, 0);
  };
  drive(a, mem_a);
  auto st = a.save();
  // The guest memory moves to machine B, and there the guest queues a
  // write before B's device ever saw a notify.
  mem_b.bytes = mem_a.bytes;
  std::memset(mem_b.bytes.data() + data_at, 0x7e, 512);
  mem_b.put<uint16_t>(avail + 4, 0);
  mem_b.put<uint16_t>(avail + 2, 1);
  virtio_blk b{mem_b, irq_b, disk_b, "b"};
  b.restore(st);
  EXPECT_EQ(disk_b.submitted, 0);
  b.kick();
  EXPECT_EQ(disk_b.submitted, 1);
  EXPECT_EQ(disk_b.disk[3 * 512 + 100], 0x7e);
  EXPECT_EQ(mem_b.get<uint16_t>(used + 2), 1);
  EXPECT_TRUE(irq_b.level);
  b.kick(); // nothing new
  EXPECT_EQ(disk_b.submitted, 1);
}

} // namespace
} // namespace tb::devices

namespace tb::devices {
namespace {

// Whether the recorded writes cover [at, at + len) of `mem`.
bool covered(const std::vector<std::span<const uint8_t>>& writes,
             const uint8_t* at, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    bool hit = false;
    for (auto w : writes)
      hit = hit || (at + i >= w.data() && at + i < w.data() + w.size());
    if (!hit)
      return false;
  }
  return true;
}

// A teleport's dirty log (KVM's) sees only the vCPUs: the device must name
// what it writes itself (data of reads, status, used ring), and only that.
TEST_F(virtio_fixture, track_writes_names_the_guest_memory_the_device_wrote) {
  bring_up();
  dev.track_writes(true);
  request(0, 4, 1024, true); // A read: the device writes the data.
  auto w = dev.take_writes();
  const uint8_t* base = mem.bytes.data();
  EXPECT_TRUE(covered(w, base + data_at, 1024));
  EXPECT_TRUE(covered(w, base + status_at, 1));
  EXPECT_TRUE(covered(w, base + used + 2, 2)); // used->idx
  EXPECT_TRUE(covered(w, base + used + 4, 8)); // used->ring[0]
  EXPECT_FALSE(covered(w, base + hdr, 16));    // Only read by the device.
  EXPECT_TRUE(dev.take_writes().empty());      // Handed out once.
  request(1, 4, 1024, false); // A write: the device only reads the data.
  w = dev.take_writes();
  EXPECT_FALSE(covered(w, base + data_at, 1));
  EXPECT_TRUE(covered(w, base + status_at, 1));
  request(0, 4, 1024, true);
  dev.track_writes(false); // Off forgets what was recorded...
  EXPECT_TRUE(dev.take_writes().empty());
  request(0, 4, 1024, true); // ...and records nothing more.
  EXPECT_TRUE(dev.take_writes().empty());
}

} // namespace
} // namespace tb::devices
