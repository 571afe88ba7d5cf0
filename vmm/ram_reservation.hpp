// Faulting a teleport target's RAM in before the memory arrives. On a host
// that hands free memory back to its own hypervisor, a fresh page costs
// ~3.6 us to fault in (265 MiB: ~240 ms, measured on this project's test
// host), and a teleport's copy would pay that for every page while the
// source waits. A waiting target has nothing better to do, so it reserves
// the guest's whole RAM in the background at the lowest priority.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <thread>
#include <vector>

namespace tb::vmm {

class ram_reservation {
public:
  /// Starts faulting `ranges` in (MADV_POPULATE_WRITE, 4 MiB at a time) on
  /// a thread of its own at nice 19. Contents are not changed. Where the
  /// kernel lacks MADV_POPULATE_WRITE (before 5.14) nothing happens.
  explicit ram_reservation(std::vector<std::span<uint8_t>> ranges);
  /// Stops at the next chunk and joins the thread.
  ~ram_reservation();

  ram_reservation(const ram_reservation&) = delete;
  ram_reservation& operator=(const ram_reservation&) = delete;

  /// Whether every range has been faulted in (or the kernel refused).
  bool done() const { return done_.load(); }

private:
  void run();

  std::vector<std::span<uint8_t>> ranges_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

} // namespace tb::vmm
