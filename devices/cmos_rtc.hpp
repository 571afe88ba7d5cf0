// MC146818 CMOS RTC and NVRAM at ports 0x70 (index, offset 0) and 0x71
// (data, offset 1); IRQ 8.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include <caf/meta/type_name.hpp>

#include "devices/bus.hpp"

namespace tb::devices {

/// Saved state. The clock itself is not saved: guest time = host wall time
/// + `offset_s`, so a VM restored elsewhere keeps the time the guest set.
struct cmos_rtc_state {
  uint8_t index = 0;
  std::array<uint8_t, 128> ram{};
  int64_t offset_s = 0;
  uint64_t last_flags_ns = 0; ///< when register C flags were last evaluated
  bool operator==(const cmos_rtc_state&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cmos_rtc_state& x) {
  return f(caf::meta::type_name("cmos_rtc_state"), x.index, x.ram, x.offset_s,
           x.last_flags_ns);
}

/// Memory sizes firmware reads from CMOS (SeaBIOS/QEMU layout).
struct cmos_rtc_config {
  uint64_t ram_below_4g = 0; ///< bytes of RAM below the PCI hole
  uint64_t ram_above_4g = 0;
  unsigned cpus = 1;
};

/// Time registers 0x00-0x09 and century 0x32 in BCD or binary, 12 or 24
/// hour (register B); UIP in register A for the last 244 us of each second;
/// SET freezes the registers and clearing it takes the written time.
/// Register C reports periodic/alarm/update flags that became due since the
/// last read; tick() evaluates them and raises IRQ 8 if enabled (call it
/// from a timer when the guest enables interrupts; next_event_ns() says
/// when). `wall_now` returns host wall-clock nanoseconds since 1970.
class cmos_rtc final : public pio_device {
public:
  cmos_rtc(irq_line& irq, clock_fn wall_now, const cmos_rtc_config& config);

  /// Sets register C flags that fell due and raises IRQ 8 for enabled ones.
  void tick();
  /// Host wall time (ns) of the next enabled periodic/update/alarm event, or
  /// 0 when none is enabled.
  uint64_t next_event_ns() const;

  cmos_rtc_state save() const { return state_; }
  void restore(const cmos_rtc_state& state);
  /// System reset: the RESET pin clears the interrupt enables and flags;
  /// time and NVRAM are battery-backed and stay.
  void reset();
  const device_counters& counters() const { return counters_; }

  // pio_device
  void pio_read(uint16_t offset, std::span<uint8_t> data) override;
  void pio_write(uint16_t offset, std::span<const uint8_t> data) override;

private:
  uint8_t read_register(uint8_t reg);
  void write_register(uint8_t reg, uint8_t value);
  void load_time_registers(int64_t unix_s);
  int64_t time_from_registers() const;
  uint8_t encode(unsigned value) const;
  unsigned decode(uint8_t value) const;
  uint64_t period_ns() const;
  void update_flags(uint64_t now_ns);

  irq_line& irq_;
  clock_fn wall_now_;
  cmos_rtc_state state_;
  device_counters counters_;
};

} // namespace tb::devices
