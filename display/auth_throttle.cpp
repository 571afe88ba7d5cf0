#include "display/auth_throttle.hpp"

#include <algorithm>

namespace tb::display {

void auth_throttle::expire(clock::time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();)
    if (now - it->second.last > policy_.forget_after)
      it = entries_.erase(it);
    else
      ++it;
}

std::chrono::milliseconds auth_throttle::delay(const std::string& address,
                                               clock::time_point now) {
  std::lock_guard lock{mtx_};
  expire(now);
  auto it = entries_.find(address);
  if (it == entries_.end() || it->second.failures == 0)
    return std::chrono::milliseconds{0};
  auto d = policy_.first_delay;
  for (unsigned i = 1; i < it->second.failures && d < policy_.max_delay; ++i)
    d *= 2;
  return std::min(d, policy_.max_delay);
}

void auth_throttle::record_failure(const std::string& address,
                                   clock::time_point now) {
  std::lock_guard lock{mtx_};
  expire(now);
  auto& e = entries_[address];
  if (e.failures < 64)
    ++e.failures;
  e.last = now;
}

void auth_throttle::record_success(const std::string& address) {
  std::lock_guard lock{mtx_};
  entries_.erase(address);
}

unsigned auth_throttle::failures(const std::string& address,
                                 clock::time_point now) {
  std::lock_guard lock{mtx_};
  expire(now);
  auto it = entries_.find(address);
  return it == entries_.end() ? 0 : it->second.failures;
}

std::string peer_host(const std::string& peer) {
  if (!peer.empty() && peer.front() == '[') {
    auto close = peer.find(']');
    return close == std::string::npos ? peer : peer.substr(1, close - 1);
  }
  auto colon = peer.rfind(':');
  if (colon == std::string::npos || peer.find(':') != colon)
    return peer; // no port, or a bare IPv6 address
  return peer.substr(0, colon);
}

} // namespace tb::display
