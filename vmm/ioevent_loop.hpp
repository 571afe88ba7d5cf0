// The userspace end of ioeventfd and irqfd: one thread per machine waits on
// eventfds (epoll) and runs a callback for each one that fires, so a
// virtqueue notify or an interrupt resample never costs a vCPU a userspace
// exit. Plus the two eventfd users: an owned eventfd and an interrupt line
// raised through an irqfd with a resample fd (level-triggered INTx).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/expected.hpp>

#include "devices/bus.hpp"

namespace tb::vmm {

/// An owned eventfd (non-blocking, close-on-exec); move-only.
class event_fd {
public:
  static caf::expected<event_fd> create();
  event_fd() = default;
  event_fd(event_fd&& other) noexcept;
  event_fd& operator=(event_fd&& other) noexcept;
  event_fd(const event_fd&) = delete;
  event_fd& operator=(const event_fd&) = delete;
  ~event_fd();

  int fd() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  /// Adds 1 to the counter (wakes a poller; raises an irqfd's line).
  void signal() const;
  /// Reads and clears the counter; true when it was non-zero.
  bool consume() const;

private:
  int fd_ = -1;
};

/// One thread serving eventfds. The loop consumes an fd's counter before
/// running its handler, so signals that arrive while a handler runs make it
/// run once more.
class ioevent_loop {
public:
  using handler = std::function<void()>;

  static caf::expected<std::unique_ptr<ioevent_loop>> create();
  /// Stops and joins the thread.
  ~ioevent_loop();
  ioevent_loop(const ioevent_loop&) = delete;
  ioevent_loop& operator=(const ioevent_loop&) = delete;

  /// Runs `on_event` on the loop thread each time `fd` fires, from now on
  /// (also while running; one caller at a time). Closing `fd` drops it.
  caf::error watch(const event_fd& fd, handler on_event);
  /// Starts the thread (named `name`, at most 15 characters shown).
  caf::error start(const std::string& name);
  /// Ends the thread after the handler it may be running; idempotent.
  /// After it returns no handler runs.
  void stop();
  bool running() const { return thread_.joinable(); }
  /// Events served so far (diagnostics, tests).
  uint64_t served() const { return served_.load(std::memory_order_relaxed); }

private:
  struct entry {
    int fd;
    handler fn;
  };
  ioevent_loop() = default;
  void run();

  int epoll_fd_ = -1;
  event_fd stop_;
  std::vector<std::unique_ptr<entry>> entries_;
  std::thread thread_;
  std::atomic<uint64_t> served_{0};
};

/// An INTx line raised through an irqfd registered with a resample fd
/// (engine_vm::add_irqfd): set_level(true) signals `trigger`; the engine
/// keeps the line asserted until the guest's EOI, then lowers it and
/// signals `resample`, and resampled() asserts it again while the device
/// still holds it high. set_level(false) only records the level: the engine
/// lowers the line itself at the next EOI.
class irqfd_line final : public devices::irq_line {
public:
  irqfd_line(event_fd trigger, event_fd resample);
  void set_level(bool high) override;
  /// The engine lowered the line (the resample fd fired).
  void resampled();
  bool level() const { return high_.load(); }
  const event_fd& trigger() const { return trigger_; }
  const event_fd& resample() const { return resample_; }

private:
  event_fd trigger_, resample_;
  std::atomic<bool> high_{false};
};

} // namespace tb::vmm
