// An open medium (VDI, raw or ISO) as a byte-addressed disk. Every method is
// safe to call from several I/O threads at once; requests to different
// ranges proceed in parallel.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "storage/medium_create.hpp"

namespace tb::storage {

/// How an image is opened.
struct open_options {
  bool writable = false;
  /// Lock holder's name for the owner record ("locked by VM <name>").
  std::string owner = "telebox";
  /// Data I/O with O_DIRECT where aligned (VBox's "host I/O cache off").
  bool direct = false;
  /// Readers: take a shared lock so no writer changes the image meanwhile.
  bool lock_shared = false;
  /// How long to wait for another holder's lock (teleport handover).
  int lock_wait_ms = 0;
  /// With `direct`: the storage actor reads through io_uring where it can
  /// (false: its thread pool does every request; for measurements).
  bool async_reads = true;
};

/// Whether a range holds data or is known to read as zero.
enum class extent_kind { data, zero };

/// Where a piece of a read lives in the image file (see map_read).
struct file_extent {
  uint64_t file_offset = 0; ///< In the file behind direct_fd(); 0 if zero.
  uint64_t length = 0;
  bool zero = false; ///< Reads as zeros: nothing to read from the file.
};

/// One open medium.
class medium_image {
public:
  virtual ~medium_image() = default;

  /// What the medium says about itself.
  virtual medium_info info() const = 0;
  uint64_t size() const { return info().logical_size; }
  virtual const std::string& path() const = 0;

  /// Reads `out.size()` bytes at `offset` (inside the medium).
  virtual caf::error read(uint64_t offset, std::span<uint8_t> out) = 0;
  /// Writes `data` at `offset`; a new VDI block is written before the map
  /// entry that points at it.
  virtual caf::error write(uint64_t offset, std::span<const uint8_t> data) = 0;
  /// Barrier: every completed write is durable when this returns.
  virtual caf::error flush() = 0;
  /// Tells the medium the range is unused; later reads return zeros or the
  /// old data (a hint, as in virtio-blk).
  virtual caf::error discard(uint64_t offset, uint64_t length) = 0;
  /// Kind of the range starting at `offset`; `*run` gets its length.
  virtual extent_kind extent_at(uint64_t offset, uint64_t* run) const = 0;
  /// Bytes the file occupies on the host.
  virtual uint64_t size_on_disk() const = 0;

  /// The O_DIRECT descriptor asynchronous readers may read the file
  /// through (pread/io_uring at offsets from map_read), or -1 when the
  /// medium was opened without direct I/O.
  virtual int direct_fd() const { return -1; }
  /// Appends to `out`, in order, where [offset, offset + length) lives in
  /// the file. A piece stays valid while no discard or resize runs on it
  /// (a write never moves data that a map entry points at). False when the
  /// range lies outside the medium or the format cannot say.
  virtual bool map_read(uint64_t offset, uint64_t length,
                        std::vector<file_extent>& out) const {
    (void)offset, (void)length, (void)out;
    return false;
  }
  /// Like map_read, for a write that changes no metadata: true only when
  /// the medium is writable and every byte of the range already has its
  /// place in the file (VDI: allocated blocks; uuidModify is renewed here).
  virtual bool map_write(uint64_t offset, uint64_t length,
                         std::vector<file_extent>& out) {
    (void)offset, (void)length, (void)out;
    return false;
  }

protected:
  /// Checks that [offset, offset+length) lies inside the medium.
  caf::error check_range(uint64_t offset, uint64_t length) const;
};

/// Opens an image, detecting its format (VDI by signature, ISO by
/// extension or volume descriptor, else raw). Writable opens take the
/// exclusive lock.
caf::expected<std::unique_ptr<medium_image>>
open_medium(const std::string& path, const open_options& options = {});

} // namespace tb::storage
