// The request side of virtio_blk: reading the available ring and turning
// descriptor chains into requests, with every index, length and address
// checked (a guest can only hurt itself).
#include <algorithm>
#include <atomic>
#include <cstring>

#include "devices/virtio_blk.hpp"
#include "devices/virtio_detail.hpp"

namespace tb::devices {

using namespace virtio_detail;

void virtio_blk::collect(std::vector<pending>& out) {
  const uint16_t size = state_.queue_size;
  uint16_t avail_idx = 0;
  if (!read_guest(memory_, state_.queue_driver + 2, &avail_idx, 2))
    return fail_ring();
  std::atomic_thread_fence(std::memory_order_acquire);
  if (uint16_t(avail_idx - state_.last_avail) > size)
    return fail_ring(); // more new entries than the ring holds
  while (state_.last_avail != avail_idx) {
    uint16_t head = 0;
    uint64_t slot = state_.queue_driver + 4 + 2ull * (state_.last_avail % size);
    if (!read_guest(memory_, slot, &head, 2) || head >= size)
      return fail_ring();
    ++state_.last_avail;
    pending p;
    p.head = head;
    if (!parse_chain(head, p))
      return fail_ring();
    out.push_back(std::move(p));
  }
}

// Walks one descriptor chain into a request. Returns false only for a
// broken ring (loop, index out of range, unreadable descriptor table);
// bad buffers make an IOERR request instead.
bool virtio_blk::parse_chain(uint16_t head, pending& p) {
  struct segment {
    std::span<uint8_t> bytes;
    bool writable;
  };
  std::vector<segment> segs;
  bool bad = false;
  uint16_t idx = head;
  for (unsigned count = 0;; ++count) {
    if (count >= state_.queue_size || idx >= state_.queue_size)
      return false;
    uint8_t d[16];
    if (!read_guest(memory_, state_.queue_desc + 16ull * idx, d, 16))
      return false;
    uint64_t addr = load_le(d, 8);
    uint32_t len = uint32_t(load_le(d + 8, 4));
    uint16_t flags = uint16_t(load_le(d + 12, 2));
    uint16_t next = uint16_t(load_le(d + 14, 2));
    if (flags & desc_indirect)
      bad = true; // not negotiated
    auto bytes = len ? memory_.span(addr, len) : std::span<uint8_t>{};
    if (len && bytes.size() != len)
      bad = true;
    segs.push_back({bytes, bool(flags & desc_write)});
    if (!(flags & desc_next))
      break;
    idx = next;
  }
  // The status byte: last byte of the last descriptor, which must be
  // device-writable.
  auto& last = segs.back();
  if (last.writable && !last.bytes.empty())
    p.status = last.bytes.last(1);
  else
    bad = true;
  if (!segs.front().writable && segs.front().bytes.size() >= 16 && !bad) {
    const uint8_t* h = segs.front().bytes.data();
    uint32_t type = uint32_t(load_le(h, 4));
    uint64_t sector = load_le(h + 8, 8);
    // Data: the rest of the first segment, the middle segments, and the
    // last segment minus its status byte.
    std::vector<segment> data;
    if (segs.size() == 1) {
      bad = true;
    } else {
      if (segs.front().bytes.size() > 16)
        data.push_back({segs.front().bytes.subspan(16), false});
      for (size_t i = 1; i + 1 < segs.size(); ++i)
        data.push_back(segs[i]);
      if (last.bytes.size() > 1)
        data.push_back({last.bytes.first(last.bytes.size() - 1), true});
    }
    uint64_t total = 0;
    bool all_w = true, all_r = true;
    for (auto& s : data) {
      total += s.bytes.size();
      all_w &= s.writable;
      all_r &= !s.writable;
    }
    bool in_range = total % 512 == 0 && sector <= state_.capacity
                    && total / 512 <= state_.capacity - sector;
    if (bad) {
    } else if (type == t_in || type == t_out) {
      bool ok = in_range && (type == t_in ? all_w : all_r)
                && !(type == t_out && backend_.read_only());
      if (!ok) {
        p.result = block_status::io_error;
      } else {
        p.immediate = false;
        p.request.op = type == t_in ? block_op::read : block_op::write;
        p.request.sector = sector;
        for (auto& s : data)
          if (!s.bytes.empty())
            p.request.buffers.push_back(s.bytes);
        if (type == t_in)
          p.used_len = uint32_t(total + 1);
      }
    } else if (type == t_flush) {
      p.immediate = false;
      p.request.op = block_op::flush;
    } else if (type == t_get_id) {
      size_t copied = 0;
      for (auto& s : data) {
        if (!s.writable)
          continue;
        size_t n = std::min(s.bytes.size(),
                            std::min<size_t>(20, serial_.size()) - copied);
        std::memcpy(s.bytes.data(), serial_.data() + copied, n);
        if (n < s.bytes.size())
          s.bytes[n] = 0; // NUL-terminate a short serial
        note_write(s.bytes.first(std::min(n + 1, s.bytes.size())));
        copied += n;
      }
      p.used_len = uint32_t(copied + 1);
    } else {
      p.result = block_status::unsupported;
    }
  } else {
    bad = true;
  }
  if (bad) {
    ++counters_.bad_requests;
    p.immediate = true;
    p.result = block_status::io_error;
    p.used_len = p.status.empty() ? 0 : 1;
  }
  return true;
}

} // namespace tb::devices
