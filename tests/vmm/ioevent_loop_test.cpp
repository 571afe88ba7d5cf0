// The userspace half of virtio-blk's ioeventfd/irqfd path with real
// eventfds and a real device: a signalled notify eventfd makes the event
// thread serve the ring; an irqfd line signals its trigger on raise and
// again on a resample while the device still holds it high.
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include <poll.h>

#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "devices/virtio_blk.hpp"
#include "vmm/ioevent_loop.hpp"

using namespace std::chrono_literals;
using namespace tb::vmm;

namespace {

class ram final : public tb::devices::guest_memory {
public:
  std::vector<uint8_t> bytes = std::vector<uint8_t>(1 << 20);
  std::span<uint8_t> span(uint64_t gpa, size_t len) override {
    if (!len || gpa > bytes.size() || len > bytes.size() - gpa)
      return {};
    return {bytes.data() + gpa, len};
  }
  template <class T> void put(uint64_t gpa, T v) {
    std::memcpy(bytes.data() + gpa, &v, sizeof v);
  }
  template <class T> T get(uint64_t gpa) const {
    T v;
    std::memcpy(&v, bytes.data() + gpa, sizeof v);
    return v;
  }
};

class flush_only final : public tb::devices::block_backend {
public:
  uint64_t sectors() const override { return 8; }
  bool read_only() const override { return false; }
  void submit(tb::devices::block_request,
              tb::devices::block_completion done) override {
    done(tb::devices::block_status::ok);
  }
};

bool readable(const event_fd& fd, int ms) {
  pollfd p{fd.fd(), POLLIN, 0};
  return poll(&p, 1, ms) == 1;
}

template <class Pred> bool eventually(Pred p) {
  auto end = std::chrono::steady_clock::now() + 10s;
  while (!p()) {
    if (std::chrono::steady_clock::now() > end)
      return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

event_fd make_fd() {
  auto fd = event_fd::create();
  EXPECT_TRUE(fd) << tb::error_text(fd.error());
  return fd ? std::move(*fd) : event_fd{};
}

void mmio8(tb::devices::virtio_blk& d, uint64_t off, uint8_t v) {
  d.mmio_write(off, std::span<const uint8_t>{&v, 1});
}
void mmio32(tb::devices::virtio_blk& d, uint64_t off, uint32_t v) {
  uint8_t b[4];
  std::memcpy(b, &v, 4);
  d.mmio_write(off, b);
}

} // namespace

TEST(event_fd, consume_reads_and_clears_the_counter) {
  auto fd = make_fd();
  EXPECT_FALSE(fd.consume());
  fd.signal();
  fd.signal();
  EXPECT_TRUE(readable(fd, 0));
  EXPECT_TRUE(fd.consume());
  EXPECT_FALSE(readable(fd, 0));
  EXPECT_FALSE(fd.consume());
}

TEST(ioevent_loop, runs_the_handler_of_the_signalled_fd_and_stops) {
  auto loop = ioevent_loop::create();
  ASSERT_TRUE(loop) << tb::error_text(loop.error());
  auto a = make_fd(), b = make_fd();
  std::atomic<int> hits_a{0}, hits_b{0};
  ASSERT_FALSE((*loop)->watch(a, [&] { ++hits_a; }));
  ASSERT_FALSE((*loop)->start("tb-test-io"));
  ASSERT_FALSE((*loop)->watch(b, [&] { ++hits_b; })); // while running
  a.signal();
  EXPECT_TRUE(eventually([&] { return hits_a == 1; }));
  b.signal();
  EXPECT_TRUE(eventually([&] { return hits_b == 1; }));
  EXPECT_FALSE(readable(a, 0)); // the loop consumed the counter
  (*loop)->stop();
  EXPECT_FALSE((*loop)->running());
  a.signal();
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(hits_a, 1); // nothing served after stop()
  (*loop)->stop();      // idempotent
}

TEST(irqfd_line, raise_signals_the_trigger_and_resample_reasserts_while_high) {
  irqfd_line line{make_fd(), make_fd()};
  line.set_level(true);
  EXPECT_TRUE(line.trigger().consume());
  // EOI: the engine lowered the line; the device still holds it high.
  line.resampled();
  EXPECT_TRUE(line.trigger().consume());
  // The driver read the ISR: the device lowers it; the next resample must
  // not raise it again (the engine already lowered it at EOI).
  line.set_level(false);
  EXPECT_FALSE(line.trigger().consume());
  line.resampled();
  EXPECT_FALSE(line.trigger().consume());
}

// A virtio-blk device served the way the machine serves it: the guest's
// notify write lands in an eventfd (KVM's ioeventfd), the event thread
// calls notify_queue(0), the completion raises the irqfd line.
TEST(ioevent_loop, notify_eventfd_drives_a_virtio_blk_queue) {
  ram mem;
  flush_only backend;
  irqfd_line line{make_fd(), make_fd()};
  tb::devices::virtio_blk dev{mem, line, backend, "s"};
  auto notify = make_fd();
  auto loop = ioevent_loop::create();
  ASSERT_TRUE(loop);
  ASSERT_FALSE((*loop)->watch(notify, [&] { dev.notify_queue(0); }));
  ASSERT_FALSE((*loop)->watch(line.resample(), [&] { line.resampled(); }));
  ASSERT_FALSE((*loop)->start("tb-test-io"));
  mmio8(dev, 0x14, 1 | 2);
  mmio32(dev, 0x08, 1);
  mmio32(dev, 0x0c, 1);
  mmio8(dev, 0x14, 1 | 2 | 8);
  mmio32(dev, 0x20, 0x1000);
  mmio32(dev, 0x28, 0x2000);
  mmio32(dev, 0x30, 0x3000);
  uint8_t one[2] = {1, 0};
  dev.mmio_write(0x1c, one);
  mmio8(dev, 0x14, 1 | 2 | 4 | 8);
  mem.put<uint32_t>(0x4000, 4); // FLUSH
  mem.put<uint64_t>(0x1000, 0x4000);
  mem.put<uint32_t>(0x1008, 16);
  mem.put<uint16_t>(0x100c, 1);
  mem.put<uint16_t>(0x100e, 1);
  mem.put<uint64_t>(0x1010, 0x4100);
  mem.put<uint32_t>(0x1018, 1);
  mem.put<uint16_t>(0x101c, 2);
  mem.put<uint8_t>(0x4100, 0xff);
  mem.put<uint16_t>(0x2004, 0);
  mem.put<uint16_t>(0x2002, 1);
  notify.signal(); // what KVM does for the guest's notify write
  EXPECT_TRUE(eventually([&] { return mem.get<uint16_t>(0x3002) == 1; }));
  EXPECT_EQ(mem.get<uint8_t>(0x4100), 0);
  EXPECT_TRUE(readable(line.trigger(), 1000)); // INTx asserted via irqfd
  EXPECT_TRUE(line.trigger().consume());
  // EOI while the ISR is still set: the event thread re-asserts.
  line.resample().signal();
  EXPECT_TRUE(readable(line.trigger(), 1000));
  EXPECT_TRUE(line.trigger().consume());
  uint8_t isr = 0;
  dev.mmio_read(0x1000, std::span<uint8_t>{&isr, 1});
  EXPECT_EQ(isr, 1);
  EXPECT_FALSE(line.level());
  line.resample().signal(); // EOI after the ISR read: stays low
  EXPECT_FALSE(readable(line.trigger(), 50));
  (*loop)->stop();
}
