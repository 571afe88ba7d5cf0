// Delivers the CMOS RTC's periodic, alarm and update-ended interrupts. The
// device (devices/cmos_rtc.hpp) computes when its next enabled event is
// due; a thread sleeps until then and ticks it. The timer stands in front
// of the device on the port bus so a guest write that changes the rates or
// enables is seen at once.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "devices/bus.hpp"
#include "devices/cmos_rtc.hpp"

namespace tb::vmm {

class rtc_timer final : public devices::pio_device {
public:
  /// `device_lock` is the mutex the bus holds around the device's ports;
  /// the thread takes it to tick.
  rtc_timer(devices::cmos_rtc& rtc, std::shared_ptr<std::mutex> device_lock);
  /// Stops and joins the thread.
  ~rtc_timer() override;
  rtc_timer(const rtc_timer&) = delete;
  rtc_timer& operator=(const rtc_timer&) = delete;

  /// Re-reads the device's next event (after a restore, for example).
  void poke();

  // pio_device: forwards to the RTC (the bus holds device_lock).
  void pio_read(uint16_t offset, std::span<uint8_t> data) override;
  void pio_write(uint16_t offset, std::span<const uint8_t> data) override;

private:
  void run();
  uint64_t next_event();

  devices::cmos_rtc& rtc_;
  std::shared_ptr<std::mutex> device_lock_;
  std::mutex
      mtx_; ///< Guards generation_ and stop_; never held with the device lock.
  std::condition_variable cv_;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace tb::vmm
