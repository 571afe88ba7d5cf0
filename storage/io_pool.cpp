// I/O thread pool with one locked queue; a job is a few microseconds of
// bookkeeping around a pread/pwrite, so one mutex does not limit it.
#include "storage/io_pool.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>

namespace tb::storage {

struct io_pool::shared {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::function<void()>> jobs; ///< Guarded by mutex.
  bool stopping = false;                  ///< Guarded by mutex.
};

namespace {

void worker(std::shared_ptr<io_pool::shared> s) {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock{s->mutex};
      s->wake.wait(lock, [&] { return s->stopping || !s->jobs.empty(); });
      if (s->jobs.empty())
        return;
      job = std::move(s->jobs.front());
      s->jobs.pop_front();
    }
    job();
  }
}

} // namespace

io_pool::io_pool(size_t threads) : shared_(std::make_shared<shared>()) {
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i)
    threads_.emplace_back(worker, shared_);
}

io_pool::~io_pool() {
  {
    std::lock_guard<std::mutex> guard{shared_->mutex};
    shared_->stopping = true;
  }
  shared_->wake.notify_all();
  for (auto& t : threads_) {
    if (t.get_id() == std::this_thread::get_id())
      t.detach(); // The last job dropped the pool's owner.
    else
      t.join();
  }
}

void io_pool::submit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> guard{shared_->mutex};
    shared_->jobs.push_back(std::move(job));
  }
  shared_->wake.notify_one();
}

} // namespace tb::storage
