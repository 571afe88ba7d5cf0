#include "devices/acpi_pm.hpp"

#include <algorithm>

namespace tb::devices {

namespace {

constexpr uint16_t sts_tmr = 0x0001, sts_pwrbtn = 0x0100, sts_wak = 0x8000;
constexpr uint16_t sts_bits = sts_tmr | 0x0020 | sts_pwrbtn | 0x0400 | sts_wak;
constexpr uint16_t en_bits = 0x0001 | 0x0020 | 0x0100 | 0x0400;
constexpr uint16_t cnt_slp_en = 0x2000;
constexpr uint64_t pm_timer_hz = 3'579'545;

uint32_t load(std::span<const uint8_t> d) {
  uint32_t v = 0;
  for (size_t i = 0; i < d.size(); ++i)
    v |= uint32_t(d[i]) << (8 * i);
  return v;
}

} // namespace

acpi_pm::acpi_pm(irq_line& sci, clock_fn now, poweroff_fn poweroff)
    : sci_(sci), now_(std::move(now)), poweroff_(std::move(poweroff)) {}

void acpi_pm::press_power_button() {
  state_.pm1_sts |= sts_pwrbtn;
  update_sci();
}

void acpi_pm::reset() {
  restore(acpi_pm_state{});
}

void acpi_pm::restore(const acpi_pm_state& state) {
  state_.pm1_sts = state.pm1_sts & sts_bits;
  state_.pm1_en = state.pm1_en & en_bits;
  state_.pm1_cnt = state.pm1_cnt & uint16_t(~cnt_slp_en);
  update_sci();
}

uint32_t acpi_pm::pm_timer() const {
  // ns -> ticks without overflow for centuries of uptime.
  uint64_t ns = now_();
  uint64_t s = ns / 1'000'000'000, rem = ns % 1'000'000'000;
  return uint32_t(s * pm_timer_hz + rem * pm_timer_hz / 1'000'000'000);
}

void acpi_pm::pio_read(uint16_t offset, std::span<uint8_t> data) {
  uint64_t value = 0;
  bool ok = true;
  size_t n = data.size();
  if (offset + n <= 2)
    value = state_.pm1_sts >> (8 * offset);
  else if (offset >= 2 && offset + n <= 4)
    value = state_.pm1_en >> (8 * (offset - 2));
  else if (offset >= 4 && offset + n <= 6)
    value = state_.pm1_cnt >> (8 * (offset - 4));
  else if (offset >= 8 && offset + n <= 12)
    value = pm_timer() >> (8 * (offset - 8));
  else
    ok = false;
  if (!ok) {
    std::fill(data.begin(), data.end(), 0xff);
    ++counters_.ignored_reads;
    return;
  }
  for (size_t i = 0; i < n; ++i)
    data[i] = uint8_t(value >> (8 * i));
}

void acpi_pm::pio_write(uint16_t offset, std::span<const uint8_t> data) {
  size_t n = data.size();
  uint32_t v = load(data);
  if (offset + n <= 2) { // write 1 to clear
    state_.pm1_sts &= uint16_t(~(v << (8 * offset)));
  } else if (offset >= 2 && offset + n <= 4) {
    uint16_t shift = uint16_t(8 * (offset - 2));
    uint16_t mask = uint16_t(((1u << (8 * n)) - 1) << shift);
    state_.pm1_en =
        uint16_t(((state_.pm1_en & ~mask) | (v << shift)) & en_bits);
  } else if (offset >= 4 && offset + n <= 6) {
    uint16_t shift = uint16_t(8 * (offset - 4));
    uint16_t mask = uint16_t(((1u << (8 * n)) - 1) << shift);
    uint16_t cnt = uint16_t((state_.pm1_cnt & ~mask) | (v << shift));
    state_.pm1_cnt = cnt & uint16_t(~cnt_slp_en); // SLP_EN reads as 0
    if (cnt & cnt_slp_en) {
      unsigned type = (cnt >> 10) & 7;
      if ((type == 0 || type == 5) && poweroff_)
        poweroff_();
      else
        ++counters_.ignored_writes; // S1-S4: no sleep states
    }
  } else {
    ++counters_.ignored_writes;
    return;
  }
  update_sci();
}

void acpi_pm::update_sci() {
  bool level = (state_.pm1_sts & state_.pm1_en) != 0;
  if (level != sci_level_)
    sci_.set_level(sci_level_ = level);
}

} // namespace tb::devices
