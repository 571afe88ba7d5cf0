#include "devices/file_block_backend.hpp"

#include <sys/stat.h>
#include <unistd.h>

namespace tb::devices {

file_block_backend::file_block_backend(int fd, bool read_only)
    : fd_(fd), read_only_(read_only) {
  struct stat st {};
  if (fstat(fd, &st) == 0 && st.st_size > 0)
    sectors_ = uint64_t(st.st_size) / 512;
}

void file_block_backend::submit(block_request request, block_completion done) {
  if (request.op == block_op::flush) {
    done(fdatasync(fd_) == 0 ? block_status::ok : block_status::io_error);
    return;
  }
  if (request.op == block_op::write && read_only_) {
    done(block_status::io_error);
    return;
  }
  uint64_t pos = request.sector * 512;
  for (auto buf : request.buffers) {
    size_t done_bytes = 0;
    while (done_bytes < buf.size()) {
      ssize_t n =
          request.op == block_op::read
              ? pread(fd_, buf.data() + done_bytes, buf.size() - done_bytes,
                      off_t(pos + done_bytes))
              : pwrite(fd_, buf.data() + done_bytes, buf.size() - done_bytes,
                       off_t(pos + done_bytes));
      if (n <= 0) {
        done(block_status::io_error);
        return;
      }
      done_bytes += size_t(n);
    }
    pos += buf.size();
  }
  done(block_status::ok);
}

} // namespace tb::devices
