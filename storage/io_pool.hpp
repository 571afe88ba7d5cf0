// A small pool of I/O threads: blocking file calls run here, never on CAF's
// workers or on vCPU threads.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace tb::storage {

/// Runs submitted jobs on `threads` threads, in submission order per thread
/// but concurrently across threads.
class io_pool {
public:
  explicit io_pool(size_t threads);
  /// Runs the queued jobs, then joins. Safe to run on one of the pool's
  /// own threads (that one is detached instead of joined).
  ~io_pool();

  io_pool(const io_pool&) = delete;
  io_pool& operator=(const io_pool&) = delete;

  /// Queues `job`; thread-safe.
  void submit(std::function<void()> job);

  size_t size() const { return threads_.size(); }

  struct shared; ///< Queue state, outlives the pool while threads run.

private:
  std::shared_ptr<shared> shared_;
  std::vector<std::thread> threads_;
};

} // namespace tb::storage
