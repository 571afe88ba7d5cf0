// Creating empty VDI and raw images in VirtualBox's layout, and probing.
#include "storage/medium_create.hpp"

#include <cerrno>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "storage/errors.hpp"
#include "storage/file_io.hpp"
#include "storage/medium_image.hpp"
#include "storage/vdi_format.hpp"

namespace tb::storage {

namespace {

// Preallocates [from, to) in steps so progress can be reported; fallocate
// gives zero-reading, really allocated space as VBox's zero-filling does.
caf::error preallocate(int fd, uint64_t from, uint64_t to,
                       const std::string& path, const progress_fn& progress) {
  constexpr uint64_t step = uint64_t{256} << 20;
  int last = -1;
  for (uint64_t at = from; at < to; at += step) {
    uint64_t len = std::min(step, to - at);
    if (::fallocate(fd, 0, static_cast<off_t>(at), static_cast<off_t>(len))
        != 0) {
      if (errno != EOPNOTSUPP)
        return make_io_error("preallocating " + path, errno);
      std::vector<uint8_t> zeros(1 << 20, 0);
      for (uint64_t z = at; z < at + len; z += zeros.size())
        if (auto err = pwrite_full(fd,
                                   std::span{zeros}.first(std::min<uint64_t>(
                                       zeros.size(), at + len - z)),
                                   z, path))
          return err;
    }
    int pct = static_cast<int>((at + len - from) * 100 / (to - from));
    if (progress && pct != last && pct < 100)
      progress(last = pct);
  }
  return {};
}

caf::error write_vdi(int fd, const std::string& path, const vdi_header& h,
                     const progress_fn& progress) {
  std::vector<uint8_t> head(vdi_pre_header_size + h.header_size);
  encode_vdi_header(h, head);
  if (auto err = pwrite_full(fd, head, 0, path))
    return err;
  bool fixed = h.type == vdi_type::fixed;
  std::vector<uint32_t> map(h.blocks, vdi_block_free);
  for (uint32_t i = 0; fixed && i < h.blocks; ++i)
    map[i] = i;
  std::span<const uint8_t> bytes{reinterpret_cast<const uint8_t*>(map.data()),
                                 map.size() * 4};
  if (auto err = pwrite_full(fd, bytes, h.offset_blocks, path))
    return err;
  uint64_t end = h.file_size_for(h.blocks_allocated);
  if (::ftruncate(fd, static_cast<off_t>(end)) != 0)
    return make_io_error("sizing " + path, errno);
  if (fixed)
    return preallocate(fd, h.offset_data, end, path, progress);
  return {};
}

caf::error check_size(const std::string& path, uint64_t size,
                      medium_format format) {
  if (size == 0)
    return make_storage_error(storage_errc::invalid_argument,
                              "cannot create " + path + " with size 0");
  if (format == medium_format::vdi && size > vdi_max_disk_size)
    return make_storage_error(storage_errc::invalid_argument,
                              "cannot create " + path + ": "
                                  + std::to_string(size)
                                  + " bytes exceeds the 64 TiB VDI limit");
  if (format == medium_format::iso)
    return make_storage_error(storage_errc::unsupported,
                              "cannot create " + path
                                  + ": ISO images are read-only");
  return {};
}

} // namespace

caf::expected<medium_info>
create_medium(const std::string& path, medium_format format,
              uint64_t size_bytes, medium_variant variant,
              const progress_fn& progress, const uuid* id) {
  if (auto err = check_size(path, size_bytes, format))
    return err;
  unique_fd fd{
      ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
  if (!fd) {
    if (errno == EEXIST)
      return make_storage_error(storage_errc::exists,
                                "medium " + path + " already exists");
    return make_io_error("creating medium " + path, errno);
  }
  if (progress)
    progress(0);
  bool fixed = variant == medium_variant::fixed;
  medium_info info;
  info.format = format;
  info.variant = variant;
  info.logical_size = size_bytes;
  caf::error err;
  if (format == medium_format::vdi) {
    info.id = id ? *id : uuid::random();
    err = write_vdi(fd.get(), path,
                    make_vbox_header(size_bytes, fixed, info.id), progress);
  } else if (::ftruncate(fd.get(), static_cast<off_t>(size_bytes)) != 0) {
    err = make_io_error("sizing " + path, errno);
  } else if (fixed) {
    err = preallocate(fd.get(), 0, size_bytes, path, progress);
  }
  if (!err)
    err = sync_data(fd.get(), path);
  if (err) {
    ::unlink(path.c_str());
    return err;
  }
  if (progress)
    progress(100);
  return info;
}

caf::expected<medium_info> probe_medium(const std::string& path) {
  auto img = open_medium(path, open_options{});
  if (!img)
    return img.error();
  return (*img)->info();
}

} // namespace tb::storage
