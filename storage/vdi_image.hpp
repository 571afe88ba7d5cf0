// An open VDI image: block-mapped reads and writes, allocation, flush,
// discard and resize (virtualbox-compat.md section 1).
//
// Metadata lives in a shared mapping of the file's first bytes (header and
// block map), so a map update is one aligned 4-byte store into the page
// cache: a process killed at any instant leaves either the old or the new
// entry, never half of one. Allocation order, kept under alloc_mutex_:
//  1. the file is grown (ftruncate + fdatasync, in chunks of 64 blocks) so
//     its size is durable before any entry points into the new space;
//  2. the block's data is written (pwrite);
//  3. the header's cBlocksAllocated is raised;
//  4. the map entry is stored.
// A kill between 3 and 4 leaves one unreferenced trailing block, which the
// next writable open gives back (cBlocksAllocated is lowered again).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "storage/file_io.hpp"
#include "storage/medium_image.hpp"
#include "storage/vdi_format.hpp"

namespace tb::storage {

/// One open VDI file.
class vdi_image final : public medium_image {
public:
  /// Validates header and map of the open file `fd` and maps its metadata.
  static caf::expected<std::unique_ptr<vdi_image>>
  open(unique_fd fd, const std::string& path, const open_options& options);

  ~vdi_image() override;

  const vdi_header& header() const { return header_; }

  /// Grows the disk to `new_size` bytes (shrinking is refused). Needs a
  /// writable image and no I/O in flight.
  caf::error resize(uint64_t new_size);

  // medium_image
  medium_info info() const override;
  const std::string& path() const override { return path_; }
  caf::error read(uint64_t offset, std::span<uint8_t> out) override;
  caf::error write(uint64_t offset, std::span<const uint8_t> data) override;
  caf::error flush() override;
  caf::error discard(uint64_t offset, uint64_t length) override;
  extent_kind extent_at(uint64_t offset, uint64_t* run) const override;
  uint64_t size_on_disk() const override { return allocated_size(fd_.get()); }
  int direct_fd() const override { return direct_fd_ ? direct_fd_.get() : -1; }
  bool map_read(uint64_t offset, uint64_t length,
                std::vector<file_extent>& out) const override;
  bool map_write(uint64_t offset, uint64_t length,
                 std::vector<file_extent>& out) override;

private:
  vdi_image(unique_fd fd, std::string path, vdi_header header);

  caf::error map_metadata(bool writable);
  void unmap_metadata();
  caf::error repair_leak(uint32_t unreferenced);
  uint32_t entry(uint64_t block) const;
  void set_entry(uint64_t block, uint32_t value);
  void set_allocated(uint32_t n);
  caf::error note_modified();
  caf::error allocate(uint64_t block, uint32_t in_block,
                      std::span<const uint8_t> data);
  caf::error reserve_file(uint32_t blocks);
  caf::error data_read(uint64_t file_off, std::span<uint8_t> out);
  caf::error data_write(uint64_t file_off, std::span<const uint8_t> data);
  size_t contiguous_run(uint64_t block, uint32_t first, size_t in_block,
                        size_t max) const;
  caf::error grow_map_in_place(uint32_t new_blocks);
  caf::error relocate_for_map(uint32_t new_blocks);
  caf::error write_header_and_sync();

  unique_fd fd_;
  unique_fd direct_fd_; ///< O_DIRECT twin of fd_ for aligned data I/O.
  std::string path_;
  vdi_header header_; ///< Cached copy; blocks_allocated under alloc_mutex_.
  bool writable_ = false;
  uint8_t* meta_ = nullptr; ///< Shared mapping of [0, end of block map).
  size_t meta_len_ = 0;
  uint32_t* map_ = nullptr;    ///< Entries, read with atomic loads.
  std::mutex alloc_mutex_;     ///< Serializes allocation and metadata stores.
  uint64_t reserved_size_ = 0; ///< File size already made durable.
  uint64_t open_size_ = 0;     ///< File size at open; never cut below.
  std::unique_ptr<aligned_buffer> block_buf_; ///< New block, under mutex.
  std::atomic<bool> modified_{false};         ///< uuidModify renewed this open.
};

} // namespace tb::storage
