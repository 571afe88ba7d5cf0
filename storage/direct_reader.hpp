// Asynchronous direct reads of one medium through io_uring: the medium's
// block map turns a scatter read into file pieces, each becomes one READV
// entry, and one completion thread finishes the requests. No thread waits
// per request, so a queue of 32 reads costs one wake-up per completion
// batch instead of two context switches per request (figures in
// storage/README.md, "I/O mechanism").
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include <sys/uio.h>

#include <caf/error.hpp>

#include "storage/medium_image.hpp"

namespace tb::storage {

/// One read in flight. The reader calls finish() exactly once, on its
/// completion thread (or inline when nothing had to be read), then
/// deletes it.
class direct_read {
public:
  virtual ~direct_read() = default;
  /// `err` is empty on success; every byte of the segments is filled then.
  virtual void finish(caf::error err) = 0;

private:
  friend class direct_reader;
  friend struct direct_reader_core;
  std::vector<iovec> iov_;  ///< The kernel reads into these.
  std::vector<iovec> segs_; ///< The request, for the synchronous retry.
  uint64_t offset_ = 0;     ///< Of the request in the medium.
  bool write_ = false;      ///< WRITEV entries instead of READV.
  uint64_t expected_ = 0;   ///< Bytes the entries should return.
  uint64_t got_ = 0;        ///< Bytes they returned so far.
  unsigned parts_ = 0;      ///< Entries not yet completed.
  int errno_ = 0;           ///< First failure.
};

struct direct_reader_core;

/// The io_uring read path of one medium.
class direct_reader {
public:
  /// Nothing (nullptr) when the medium has no direct descriptor or the
  /// kernel refuses io_uring; reads then take the thread pool.
  static std::unique_ptr<direct_reader>
  create(std::shared_ptr<medium_image> image);
  /// Lets the reads in flight finish, then stops the completion thread.
  ~direct_reader();

  direct_reader(const direct_reader&) = delete;
  direct_reader& operator=(const direct_reader&) = delete;

  /// Starts reading the medium from `offset` into `segments` (consecutive).
  /// On success takes `op` and returns true; false (op untouched, nothing
  /// read) when the request cannot go this way: pieces not aligned to 512
  /// bytes, too many pieces, or the ring is full. Call from one thread at
  /// a time (the medium actor). With `defer` the entries wait in the ring
  /// until flush() (or a later start without it), so that one system call
  /// and one device notification cover a burst of requests.
  bool start(uint64_t offset, std::span<const iovec> segments,
             std::unique_ptr<direct_read>& op, bool defer = false);
  /// The same for a gather write into space the medium already has
  /// (medium_image::map_write): no allocation, no metadata change.
  bool start_write(uint64_t offset, std::span<const iovec> segments,
                   std::unique_ptr<direct_read>& op, bool defer = false);

  /// Hands deferred entries to the kernel.
  void flush();

private:
  explicit direct_reader(std::shared_ptr<direct_reader_core> core);

  std::shared_ptr<direct_reader_core> core_;
  std::thread reaper_;
};

} // namespace tb::storage
