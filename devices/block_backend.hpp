// What a block device (virtio_blk) asks of storage: asynchronous requests
// on guest buffers, completed through a callback.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace tb::devices {

enum class block_op : uint8_t { read, write, flush };

/// Completion status; the numbers are virtio-blk's.
enum class block_status : uint8_t { ok = 0, io_error = 1, unsupported = 2 };

/// One request. `buffers` point into guest memory (destination of a read,
/// source of a write) and stay valid until the completion runs; together
/// they are a multiple of 512 bytes starting at `sector` (512-byte units).
struct block_request {
  block_op op = block_op::read;
  uint64_t sector = 0;
  std::vector<std::span<uint8_t>> buffers;
};

using block_completion = std::function<void(block_status)>;

/// A medium behind a block device (the storage actor in telebox, a plain
/// file in tests). submit() never blocks on I/O for long and calls `done`
/// exactly once, possibly before it returns, possibly from another thread.
class block_backend {
public:
  virtual ~block_backend() = default;
  /// Size in 512-byte sectors.
  virtual uint64_t sectors() const = 0;
  virtual bool read_only() const = 0;
  virtual void submit(block_request request, block_completion done) = 0;
};

} // namespace tb::devices
