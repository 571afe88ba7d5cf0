// POSIX file helpers for the storage library.
#include "storage/file_io.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/errors.hpp"

namespace tb::storage {

caf::error pread_full(int fd, std::span<uint8_t> out, uint64_t offset,
                      const std::string& name) {
  size_t done = 0;
  while (done < out.size()) {
    auto n = ::pread(fd, out.data() + done, out.size() - done,
                     static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return make_io_error("reading " + name, errno);
    }
    if (n == 0) { // Past EOF: sparse tails read as zero.
      std::memset(out.data() + done, 0, out.size() - done);
      return {};
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

caf::error pwrite_full(int fd, std::span<const uint8_t> data, uint64_t offset,
                       const std::string& name) {
  size_t done = 0;
  while (done < data.size()) {
    auto n = ::pwrite(fd, data.data() + done, data.size() - done,
                      static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return make_io_error("writing " + name, errno);
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

caf::error sync_data(int fd, const std::string& name) {
  while (::fdatasync(fd) != 0) {
    if (errno != EINTR)
      return make_io_error("flushing " + name, errno);
  }
  return {};
}

caf::expected<uint64_t> file_size(int fd, const std::string& name) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return make_io_error("stat " + name, errno);
  return static_cast<uint64_t>(st.st_size);
}

uint64_t allocated_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return 0;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

bool all_zero(std::span<const uint8_t> data) {
  // The first 64 bytes byte by byte: random data exits here. Once they are
  // zero, memcmp of the buffer with itself shifted by 64 checks the rest
  // (p[i] == p[i + 64] for all i, so by induction all are zero) with
  // glibc's vector code, several times faster than a word loop.
  constexpr size_t head = 64;
  size_t n = std::min(data.size(), head);
  for (size_t i = 0; i < n; ++i)
    if (data[i] != 0)
      return false;
  return data.size() <= head
         || std::memcmp(data.data(), data.data() + head, data.size() - head)
                == 0;
}

aligned_buffer::aligned_buffer(size_t size) : size_(size) {
  void* p = nullptr;
  if (::posix_memalign(&p, 4096, std::max<size_t>(size, 1)) != 0)
    throw std::bad_alloc{};
  std::memset(p, 0, size);
  data_ = static_cast<uint8_t*>(p);
}

aligned_buffer::~aligned_buffer() {
  std::free(data_);
}

unique_fd& unique_fd::operator=(unique_fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

unique_fd::~unique_fd() {
  if (fd_ >= 0)
    ::close(fd_);
}

int unique_fd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

} // namespace tb::storage
