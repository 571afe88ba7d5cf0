#include "vmm/rtc_timer.hpp"

#include <chrono>
#include <ctime>

namespace tb::vmm {

namespace {

uint64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ULL + uint64_t(ts.tv_nsec);
}

} // namespace

rtc_timer::rtc_timer(devices::cmos_rtc& rtc,
                     std::shared_ptr<std::mutex> device_lock)
    : rtc_(rtc), device_lock_(std::move(device_lock)),
      thread_([this] { run(); }) {}

rtc_timer::~rtc_timer() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void rtc_timer::poke() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    ++generation_;
  }
  cv_.notify_all();
}

void rtc_timer::pio_read(uint16_t offset, std::span<uint8_t> data) {
  rtc_.pio_read(offset, data);
}

void rtc_timer::pio_write(uint16_t offset, std::span<const uint8_t> data) {
  rtc_.pio_write(offset, data);
  if (offset == 1) // A data write may change register A or B.
    poke();
}

uint64_t rtc_timer::next_event() {
  std::lock_guard<std::mutex> guard{*device_lock_};
  return rtc_.next_event_ns();
}

void rtc_timer::run() {
  using namespace std::chrono;
  std::unique_lock<std::mutex> lk{mtx_};
  while (!stop_) {
    auto seen = generation_;
    lk.unlock();
    uint64_t due = next_event();
    lk.lock();
    auto changed = [&] { return stop_ || generation_ != seen; };
    if (due == 0) {
      cv_.wait(lk, changed);
      continue;
    }
    auto now = realtime_ns();
    auto wait = due > now ? nanoseconds(due - now) : nanoseconds(0);
    if (cv_.wait_for(lk, wait, changed))
      continue;
    lk.unlock();
    {
      std::lock_guard<std::mutex> guard{*device_lock_};
      rtc_.tick();
    }
    lk.lock();
  }
}

} // namespace tb::vmm
