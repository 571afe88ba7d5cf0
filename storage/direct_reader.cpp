// The io_uring read path: plan (map the range, check alignment), zero the
// pieces that read as zero, queue one READV per file piece, submit; the
// completion thread adds up results and finishes each request once.
#include "storage/direct_reader.hpp"

#include <climits>
#include <cstring>

#include "storage/errors.hpp"
#include "storage/uring.hpp"

namespace tb::storage {

namespace {

constexpr unsigned ring_entries = 256; // CQ gets twice that.
constexpr size_t max_pieces = 64;      // File pieces per request.
constexpr uint64_t direct_align = 512; // O_DIRECT: offset, length, address.
constexpr unsigned max_deferred = 32;  // Entries a burst may hold back.
// From this many entries in flight on, new ones are issued by the kernel's
// workers (IOSQE_ASYNC). On this project's 2-CPU test host each issue
// costs a device notification of ~10 us, so one submitting thread issuing
// a whole burst is the bottleneck: 4 KiB reads at depth 32 went from ~80 %
// to ~100 % of 32 plain O_DIRECT threads (bench/storage.sh, "uring").
// Below it, issuing inline is quicker (no hand-off to a worker).
constexpr unsigned async_from = 4;

bool aligned(uint64_t v) {
  return v % direct_align == 0;
}

} // namespace

struct direct_reader_core {
  std::shared_ptr<medium_image> image;
  std::unique_ptr<uring> ring;
  int fd = -1;
  std::atomic<unsigned> in_flight{0}; ///< Entries queued, not yet reaped.
  std::atomic<bool> stopping{false};

  // Scratch of start(), which runs on one thread at a time.
  struct piece {
    uint64_t file_offset;
    size_t iov_first, iov_count;
  };
  std::vector<file_extent> extents;
  std::vector<piece> pieces;
  std::vector<iovec> zeros;

  void run() {
    while (!(stopping.load() && in_flight.load() == 0))
      ring->reap([this](uint64_t tag, int32_t res) {
        complete(reinterpret_cast<direct_read*>(tag), res);
      });
  }

  void complete(direct_read* op, int32_t res) {
    if (res < 0 && op->errno_ == 0)
      op->errno_ = -res;
    else if (res > 0)
      op->got_ += static_cast<uint64_t>(res);
    bool last = --op->parts_ == 0;
    in_flight.fetch_sub(1);
    if (!last)
      return;
    caf::error err;
    if (op->errno_ != 0)
      err = make_io_error(
          (op->write_ ? "writing " : "reading ") + image->path(), op->errno_);
    else if (op->got_ != op->expected_)
      err = again(*op); // Short: redo it the plain way.
    op->finish(std::move(err));
    delete op;
  }

  // Reads: the file ends early (pread fills zeros); writes: the device
  // took part (the plain pwrite loop finishes it).
  caf::error again(const direct_read& op) {
    uint64_t off = op.offset_;
    for (const auto& s : op.segs_) {
      auto* p = static_cast<uint8_t*>(s.iov_base);
      if (auto err = op.write_ ? image->write(off, {p, s.iov_len})
                               : image->read(off, {p, s.iov_len}))
        return err;
      off += s.iov_len;
    }
    return {};
  }

  // Fills `pieces`, `zeros` and op.iov_; false when the request does not
  // fit the direct path.
  bool plan(uint64_t offset, std::span<const iovec> segs, direct_read& op) {
    uint64_t total = 0;
    for (const auto& s : segs)
      total += s.iov_len;
    extents.clear();
    pieces.clear();
    zeros.clear();
    op.iov_.clear();
    if (op.write_ ? !image->map_write(offset, total, extents)
                  : !image->map_read(offset, total, extents))
      return false;
    size_t si = 0;
    uint64_t so = 0; // Cursor into the segments.
    for (const auto& e : extents) {
      if ((e.zero && op.write_) || (!e.zero && !aligned(e.file_offset)))
        return false;
      size_t first = op.iov_.size();
      for (uint64_t left = e.length; left > 0;) {
        while (si < segs.size() && so == segs[si].iov_len)
          ++si, so = 0;
        if (si == segs.size())
          return false; // Cannot happen: extents cover exactly `total`.
        auto* base = static_cast<uint8_t*>(segs[si].iov_base) + so;
        uint64_t take = std::min<uint64_t>(left, segs[si].iov_len - so);
        if (e.zero) {
          zeros.push_back({base, take});
        } else {
          if (!aligned(reinterpret_cast<uintptr_t>(base)) || !aligned(take))
            return false;
          op.iov_.push_back({base, take});
        }
        so += take;
        left -= take;
      }
      if (!e.zero) {
        size_t count = op.iov_.size() - first;
        if (count > IOV_MAX)
          return false;
        pieces.push_back({e.file_offset, first, count});
        op.expected_ += e.length;
      }
    }
    return pieces.size() <= max_pieces;
  }
};

std::unique_ptr<direct_reader>
direct_reader::create(std::shared_ptr<medium_image> image) {
  std::vector<file_extent> probe;
  if (image->direct_fd() < 0 || !image->map_read(0, 0, probe))
    return nullptr;
  auto ring = uring::create(ring_entries);
  if (!ring)
    return nullptr;
  auto core = std::make_shared<direct_reader_core>();
  core->fd = image->direct_fd();
  core->image = std::move(image);
  core->ring = std::move(*ring);
  std::unique_ptr<direct_reader> reader{new direct_reader(core)};
  reader->reaper_ = std::thread([core] { core->run(); });
  return reader;
}

direct_reader::direct_reader(std::shared_ptr<direct_reader_core> core)
    : core_(std::move(core)) {}

direct_reader::~direct_reader() {
  core_->stopping = true;
  core_->ring->wake();
  if (reaper_.get_id() == std::this_thread::get_id())
    reaper_.detach(); // The last completion dropped the medium's owner.
  else
    reaper_.join();
}

bool direct_reader::start_write(uint64_t offset,
                                std::span<const iovec> segments,
                                std::unique_ptr<direct_read>& op, bool defer) {
  op->write_ = true;
  bool ok = start(offset, segments, op, defer);
  if (!ok)
    op->write_ = false;
  return ok;
}

bool direct_reader::start(uint64_t offset, std::span<const iovec> segments,
                          std::unique_ptr<direct_read>& op, bool defer) {
  auto& c = *core_;
  op->expected_ = 0;
  op->got_ = 0;
  op->errno_ = 0;
  if (!c.plan(offset, segments, *op))
    return false;
  auto n = static_cast<unsigned>(c.pieces.size());
  if (c.in_flight.load() + n > c.ring->capacity())
    return false;
  for (const auto& z : c.zeros)
    std::memset(z.iov_base, 0, z.iov_len);
  if (n == 0) { // All zeros: done already.
    op->finish({});
    op.reset();
    return true;
  }
  op->offset_ = offset;
  op->segs_.assign(segments.begin(), segments.end());
  op->parts_ = n;
  c.in_flight.fetch_add(n);
  direct_read* raw = op.release();
  auto tag = reinterpret_cast<uint64_t>(raw);
  bool async = c.in_flight.load() >= async_from;
  for (const auto& p : c.pieces) {
    const iovec* iov = raw->iov_.data() + p.iov_first;
    auto count = static_cast<unsigned>(p.iov_count);
    while (!(
        raw->write_
            ? c.ring->queue_writev(c.fd, iov, count, p.file_offset, tag, async)
            : c.ring->queue_readv(c.fd, iov, count, p.file_offset, tag, async)))
      (void)c.ring->submit(); // Full: hand the queued ones over first.
  }
  if (!defer || c.ring->pending() >= max_deferred)
    flush();
  return true;
}

void direct_reader::flush() {
  // Submission only fails for want of kernel memory; the entries stay
  // queued, so retry until the kernel takes them.
  while (core_->ring->submit() != 0)
    std::this_thread::yield();
}

} // namespace tb::storage
