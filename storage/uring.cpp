// io_uring set-up, submission and waiting with raw system calls, following
// the kernel's io_uring.h: the rings are shared memory, the application
// owns the SQ tail and the CQ head, the kernel the other two; stores of
// the owned index are releases, loads of the other side's are acquires.
#include "storage/uring.hpp"

#include <cerrno>
#include <cstring>

#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "storage/errors.hpp"

namespace tb::storage {

namespace {

int sys_setup(unsigned entries, io_uring_params* p) {
  return static_cast<int>(::syscall(__NR_io_uring_setup, entries, p));
}

int sys_enter(int fd, unsigned to_submit, unsigned min_complete,
              unsigned flags) {
  return static_cast<int>(::syscall(__NR_io_uring_enter, fd, to_submit,
                                    min_complete, flags, nullptr, 0));
}

template <class T> T* at(void* base, uint32_t off) {
  return reinterpret_cast<T*>(static_cast<uint8_t*>(base) + off);
}

void* map_ring(int fd, size_t len, off_t what) {
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_POPULATE, fd, what);
  return p == MAP_FAILED ? nullptr : p;
}

} // namespace

caf::expected<std::unique_ptr<uring>> uring::create(unsigned entries) {
  io_uring_params p{};
  std::unique_ptr<uring> r{new uring};
  r->fd_ = sys_setup(entries, &p);
  if (r->fd_ < 0)
    return make_io_error("setting up io_uring", errno);
  // NODROP (5.5): completions beyond the CQ are kept, never lost.
  if (!(p.features & IORING_FEAT_NODROP))
    return make_storage_error(storage_errc::unsupported,
                              "io_uring of this kernel lacks FEAT_NODROP");
  r->sq_ring_len_ = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  r->cq_ring_len_ = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
  r->sq_ring_ = map_ring(r->fd_, r->sq_ring_len_, IORING_OFF_SQ_RING);
  if (!r->sq_ring_)
    return make_io_error("mapping the io_uring submission ring", errno);
  r->cq_ring_ = map_ring(r->fd_, r->cq_ring_len_, IORING_OFF_CQ_RING);
  if (!r->cq_ring_)
    return make_io_error("mapping the io_uring completion ring", errno);
  r->sqes_len_ = p.sq_entries * sizeof(io_uring_sqe);
  r->sqes_ = map_ring(r->fd_, r->sqes_len_, IORING_OFF_SQES);
  if (!r->sqes_)
    return make_io_error("mapping the io_uring submission entries", errno);
  r->sq_head_ = at<unsigned>(r->sq_ring_, p.sq_off.head);
  r->sq_tail_ = at<unsigned>(r->sq_ring_, p.sq_off.tail);
  r->sq_array_ = at<unsigned>(r->sq_ring_, p.sq_off.array);
  r->sq_mask_ = *at<unsigned>(r->sq_ring_, p.sq_off.ring_mask);
  r->sq_entries_ = p.sq_entries;
  r->cq_head_ = at<unsigned>(r->cq_ring_, p.cq_off.head);
  r->cq_tail_ = at<unsigned>(r->cq_ring_, p.cq_off.tail);
  r->cq_mask_ = *at<unsigned>(r->cq_ring_, p.cq_off.ring_mask);
  r->cq_entries_ = p.cq_entries;
  r->cqes_ = at<void>(r->cq_ring_, p.cq_off.cqes);
  return r;
}

uring::~uring() {
  if (sqes_)
    ::munmap(sqes_, sqes_len_);
  if (cq_ring_)
    ::munmap(cq_ring_, cq_ring_len_);
  if (sq_ring_)
    ::munmap(sq_ring_, sq_ring_len_);
  if (fd_ >= 0)
    ::close(fd_);
}

bool uring::queue(uint8_t opcode, int fd, const iovec* iov, unsigned count,
                  uint64_t offset, uint64_t tag, bool async) {
  std::lock_guard<std::mutex> guard{sq_mutex_};
  unsigned tail = *sq_tail_;
  unsigned head = __atomic_load_n(sq_head_, __ATOMIC_ACQUIRE);
  if (tail - head >= sq_entries_)
    return false;
  unsigned index = tail & sq_mask_;
  auto* sqe = static_cast<io_uring_sqe*>(sqes_) + index;
  std::memset(sqe, 0, sizeof(*sqe));
  sqe->opcode = opcode;
  sqe->fd = fd;
  sqe->off = offset;
  sqe->addr = reinterpret_cast<uint64_t>(iov);
  sqe->len = count;
  sqe->user_data = tag;
  if (async)
    sqe->flags = IOSQE_ASYNC;
  sq_array_[index] = index;
  __atomic_store_n(sq_tail_, tail + 1, __ATOMIC_RELEASE);
  ++sq_pending_;
  return true;
}

bool uring::queue_readv(int fd, const iovec* iov, unsigned iov_count,
                        uint64_t offset, uint64_t tag, bool async) {
  return tag != 0
         && queue(IORING_OP_READV, fd, iov, iov_count, offset, tag, async);
}

bool uring::queue_writev(int fd, const iovec* iov, unsigned iov_count,
                         uint64_t offset, uint64_t tag, bool async) {
  return tag != 0
         && queue(IORING_OP_WRITEV, fd, iov, iov_count, offset, tag, async);
}

int uring::submit() {
  std::lock_guard<std::mutex> guard{sq_mutex_};
  while (sq_pending_ > 0) {
    int n = sys_enter(fd_, sq_pending_, 0, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (n == 0)
      return -EAGAIN;
    sq_pending_ -= static_cast<unsigned>(n);
  }
  return 0;
}

void uring::wake() {
  while (!queue(IORING_OP_NOP, -1, nullptr, 0, 0, 0, false))
    (void)submit(); // Full: hand the backlog over first.
  (void)submit();
}

void uring::wait_one() {
  // EINTR and EBUSY (overflowed completions being flushed) just retry via
  // the caller's loop.
  (void)sys_enter(fd_, 0, 1, IORING_ENTER_GETEVENTS);
}

std::pair<uint64_t, int32_t> uring::cqe_at(unsigned index) const {
  const auto* cqe =
      static_cast<const io_uring_cqe*>(cqes_) + (index & cq_mask_);
  return {cqe->user_data, cqe->res};
}

} // namespace tb::storage
