// Growing a VDI image. When the larger block map still fits between offBlocks
// and offData (VBox reserves whole MiBs: 256 GiB of disk per MiB of map) the
// grow is crash-safe: new entries first, then the header. When it does not
// (QEMU's tightly packed images), the first data blocks are moved to the
// end of the file to make room, as VBox does; that path rewrites map and
// header in place and is not atomic against a crash mid-way.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include "storage/errors.hpp"
#include "storage/vdi_image.hpp"

namespace tb::storage {

namespace {

bool is_allocated(uint32_t p) {
  return p < vdi_block_zero;
}

} // namespace

caf::error vdi_image::write_header_and_sync() {
  std::vector<uint8_t> buf(vdi_pre_header_size + header_.header_size);
  encode_vdi_header(header_, buf);
  if (auto err = pwrite_full(fd_.get(), buf, 0, path_))
    return err;
  return sync_data(fd_.get(), path_);
}

caf::error vdi_image::resize(uint64_t new_size) {
  if (!writable_)
    return make_storage_error(storage_errc::read_only,
                              "medium " + path_ + " is open read-only");
  if (new_size < header_.disk_size)
    return make_storage_error(storage_errc::unsupported,
                              "resizing " + path_
                                  + ": shrinking a VDI image is not supported");
  if (new_size > vdi_max_disk_size)
    return make_storage_error(storage_errc::invalid_argument,
                              "resizing " + path_ + ": "
                                  + std::to_string(new_size)
                                  + " bytes exceeds the 64 TiB limit");
  auto new_blocks =
      static_cast<uint32_t>(vdi_blocks_for(new_size, header_.block_size));
  uint64_t map_end = header_.offset_blocks + 4 * uint64_t{new_blocks};
  if (map_end > header_.offset_data)
    if (auto err = relocate_for_map(new_blocks))
      return err;
  if (auto err = grow_map_in_place(new_blocks))
    return err;
  header_.disk_size = new_size;
  header_.blocks = new_blocks;
  if (auto err = write_header_and_sync())
    return err;
  unmap_metadata();
  return map_metadata(true);
}

// Writes entries for blocks [blocks, new_blocks) into the reserved map area;
// fixed images get preallocated data blocks for them.
caf::error vdi_image::grow_map_in_place(uint32_t new_blocks) {
  uint32_t old_blocks = header_.blocks;
  if (new_blocks <= old_blocks)
    return {};
  bool fixed = header_.type == vdi_type::fixed;
  std::vector<uint32_t> entries(new_blocks - old_blocks, vdi_block_free);
  uint32_t next = header_.blocks_allocated;
  if (fixed) {
    for (auto& e : entries)
      e = next++;
    auto end = static_cast<off_t>(header_.file_size_for(next));
    if (::ftruncate(fd_.get(), end) != 0)
      return make_io_error("growing " + path_, errno);
    auto start = static_cast<off_t>(header_.offset_data);
    if (::fallocate(fd_.get(), 0, start, end - start) != 0
        && errno != EOPNOTSUPP)
      return make_io_error("preallocating " + path_, errno);
  }
  std::span<const uint8_t> bytes{
      reinterpret_cast<const uint8_t*>(entries.data()), entries.size() * 4};
  if (auto err =
          pwrite_full(fd_.get(), bytes,
                      header_.offset_blocks + 4 * uint64_t{old_blocks}, path_))
    return err;
  if (auto err = sync_data(fd_.get(), path_))
    return err;
  header_.blocks_allocated = next;
  return {};
}

caf::error vdi_image::relocate_for_map(uint32_t new_blocks) {
  uint64_t stride = header_.block_stride();
  uint64_t map_end = header_.offset_blocks + 4 * uint64_t{new_blocks};
  uint64_t k = (map_end - header_.offset_data + stride - 1) / stride;
  uint64_t new_data = header_.offset_data + k * stride;
  if (new_data > UINT32_MAX)
    return make_storage_error(
        storage_errc::unsupported,
        "resizing " + path_ + ": the block map would not fit below 4 GiB");
  uint64_t n = header_.blocks_allocated;
  uint64_t base = std::max(n, k) - k;
  // Copy the data blocks in the way to the end of the file, then sync, so
  // their old places can be overwritten by the map.
  aligned_buffer buf(stride);
  for (uint64_t p = 0; p < std::min(n, k); ++p) {
    uint64_t from = header_.offset_data + p * stride;
    uint64_t to = new_data + (base + p) * stride;
    if (auto err = pread_full(fd_.get(), buf.span(), from, path_))
      return err;
    if (auto err = pwrite_full(fd_.get(), buf.span(), to, path_))
      return err;
  }
  if (auto err = sync_data(fd_.get(), path_))
    return err;
  std::vector<uint32_t> map(header_.blocks);
  for (uint32_t i = 0; i < header_.blocks; ++i) {
    uint32_t e = map_[i];
    if (is_allocated(e))
      e = static_cast<uint32_t>(e < k ? base + e : e - k);
    map[i] = e;
  }
  // Zero the whole new map area so stale data never parses as entries.
  std::vector<uint8_t> area(new_data - header_.offset_blocks, 0);
  std::memcpy(area.data(), map.data(), map.size() * 4);
  std::fill(area.begin() + map.size() * 4,
            area.begin() + 4 * size_t{new_blocks}, uint8_t{0xff});
  if (auto err = pwrite_full(fd_.get(), area, header_.offset_blocks, path_))
    return err;
  header_.offset_data = static_cast<uint32_t>(new_data);
  header_.blocks_allocated = static_cast<uint32_t>(n);
  uint64_t end = header_.file_size_for(header_.blocks_allocated);
  if (::ftruncate(fd_.get(), static_cast<off_t>(end)) != 0)
    return make_io_error("truncating " + path_, errno);
  // The entries [blocks, new_blocks) are already FREE; grow_map_in_place
  // rewrites them (and allocates for fixed images).
  return write_header_and_sync();
}

} // namespace tb::storage
