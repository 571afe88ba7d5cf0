// A minimal io_uring over the raw system calls (Debian 12 ships no
// liburing): one ring, reads only, submissions from any thread, completions
// reaped by one thread. Used by the storage actor for direct (O_DIRECT)
// reads, where the kernel completes them without a thread per request.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <sys/uio.h>

#include <caf/expected.hpp>

namespace tb::storage {

/// One io_uring instance.
class uring {
public:
  /// Sets up a ring with room for `entries` submissions (rounded up to a
  /// power of two by the kernel). Fails where io_uring is missing or
  /// disabled (kernel.io_uring_disabled, seccomp).
  static caf::expected<std::unique_ptr<uring>> create(unsigned entries);
  ~uring();

  uring(const uring&) = delete;
  uring& operator=(const uring&) = delete;

  /// Queues a readv of `iov` (which must stay valid until completion) from
  /// `fd` at `offset`, tagged `tag` (never 0). False when the ring is full.
  /// Thread-safe; call submit() to hand queued entries to the kernel.
  /// `async` (IOSQE_ASYNC) has a kernel worker issue it instead of the
  /// submitting thread: slower alone, but a burst is then issued by
  /// several workers on every CPU instead of one after another.
  bool queue_readv(int fd, const iovec* iov, unsigned iov_count,
                   uint64_t offset, uint64_t tag, bool async = false);

  /// Queues a writev, as queue_readv.
  bool queue_writev(int fd, const iovec* iov, unsigned iov_count,
                    uint64_t offset, uint64_t tag, bool async = false);

  /// Hands every queued entry to the kernel. Returns 0 or -errno.
  int submit();

  /// Waits until at least one completion is there, then calls
  /// `on_done(tag, result)` for each (result: bytes or -errno). A
  /// completion with tag 0 (see wake()) makes it return false after the
  /// batch. Only one thread may call this.
  template <class F> bool reap(F&& on_done) {
    bool go_on = true;
    for (;;) {
      unsigned head = *cq_head_;
      unsigned tail = __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE);
      if (head == tail) {
        wait_one();
        continue;
      }
      for (; head != tail; ++head) {
        auto [tag, res] = cqe_at(head);
        if (tag == 0)
          go_on = false;
        else
          on_done(tag, res);
      }
      __atomic_store_n(cq_head_, head, __ATOMIC_RELEASE);
      return go_on;
    }
  }

  /// Queues a no-op with tag 0, which ends the reaper's loop.
  void wake();

  /// Entries queued and not yet submitted.
  unsigned pending() {
    std::lock_guard<std::mutex> guard{sq_mutex_};
    return sq_pending_;
  }

  /// Completion slots: callers keep at most this many entries in flight.
  unsigned capacity() const { return cq_entries_; }

private:
  uring() = default;
  void wait_one();
  std::pair<uint64_t, int32_t> cqe_at(unsigned index) const;
  bool queue(uint8_t opcode, int fd, const iovec* iov, unsigned count,
             uint64_t offset, uint64_t tag, bool async);

  int fd_ = -1;
  void* sq_ring_ = nullptr;
  size_t sq_ring_len_ = 0;
  void* cq_ring_ = nullptr;
  size_t cq_ring_len_ = 0;
  void* sqes_ = nullptr;
  size_t sqes_len_ = 0;
  unsigned* sq_head_ = nullptr;
  unsigned* sq_tail_ = nullptr;
  unsigned* sq_array_ = nullptr;
  unsigned sq_mask_ = 0;
  unsigned sq_entries_ = 0;
  unsigned* cq_head_ = nullptr;
  unsigned* cq_tail_ = nullptr;
  unsigned cq_mask_ = 0;
  unsigned cq_entries_ = 0;
  void* cqes_ = nullptr;
  std::mutex sq_mutex_;     ///< Guards the submission side.
  unsigned sq_pending_ = 0; ///< Queued, not yet submitted; under sq_mutex_.
};

} // namespace tb::storage
