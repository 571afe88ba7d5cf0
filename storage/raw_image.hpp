// Raw images (plain, usually sparse files) and ISO 9660 images (read-only
// raw images whose primary volume descriptor was checked).
#pragma once

#include "storage/file_io.hpp"
#include "storage/medium_image.hpp"

namespace tb::storage {

/// A raw or ISO medium: guest offset = file offset.
class raw_image final : public medium_image {
public:
  /// Opens a raw image; its size is the file size.
  static caf::expected<std::unique_ptr<raw_image>>
  open(unique_fd fd, const std::string& path, const open_options& options);

  /// Opens an ISO 9660 image read-only after checking "CD001" at 0x8001.
  static caf::expected<std::unique_ptr<raw_image>>
  open_iso(unique_fd fd, const std::string& path);

  /// Sets the file size to `new_size` (growing leaves a sparse tail).
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
  raw_image(unique_fd fd, std::string path, uint64_t size, medium_format f);

  int fd_for(uint64_t off, const void* ptr, size_t len) const;

  unique_fd fd_;
  unique_fd direct_fd_;
  std::string path_;
  uint64_t size_;
  medium_format format_;
  bool writable_ = false;
};

/// True when `header` (bytes from offset 0x8000, at least 7) starts an ISO
/// 9660 volume descriptor set.
bool has_iso_signature(std::span<const uint8_t> at_0x8000);

} // namespace tb::storage
