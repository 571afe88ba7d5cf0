// A libuv loop on its own thread. Other threads hand it work with post()
// (uv_async underneath); stop() closes every handle so uv_run returns and
// the thread ends (toolchain.md 4: otherwise process exit hangs).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include <caf/expected.hpp>

namespace tb::net {

class event_loop {
public:
  /// Starts the loop thread.
  static caf::expected<std::unique_ptr<event_loop>> start();

  /// Stops and joins the loop thread.
  ~event_loop();
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;

  /// Runs fn on the loop thread soon. Thread-safe; dropped after stop().
  void post(std::function<void()> fn);
  /// Runs fn on the loop thread and waits for it (direct call when already
  /// there). Returns false when the loop has stopped.
  bool call(const std::function<void()>& fn);
  bool in_loop_thread() const;

  /// A repeating timer on the loop thread, alive until stop().
  void every(std::chrono::milliseconds period, std::function<void()> fn);

  /// Closes all handles (listeners, streams, timers) and joins the thread.
  void stop();

  /// The uv_loop_t*, for the net library's own handles (loop thread only).
  void* native() const;
  /// Loop thread only: fn runs at stop() to close a handle properly (with
  /// its close callback); returns an id for cancel_on_stop.
  uint64_t on_stop(std::function<void()> fn);
  void cancel_on_stop(uint64_t id);

private:
  struct impl;
  event_loop();
  std::unique_ptr<impl> impl_;
};

} // namespace tb::net
