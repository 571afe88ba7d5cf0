#include "vmm/ram_reservation.hpp"

#include <algorithm>
#include <cerrno>

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 // Linux 5.14 uapi.
#endif

namespace tb::vmm {

namespace {

constexpr size_t chunk = 4 << 20; // ~10 ms of faulting: stop stays prompt.

} // namespace

ram_reservation::ram_reservation(std::vector<std::span<uint8_t>> ranges)
    : ranges_(std::move(ranges)) {
  thread_ = std::thread([this] { run(); });
}

ram_reservation::~ram_reservation() {
  stop_ = true;
  thread_.join();
}

void ram_reservation::run() {
  auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  (void)::setpriority(PRIO_PROCESS, tid, 19); // Best effort.
  for (auto r : ranges_)
    for (size_t at = 0; at < r.size() && !stop_.load(); at += chunk) {
      size_t n = std::min(chunk, r.size() - at);
      if (::madvise(r.data() + at, n, MADV_POPULATE_WRITE) != 0
          && errno == EINVAL) {
        done_ = true; // Not this kernel: faults happen on first use.
        return;
      }
    }
  done_ = true;
}

} // namespace tb::vmm
