// Raw and ISO 9660 media.
#include "storage/raw_image.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include "storage/errors.hpp"

namespace tb::storage {

namespace {

constexpr uint64_t iso_pvd_offset = 0x8000; // Sector 16 of 2048 bytes.
constexpr uint64_t direct_align = 512;

uint32_t get_le32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16
         | uint32_t{p[3]} << 24;
}

} // namespace

bool has_iso_signature(std::span<const uint8_t> d) {
  return d.size() >= 7 && std::memcmp(d.data() + 1, "CD001", 5) == 0;
}

raw_image::raw_image(unique_fd fd, std::string path, uint64_t size,
                     medium_format f)
    : fd_(std::move(fd)), path_(std::move(path)), size_(size), format_(f) {}

caf::expected<std::unique_ptr<raw_image>>
raw_image::open(unique_fd fd, const std::string& path,
                const open_options& options) {
  auto size = file_size(fd.get(), path);
  if (!size)
    return size.error();
  if (*size == 0)
    return make_storage_error(storage_errc::bad_image,
                              "raw image " + path + " is empty");
  std::unique_ptr<raw_image> img{
      new raw_image(std::move(fd), path, *size, medium_format::raw)};
  img->writable_ = options.writable;
  if (options.direct) {
    int dfd = ::open(path.c_str(), (options.writable ? O_RDWR : O_RDONLY)
                                       | O_DIRECT | O_CLOEXEC);
    if (dfd < 0)
      return make_io_error("opening " + path + " with O_DIRECT", errno);
    img->direct_fd_ = unique_fd{dfd};
  }
  return img;
}

caf::expected<std::unique_ptr<raw_image>>
raw_image::open_iso(unique_fd fd, const std::string& path) {
  auto size = file_size(fd.get(), path);
  if (!size)
    return size.error();
  auto bad = [&](const std::string& what) {
    return make_storage_error(storage_errc::bad_image,
                              "ISO image " + path + ": " + what);
  };
  if (*size < iso_pvd_offset + 2048)
    return bad("file is too short for an ISO 9660 volume descriptor");
  uint8_t pvd[2048];
  if (auto err = pread_full(fd.get(), pvd, iso_pvd_offset, path))
    return err;
  if (!has_iso_signature(pvd))
    return bad("no ISO 9660 volume descriptor (\"CD001\") at 0x8001");
  // Primary descriptor: volume space size (LE at 80) in logical blocks of
  // the size at 128 (LE u16). A file shorter than that lost its tail.
  if (pvd[0] == 1) {
    uint64_t blocks = get_le32(pvd + 80);
    uint64_t block_size = uint32_t{pvd[128]} | uint32_t{pvd[129]} << 8;
    if (block_size != 0 && blocks * block_size > *size)
      return bad("file is truncated: " + std::to_string(*size)
                 + " bytes, the volume has "
                 + std::to_string(blocks * block_size));
  }
  return std::unique_ptr<raw_image>{
      new raw_image(std::move(fd), path, *size, medium_format::iso)};
}

medium_info raw_image::info() const {
  medium_info info;
  info.format = format_;
  info.variant = medium_variant::standard;
  info.logical_size = size_;
  return info;
}

int raw_image::fd_for(uint64_t off, const void* ptr, size_t len) const {
  bool ok = off % direct_align == 0 && len % direct_align == 0
            && reinterpret_cast<uintptr_t>(ptr) % direct_align == 0;
  return direct_fd_ && ok ? direct_fd_.get() : fd_.get();
}

caf::error raw_image::read(uint64_t offset, std::span<uint8_t> out) {
  if (auto err = check_range(offset, out.size()))
    return err;
  return pread_full(fd_for(offset, out.data(), out.size()), out, offset, path_);
}

caf::error raw_image::write(uint64_t offset, std::span<const uint8_t> data) {
  if (!writable_)
    return make_storage_error(storage_errc::read_only,
                              "medium " + path_ + " is open read-only");
  if (auto err = check_range(offset, data.size()))
    return err;
  return pwrite_full(fd_for(offset, data.data(), data.size()), data, offset,
                     path_);
}

caf::error raw_image::flush() {
  if (!writable_)
    return {};
  return sync_data(fd_.get(), path_);
}

caf::error raw_image::discard(uint64_t offset, uint64_t length) {
  if (!writable_)
    return make_storage_error(storage_errc::read_only,
                              "medium " + path_ + " is open read-only");
  if (auto err = check_range(offset, length))
    return err;
  uint64_t lo = (offset + 4095) / 4096 * 4096;
  uint64_t hi = (offset + length) / 4096 * 4096;
  if (hi <= lo)
    return {};
  if (::fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  static_cast<off_t>(lo), static_cast<off_t>(hi - lo))
          != 0
      && errno != EOPNOTSUPP)
    return make_io_error("discarding in " + path_, errno);
  return {};
}

bool raw_image::map_read(uint64_t offset, uint64_t length,
                         std::vector<file_extent>& out) const {
  if (offset > size_ || length > size_ - offset)
    return false;
  out.push_back({offset, length, false});
  return true;
}

bool raw_image::map_write(uint64_t offset, uint64_t length,
                          std::vector<file_extent>& out) {
  return writable_ && map_read(offset, length, out);
}

// SEEK_DATA/SEEK_HOLE tell holes from data; a file system without them
// reports everything as data, which is merely slower to convert.
extent_kind raw_image::extent_at(uint64_t offset, uint64_t* run) const {
  auto off = static_cast<off_t>(offset);
  off_t data = ::lseek(fd_.get(), off, SEEK_DATA);
  if (data < 0 && errno == ENXIO) { // Only a hole up to EOF.
    *run = size_ - offset;
    return extent_kind::zero;
  }
  if (data < 0) {
    *run = size_ - offset;
    return extent_kind::data;
  }
  if (data > off) {
    *run = static_cast<uint64_t>(data) - offset;
    return extent_kind::zero;
  }
  off_t hole = ::lseek(fd_.get(), off, SEEK_HOLE);
  uint64_t end = hole < 0 ? size_ : static_cast<uint64_t>(hole);
  *run = std::min(end, size_) - offset;
  return extent_kind::data;
}

caf::error raw_image::resize(uint64_t new_size) {
  if (!writable_)
    return make_storage_error(storage_errc::read_only,
                              "medium " + path_ + " is open read-only");
  if (new_size < size_)
    return make_storage_error(storage_errc::unsupported,
                              "resizing " + path_
                                  + ": shrinking an image is not supported");
  if (::ftruncate(fd_.get(), static_cast<off_t>(new_size)) != 0)
    return make_io_error("resizing " + path_, errno);
  size_ = new_size;
  return sync_data(fd_.get(), path_);
}

} // namespace tb::storage
