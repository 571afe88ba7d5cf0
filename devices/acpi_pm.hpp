// ACPI fixed-hardware power management block in the PIIX4 layout SeaBIOS
// gives QEMU's -M pc (base port 0x600, length 12): PM1a event, PM1a control
// and the PM timer. Power off and the power button, without ACPI tables.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include <caf/meta/type_name.hpp>

#include "devices/bus.hpp"

namespace tb::devices {

/// Saved state of the PM block.
struct acpi_pm_state {
  uint16_t pm1_sts = 0;
  uint16_t pm1_en = 0;
  uint16_t pm1_cnt = 0;
  bool operator==(const acpi_pm_state&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, acpi_pm_state& x) {
  return f(caf::meta::type_name("acpi_pm_state"), x.pm1_sts, x.pm1_en,
           x.pm1_cnt);
}

/// Offsets: 0 PM1_STS (16-bit, write 1 to clear; bit 8 PWRBTN_STS), 2
/// PM1_EN (bit 8 PWRBTN_EN), 4 PM1_CNT (bit 0 SCI_EN, bits 10-12 SLP_TYP,
/// bit 13 SLP_EN), 8 PM_TMR (32-bit, 3.579545 MHz, read-only). Writing
/// PM1_CNT with SLP_EN and SLP_TYP 0 (PIIX4's S5, what the probe guest
/// writes: 0x2000) or 5 (the common S5 encoding) calls `poweroff`; other
/// sleep types are ignored and counted. SCI (IRQ 9, level) is high while
/// PM1_STS & PM1_EN has a bit set.
class acpi_pm final : public pio_device {
public:
  using poweroff_fn = std::function<void()>;

  acpi_pm(irq_line& sci, clock_fn now, poweroff_fn poweroff);

  /// The "ACPI power button": sets PWRBTN_STS (SCI if enabled). A guest
  /// that polls PM1_STS or takes the SCI then powers off.
  void press_power_button();

  acpi_pm_state save() const { return state_; }
  void restore(const acpi_pm_state& state);
  /// System reset (i8042 pulse, triple fault): power-on register values.
  void reset();
  const device_counters& counters() const { return counters_; }

  // pio_device
  void pio_read(uint16_t offset, std::span<uint8_t> data) override;
  void pio_write(uint16_t offset, std::span<const uint8_t> data) override;

private:
  uint32_t pm_timer() const;
  void update_sci();

  irq_line& sci_;
  clock_fn now_;
  poweroff_fn poweroff_;
  acpi_pm_state state_;
  device_counters counters_;
  bool sci_level_ = false;
};

} // namespace tb::devices
