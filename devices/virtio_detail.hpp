// Internal to virtio_blk: little-endian helpers, guest-memory accessors
// that fail closed, and the parsed form of one request.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

#include "devices/block_backend.hpp"
#include "devices/bus.hpp"
#include "devices/virtio_blk.hpp"

namespace tb::devices {

namespace virtio_detail {

enum : uint16_t { desc_next = 1, desc_write = 2, desc_indirect = 4 };
enum : uint32_t { t_in = 0, t_out = 1, t_flush = 4, t_get_id = 8 };

inline uint64_t load_le(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i)
    v |= uint64_t(p[i]) << (8 * i);
  return v;
}

inline void store_le(uint8_t* p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i)
    p[i] = uint8_t(v >> (8 * i));
}

// Guest-memory reads that fail closed.
inline bool read_guest(guest_memory& m, uint64_t gpa, void* out, size_t n) {
  auto s = m.span(gpa, n);
  if (s.size() != n)
    return false;
  std::memcpy(out, s.data(), n);
  return true;
}

inline bool write_guest(guest_memory& m, uint64_t gpa, const void* in,
                        size_t n) {
  auto s = m.span(gpa, n);
  if (s.size() != n)
    return false;
  std::memcpy(s.data(), in, n);
  return true;
}

} // namespace virtio_detail

/// A parsed request: where its status byte and data live.
struct virtio_blk::pending {
  uint16_t head = 0;
  std::span<uint8_t> status;
  uint32_t used_len = 1;
  bool immediate = true; // completed by the device itself
  block_status result = block_status::ok;
  block_request request;
};

} // namespace tb::devices
