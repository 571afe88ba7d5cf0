// VDI reads, writes, allocation and metadata (ordering rules in the header).
#include "storage/vdi_image.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "storage/errors.hpp"

namespace tb::storage {

static_assert(std::endian::native == std::endian::little,
              "the block map is used in place as little-endian u32");

namespace {

bool is_allocated(uint32_t p) {
  return p < vdi_block_zero;
}

constexpr uint32_t reserve_chunk_blocks = 64;
constexpr uint64_t direct_align = 512;

bool aligned(uint64_t off, const void* ptr, size_t len) {
  return off % direct_align == 0 && len % direct_align == 0
         && reinterpret_cast<uintptr_t>(ptr) % direct_align == 0;
}

} // namespace

vdi_image::vdi_image(unique_fd fd, std::string path, vdi_header header)
    : fd_(std::move(fd)), path_(std::move(path)), header_(std::move(header)) {}

vdi_image::~vdi_image() {
  if (writable_ && meta_) {
    // Give back what reserve_file() added beyond the last block; a killed
    // process leaves it, which is harmless.
    uint64_t exact =
        std::max(open_size_, header_.file_size_for(header_.blocks_allocated));
    if (reserved_size_ > exact)
      (void)::ftruncate(fd_.get(), static_cast<off_t>(exact));
  }
  unmap_metadata();
}

caf::expected<std::unique_ptr<vdi_image>>
vdi_image::open(unique_fd fd, const std::string& path,
                const open_options& options) {
  auto size = file_size(fd.get(), path);
  if (!size)
    return size.error();
  std::vector<uint8_t> buf(vdi_header_read_size);
  auto n = std::min<uint64_t>(*size, buf.size());
  if (auto err = pread_full(fd.get(), std::span{buf}.first(n), 0, path))
    return err;
  auto header = parse_vdi_header(std::span{buf}.first(n), *size, path);
  if (!header)
    return header.error();
  if (header->type == vdi_type::diff || header->type == vdi_type::undo)
    return make_storage_error(storage_errc::unsupported,
                              "VDI image " + path
                                  + " is a differencing image; telebox only "
                                    "opens base images");
  if (header->offset_blocks % 4 != 0)
    return make_storage_error(storage_errc::unsupported,
                              "VDI header of " + path + ": block map offset "
                                  + std::to_string(header->offset_blocks)
                                  + " is not 4-byte aligned");
  std::unique_ptr<vdi_image> img{
      new vdi_image(std::move(fd), path, std::move(*header))};
  img->writable_ = options.writable;
  img->reserved_size_ = *size;
  img->open_size_ = *size;
  if (auto err = img->map_metadata(options.writable))
    return err;
  uint32_t unreferenced = 0;
  std::span<const uint32_t> map{img->map_, img->header_.blocks};
  if (auto err = validate_block_map(img->header_, map, path, &unreferenced))
    return err;
  if (options.writable && unreferenced > 0)
    if (auto err = img->repair_leak(unreferenced))
      return err;
  if (options.direct) {
    int dfd = ::open(path.c_str(), (options.writable ? O_RDWR : O_RDONLY)
                                       | O_DIRECT | O_CLOEXEC);
    if (dfd < 0)
      return make_io_error("opening " + path + " with O_DIRECT", errno);
    img->direct_fd_ = unique_fd{dfd};
  }
  return img;
}

caf::error vdi_image::map_metadata(bool writable) {
  meta_len_ = header_.offset_blocks + 4 * size_t{header_.blocks};
  int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  void* p = ::mmap(nullptr, meta_len_, prot, MAP_SHARED, fd_.get(), 0);
  if (p == MAP_FAILED) {
    meta_ = nullptr;
    return make_io_error("mapping the block map of " + path_, errno);
  }
  meta_ = static_cast<uint8_t*>(p);
  map_ = reinterpret_cast<uint32_t*>(meta_ + header_.offset_blocks);
  return {};
}

void vdi_image::unmap_metadata() {
  if (meta_)
    ::munmap(meta_, meta_len_);
  meta_ = nullptr;
  map_ = nullptr;
}

// A kill between raising cBlocksAllocated and storing the entry leaves the
// highest data blocks unreferenced; anything else is someone else's damage
// and is left alone (reads are still correct).
caf::error vdi_image::repair_leak(uint32_t unreferenced) {
  uint32_t used = header_.blocks_allocated - unreferenced;
  uint32_t highest = 0;
  for (uint32_t i = 0; i < header_.blocks; ++i)
    if (is_allocated(map_[i]))
      highest = std::max(highest, map_[i] + 1);
  if (highest != used)
    return {};
  header_.blocks_allocated = used;
  set_allocated(used);
  return {};
}

uint32_t vdi_image::entry(uint64_t block) const {
  return __atomic_load_n(&map_[block], __ATOMIC_ACQUIRE);
}

void vdi_image::set_entry(uint64_t block, uint32_t value) {
  __atomic_store_n(&map_[block], value, __ATOMIC_RELEASE);
}

void vdi_image::set_allocated(uint32_t n) {
  auto field = reinterpret_cast<uint32_t*>(meta_ + vdi_off_blocks_allocated);
  __atomic_store_n(field, n, __ATOMIC_RELEASE);
}

medium_info vdi_image::info() const {
  medium_info info;
  info.id = header_.create_id;
  info.format = medium_format::vdi;
  info.variant = header_.type == vdi_type::fixed ? medium_variant::fixed
                                                 : medium_variant::standard;
  info.logical_size = header_.disk_size;
  return info;
}

caf::error vdi_image::data_read(uint64_t file_off, std::span<uint8_t> out) {
  int fd = direct_fd_ && aligned(file_off, out.data(), out.size())
               ? direct_fd_.get()
               : fd_.get();
  return pread_full(fd, out, file_off, path_);
}

caf::error vdi_image::data_write(uint64_t file_off,
                                 std::span<const uint8_t> data) {
  int fd = direct_fd_ && aligned(file_off, data.data(), data.size())
               ? direct_fd_.get()
               : fd_.get();
  return pwrite_full(fd, data, file_off, path_);
}

// Bytes from `in_block` of `block` (mapped to `first`) that continue in
// physically consecutive blocks, up to `max`; one pread/pwrite covers them.
size_t vdi_image::contiguous_run(uint64_t block, uint32_t first,
                                 size_t in_block, size_t max) const {
  size_t bs = header_.block_size;
  size_t len = std::min(max, bs - in_block);
  if (header_.block_extra != 0)
    return len;
  uint32_t last = first;
  for (uint64_t b = block + 1; len < max && b < header_.blocks; ++b) {
    uint32_t p = entry(b);
    if (p != last + 1)
      break;
    len += std::min(max - len, bs);
    last = p;
  }
  return len;
}

caf::error vdi_image::read(uint64_t offset, std::span<uint8_t> out) {
  if (auto err = check_range(offset, out.size()))
    return err;
  while (!out.empty()) {
    uint64_t block = offset / header_.block_size;
    auto in_block = static_cast<uint32_t>(offset % header_.block_size);
    uint32_t p = entry(block);
    size_t len;
    if (is_allocated(p)) {
      len = contiguous_run(block, p, in_block, out.size());
      if (auto err =
              data_read(header_.data_offset(p) + in_block, out.first(len)))
        return err;
    } else {
      len = std::min<size_t>(out.size(), header_.block_size - in_block);
      std::memset(out.data(), 0, len);
    }
    offset += len;
    out = out.subspan(len);
  }
  return {};
}

// The same walk as read(), yielding the pieces instead of reading them.
bool vdi_image::map_read(uint64_t offset, uint64_t length,
                         std::vector<file_extent>& out) const {
  if (offset > header_.disk_size || length > header_.disk_size - offset)
    return false;
  while (length > 0) {
    uint64_t block = offset / header_.block_size;
    auto in_block = static_cast<uint32_t>(offset % header_.block_size);
    uint32_t p = entry(block);
    uint64_t len;
    if (is_allocated(p)) {
      len = contiguous_run(block, p, in_block, length);
      out.push_back({header_.data_offset(p) + in_block, len, false});
    } else {
      len = std::min<uint64_t>(length, header_.block_size - in_block);
      if (!out.empty() && out.back().zero)
        out.back().length += len;
      else
        out.push_back({0, len, true});
    }
    offset += len;
    length -= len;
  }
  return true;
}

bool vdi_image::map_write(uint64_t offset, uint64_t length,
                          std::vector<file_extent>& out) {
  size_t first = out.size();
  if (!writable_ || !map_read(offset, length, out) || note_modified())
    return false;
  return std::none_of(out.begin() + static_cast<ptrdiff_t>(first), out.end(),
                      [](const file_extent& e) { return e.zero; });
}

caf::error vdi_image::write(uint64_t offset, std::span<const uint8_t> data) {
  if (!writable_)
    return make_storage_error(storage_errc::read_only,
                              "medium " + path_ + " is open read-only");
  if (auto err = check_range(offset, data.size()))
    return err;
  if (auto err = note_modified())
    return err;
  while (!data.empty()) {
    uint64_t block = offset / header_.block_size;
    auto in_block = static_cast<uint32_t>(offset % header_.block_size);
    uint32_t p = entry(block);
    size_t len;
    if (is_allocated(p)) {
      len = contiguous_run(block, p, in_block, data.size());
      if (auto err =
              data_write(header_.data_offset(p) + in_block, data.first(len)))
        return err;
    } else {
      len = std::min<size_t>(data.size(), header_.block_size - in_block);
      if (auto err = allocate(block, in_block, data.first(len)))
        return err;
    }
    offset += len;
    data = data.subspan(len);
  }
  return {};
}

// VBox renews uuidModify on the first write after each open, so snapshots
// and caches keyed on it notice the change.
caf::error vdi_image::note_modified() {
  if (modified_.load(std::memory_order_acquire))
    return {};
  std::lock_guard<std::mutex> guard{alloc_mutex_};
  if (modified_.load(std::memory_order_relaxed))
    return {};
  header_.modify_id = uuid::random();
  header_.modify_id.to_iprt(meta_ + vdi_off_uuid_modify);
  modified_.store(true, std::memory_order_release);
  return {};
}

caf::error vdi_image::reserve_file(uint32_t blocks) {
  uint64_t needed = header_.file_size_for(blocks);
  if (needed <= reserved_size_)
    return {};
  uint32_t target = std::min(header_.blocks, blocks + reserve_chunk_blocks);
  uint64_t size = std::max(needed, header_.file_size_for(target));
  if (::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0)
    return make_io_error("growing " + path_, errno);
  // The new size must be on disk before an entry points into it, or a
  // power loss could leave a map reaching past the end of the file.
  if (auto err = sync_data(fd_.get(), path_))
    return err;
  reserved_size_ = size;
  return {};
}

caf::error vdi_image::allocate(uint64_t block, uint32_t in_block,
                               std::span<const uint8_t> data) {
  // Unallocated blocks read as zero, so zero writes change nothing (VBox
  // keeps such blocks unallocated too).
  if (all_zero(data))
    return {};
  std::lock_guard<std::mutex> guard{alloc_mutex_};
  uint32_t p = entry(block);
  if (is_allocated(p)) // Another thread allocated it meanwhile.
    return data_write(header_.data_offset(p) + in_block, data);
  uint32_t n = header_.blocks_allocated;
  if (auto err = reserve_file(n + 1))
    return err;
  std::span<const uint8_t> whole = data;
  if (data.size() != header_.block_size) {
    if (!block_buf_)
      block_buf_ = std::make_unique<aligned_buffer>(header_.block_size);
    auto buf = block_buf_->span();
    std::fill(buf.begin(), buf.end(), uint8_t{0});
    std::memcpy(buf.data() + in_block, data.data(), data.size());
    whole = buf;
  }
  if (auto err = data_write(header_.data_offset(n), whole))
    return err;
  header_.blocks_allocated = n + 1;
  set_allocated(n + 1);
  set_entry(block, n);
  return {};
}

caf::error vdi_image::flush() {
  return sync_data(fd_.get(), path_);
}

caf::error vdi_image::discard(uint64_t offset, uint64_t length) {
  if (!writable_)
    return make_storage_error(storage_errc::read_only,
                              "medium " + path_ + " is open read-only");
  if (auto err = check_range(offset, length))
    return err;
  // Fixed images promise preallocated space; keep it.
  if (header_.type == vdi_type::fixed)
    return {};
  uint64_t end = offset + length;
  while (offset < end) {
    uint64_t block = offset / header_.block_size;
    uint64_t in_block = offset % header_.block_size;
    uint64_t len = std::min(end - offset, header_.block_size - in_block);
    uint32_t p = entry(block);
    uint64_t lo = (in_block + 4095) / 4096 * 4096;
    uint64_t hi = (in_block + len) / 4096 * 4096;
    if (is_allocated(p) && hi > lo) {
      // The entry stays; the punched range reads as zeros and frees space.
      auto at = static_cast<off_t>(header_.data_offset(p) + lo);
      if (::fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, at,
                      static_cast<off_t>(hi - lo))
              != 0
          && errno != EOPNOTSUPP)
        return make_io_error("discarding in " + path_, errno);
    }
    offset += len;
  }
  return {};
}

extent_kind vdi_image::extent_at(uint64_t offset, uint64_t* run) const {
  uint64_t bs = header_.block_size;
  uint64_t block = offset / bs;
  bool data = block < header_.blocks && is_allocated(entry(block));
  uint64_t b = block + 1;
  while (b < header_.blocks && is_allocated(entry(b)) == data)
    ++b;
  uint64_t end = std::min(b * bs, header_.disk_size);
  if (run)
    *run = end > offset ? end - offset : 0;
  return data ? extent_kind::data : extent_kind::zero;
}

} // namespace tb::storage
