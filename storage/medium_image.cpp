// Format detection and opening of media.
#include "storage/medium_image.hpp"

#include <cerrno>
#include <chrono>

#include <fcntl.h>
#include <unistd.h>

#include "storage/errors.hpp"
#include "storage/file_io.hpp"
#include "storage/medium_lock.hpp"
#include "storage/raw_image.hpp"
#include "storage/vdi_image.hpp"

namespace tb::storage {

caf::error medium_image::check_range(uint64_t offset, uint64_t length) const {
  uint64_t size = this->size();
  if (offset > size || length > size - offset)
    return make_storage_error(storage_errc::out_of_range,
                              "access to " + std::to_string(length)
                                  + " bytes at " + std::to_string(offset)
                                  + " is past the end of medium " + path()
                                  + " (" + std::to_string(size) + " bytes)");
  return {};
}

namespace {

bool ends_with_iso(const std::string& path) {
  if (path.size() < 4)
    return false;
  std::string ext = path.substr(path.size() - 4);
  for (auto& c : ext)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".iso";
}

caf::expected<medium_format> detect(int fd, const std::string& path) {
  uint8_t head[72] = {};
  if (auto err = pread_full(fd, head, 0, path))
    return err;
  uint32_t sig = uint32_t{head[0x40]} | uint32_t{head[0x41]} << 8
                 | uint32_t{head[0x42]} << 16 | uint32_t{head[0x43]} << 24;
  if (sig == vdi_signature)
    return medium_format::vdi;
  uint8_t iso[8] = {};
  if (auto err = pread_full(fd, iso, 0x8000, path))
    return err;
  if (ends_with_iso(path) || has_iso_signature(iso))
    return medium_format::iso;
  return medium_format::raw;
}

caf::error take_lock(int fd, const std::string& path,
                     const open_options& options) {
  std::chrono::milliseconds wait{options.lock_wait_ms};
  if (options.writable)
    return lock_medium(fd, path, options.owner, wait, lock_kind::exclusive);
  if (options.lock_shared)
    return lock_medium(fd, path, options.owner, wait, lock_kind::shared);
  return {};
}

} // namespace

caf::expected<std::unique_ptr<medium_image>>
open_medium(const std::string& path, const open_options& options) {
  int flags = (options.writable ? O_RDWR : O_RDONLY) | O_CLOEXEC;
  unique_fd fd{::open(path.c_str(), flags)};
  if (!fd)
    return make_io_error("opening medium " + path, errno);
  auto format = detect(fd.get(), path);
  if (!format)
    return format.error();
  if (*format == medium_format::iso && options.writable)
    return make_storage_error(storage_errc::read_only,
                              "ISO image " + path
                                  + " can only be opened "
                                    "read-only");
  if (auto err = take_lock(fd.get(), path, options))
    return err;
  switch (*format) {
  case medium_format::vdi: {
    auto img = vdi_image::open(std::move(fd), path, options);
    if (!img)
      return img.error();
    return std::unique_ptr<medium_image>{std::move(*img)};
  }
  case medium_format::iso: {
    auto img = raw_image::open_iso(std::move(fd), path);
    if (!img)
      return img.error();
    return std::unique_ptr<medium_image>{std::move(*img)};
  }
  case medium_format::raw: {
    auto img = raw_image::open(std::move(fd), path, options);
    if (!img)
      return img.error();
    return std::unique_ptr<medium_image>{std::move(*img)};
  }
  }
  return make_storage_error(storage_errc::unsupported, "unknown format");
}

} // namespace tb::storage
