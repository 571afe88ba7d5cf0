// Thin, retrying wrappers over POSIX file calls that turn errno into storage
// errors naming the file.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace tb::storage {

/// Reads exactly `out.size()` bytes at `offset`; bytes past EOF read as zero.
caf::error pread_full(int fd, std::span<uint8_t> out, uint64_t offset,
                      const std::string& name);

/// Writes all of `data` at `offset`.
caf::error pwrite_full(int fd, std::span<const uint8_t> data, uint64_t offset,
                       const std::string& name);

/// fdatasync(2): the barrier for data and the metadata needed to read it.
caf::error sync_data(int fd, const std::string& name);

/// Size of the open file.
caf::expected<uint64_t> file_size(int fd, const std::string& name);

/// Bytes the file occupies on disk (st_blocks * 512).
uint64_t allocated_size(int fd);

/// True when every byte of `data` is zero.
bool all_zero(std::span<const uint8_t> data);

/// A page-aligned byte buffer. Kernel copies to and from a buffer that is
/// not 64-byte aligned (malloc's large blocks start 16 bytes into a page)
/// ran several times slower here; O_DIRECT needs the alignment anyway.
class aligned_buffer {
public:
  explicit aligned_buffer(size_t size);
  ~aligned_buffer();
  aligned_buffer(const aligned_buffer&) = delete;
  aligned_buffer& operator=(const aligned_buffer&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<uint8_t> span() const { return {data_, size_}; }

private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

/// An owned file descriptor, closed on destruction.
class unique_fd {
public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}
  unique_fd& operator=(unique_fd&& other) noexcept;
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd();

  int get() const { return fd_; }
  int release();
  explicit operator bool() const { return fd_ >= 0; }

private:
  int fd_ = -1;
};

} // namespace tb::storage
