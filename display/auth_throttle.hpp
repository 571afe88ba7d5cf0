// Slows down password guessing: each failed logon from an address doubles
// the wait before that address's next attempt is judged, up to a cap; a
// success or a quiet period forgets the address.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace tb::display {

class auth_throttle {
public:
  using clock = std::chrono::steady_clock;
  struct policy {
    std::chrono::milliseconds first_delay{500};
    std::chrono::milliseconds max_delay{16000};
    /// Failures older than this are forgotten.
    std::chrono::milliseconds forget_after{std::chrono::minutes{5}};
  };

  auth_throttle() = default;
  explicit auth_throttle(policy p) : policy_(p) {}

  /// How long to wait before judging an attempt from `address` now.
  std::chrono::milliseconds delay(const std::string& address,
                                  clock::time_point now = clock::now());
  void record_failure(const std::string& address,
                      clock::time_point now = clock::now());
  void record_success(const std::string& address);
  /// Failures remembered for `address`.
  unsigned failures(const std::string& address,
                    clock::time_point now = clock::now());

private:
  struct entry {
    unsigned failures = 0;
    clock::time_point last;
  };
  void expire(clock::time_point now);
  policy policy_;
  std::mutex mtx_;
  std::map<std::string, entry> entries_;
};

/// The host part of "address:port" / "[v6]:port" (throttling is per host).
std::string peer_host(const std::string& peer);

} // namespace tb::display
