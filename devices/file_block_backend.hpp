// A synchronous block_backend on a host file descriptor (tests, tools).
#pragma once

#include <cstdint>

#include "devices/block_backend.hpp"

namespace tb::devices {

/// pread/pwrite/fdatasync on `fd` (not owned); completes inside submit().
/// The size is taken once, in whole sectors.
class file_block_backend final : public block_backend {
public:
  file_block_backend(int fd, bool read_only);

  uint64_t sectors() const override { return sectors_; }
  bool read_only() const override { return read_only_; }
  void submit(block_request request, block_completion done) override;

private:
  int fd_;
  bool read_only_;
  uint64_t sectors_ = 0;
};

} // namespace tb::devices
