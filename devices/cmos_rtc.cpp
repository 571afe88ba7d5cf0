#include "devices/cmos_rtc.hpp"

#include <algorithm>

namespace tb::devices {

namespace {

enum : uint8_t {
  reg_a = 0x0a,
  reg_b = 0x0b,
  reg_c = 0x0c,
  reg_d = 0x0d,
  reg_century = 0x32,
  b_set = 0x80,
  b_pie = 0x40,
  b_aie = 0x20,
  b_uie = 0x10,
  b_binary = 0x04,
  b_24h = 0x02,
  c_irqf = 0x80,
  c_pf = 0x40,
  c_af = 0x20,
  c_uf = 0x10,
};
constexpr uint64_t ns_per_s = 1'000'000'000;
constexpr uint64_t uip_window_ns = 244'000; // UIP before each update

// Days since 1970-01-01 <-> civil date (proleptic Gregorian).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = unsigned(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + int64_t(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = unsigned(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = int64_t(yoe) + era * 400 + (m <= 2);
}

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

} // namespace

cmos_rtc::cmos_rtc(irq_line& irq, clock_fn wall_now,
                   const cmos_rtc_config& config)
    : irq_(irq), wall_now_(std::move(wall_now)) {
  auto& r = state_.ram;
  r[reg_a] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
  r[reg_b] = b_24h;
  r[reg_d] = 0x80; // valid RAM and time
  r[0x10] = 0x00;  // no floppy drives
  r[0x14] = 0x06;  // equipment: VGA-class display, coprocessor
  r[0x15] = 0x80;  // 640 KiB base memory
  r[0x16] = 0x02;
  uint64_t ext_kib = config.ram_below_4g > (1u << 20)
                         ? (config.ram_below_4g - (1u << 20)) / 1024
                         : 0;
  uint16_t ext = uint16_t(std::min<uint64_t>(ext_kib, 0xfc00)); // <= 64 MiB
  r[0x17] = r[0x30] = uint8_t(ext);
  r[0x18] = r[0x31] = uint8_t(ext >> 8);
  uint64_t above16 = config.ram_below_4g > (16u << 20)
                         ? (config.ram_below_4g - (16u << 20)) >> 16
                         : 0;
  above16 = std::min<uint64_t>(above16, 0xffff);
  r[0x34] = uint8_t(above16);
  r[0x35] = uint8_t(above16 >> 8);
  uint64_t high = std::min<uint64_t>(config.ram_above_4g >> 16, 0xffffff);
  r[0x5b] = uint8_t(high);
  r[0x5c] = uint8_t(high >> 8);
  r[0x5d] = uint8_t(high >> 16);
  r[0x5f] = uint8_t(std::max(1u, std::min(config.cpus, 256u)) - 1);
  state_.last_flags_ns = wall_now_();
}

void cmos_rtc::reset() {
  state_.index = 0;
  state_.ram[reg_b] &= uint8_t(~(b_pie | b_aie | b_uie | 0x08)); // and SQWE
  state_.ram[reg_c] = 0;
  irq_.set_level(false);
}

void cmos_rtc::restore(const cmos_rtc_state& state) {
  state_ = state;
  state_.index &= 0x7f;
  irq_.set_level(false);
}

uint8_t cmos_rtc::encode(unsigned v) const {
  if (state_.ram[reg_b] & b_binary)
    return uint8_t(v);
  return uint8_t((v / 10) << 4 | (v % 10));
}

unsigned cmos_rtc::decode(uint8_t v) const {
  if (state_.ram[reg_b] & b_binary)
    return v;
  return unsigned(v >> 4) * 10 + (v & 0x0f);
}

void cmos_rtc::load_time_registers(int64_t unix_s) {
  auto& r = state_.ram;
  int64_t days = floor_div(unix_s, 86400);
  int64_t secs = unix_s - days * 86400;
  int64_t year = 0;
  unsigned month = 0, day = 0;
  civil_from_days(days, year, month, day);
  unsigned hour = unsigned(secs / 3600);
  r[0x00] = encode(unsigned(secs % 60));
  r[0x02] = encode(unsigned(secs / 60 % 60));
  if (r[reg_b] & b_24h) {
    r[0x04] = encode(hour);
  } else { // 12-hour: 12, 1..11 with bit 7 = PM
    unsigned h12 = hour % 12 == 0 ? 12 : hour % 12;
    r[0x04] = uint8_t(encode(h12) | (hour >= 12 ? 0x80 : 0));
  }
  int64_t weekday = (days + 4) - floor_div(days + 4, 7) * 7; // 1970-01-01: Thu
  r[0x06] = encode(unsigned(weekday) + 1);                   // 1 = Sunday
  r[0x07] = encode(day);
  r[0x08] = encode(month);
  r[0x09] = encode(unsigned(((year % 100) + 100) % 100));
  r[reg_century] = encode(unsigned(std::clamp<int64_t>(year / 100, 0, 99)));
}

int64_t cmos_rtc::time_from_registers() const {
  const auto& r = state_.ram;
  unsigned hour;
  if (r[reg_b] & b_24h) {
    hour = decode(r[0x04]) % 24;
  } else {
    hour = decode(r[0x04] & 0x7f) % 12 + ((r[0x04] & 0x80) ? 12 : 0);
  }
  unsigned month = std::clamp(decode(r[0x08]), 1u, 12u);
  unsigned day = std::clamp(decode(r[0x07]), 1u, 31u);
  int64_t year = int64_t(decode(r[reg_century])) * 100 + decode(r[0x09]) % 100;
  return days_from_civil(year, month, day) * 86400 + hour * 3600
         + (decode(r[0x02]) % 60) * 60 + decode(r[0x00]) % 60;
}

uint64_t cmos_rtc::period_ns() const {
  unsigned rate = state_.ram[reg_a] & 0x0f;
  if (rate == 0)
    return 0;
  if (rate < 3)
    rate += 7; // rates 1 and 2 alias 8 and 9
  return ns_per_s * (1u << (rate - 1)) / 32768;
}

void cmos_rtc::update_flags(uint64_t now_ns) {
  uint64_t last = state_.last_flags_ns;
  if (now_ns <= last)
    return;
  auto& c = state_.ram[reg_c];
  if (uint64_t p = period_ns(); p && now_ns / p != last / p)
    c |= c_pf;
  if (now_ns / ns_per_s != last / ns_per_s && !(state_.ram[reg_b] & b_set)) {
    c |= c_uf;
    load_time_registers(int64_t(now_ns / ns_per_s) + state_.offset_s);
    const auto& r = state_.ram;
    // Alarm bytes with bits 7-6 set match any value.
    auto match = [](uint8_t alarm, uint8_t now) {
      return (alarm & 0xc0) == 0xc0 || alarm == now;
    };
    if (match(r[0x01], r[0x00]) && match(r[0x03], r[0x02])
        && match(r[0x05], r[0x04]))
      c |= c_af;
  }
  state_.last_flags_ns = now_ns;
  uint8_t enabled = state_.ram[reg_b] & (b_pie | b_aie | b_uie);
  if (c & enabled & (c_pf | c_af | c_uf))
    c |= c_irqf;
}

void cmos_rtc::tick() {
  bool was = state_.ram[reg_c] & c_irqf;
  if (!(state_.ram[reg_b] & b_set))
    load_time_registers(int64_t(wall_now_() / ns_per_s) + state_.offset_s);
  update_flags(wall_now_());
  if (!was && (state_.ram[reg_c] & c_irqf))
    irq_.set_level(true);
}

uint64_t cmos_rtc::next_event_ns() const {
  uint8_t b = state_.ram[reg_b];
  uint64_t now = wall_now_(), next = 0;
  if ((b & b_pie) && period_ns())
    next = (now / period_ns() + 1) * period_ns();
  if (b & (b_uie | b_aie)) {
    uint64_t second = (now / ns_per_s + 1) * ns_per_s;
    next = next ? std::min(next, second) : second;
  }
  return next;
}

void cmos_rtc::pio_read(uint16_t offset, std::span<uint8_t> data) {
  if (data.size() != 1 || offset > 1) {
    std::fill(data.begin(), data.end(), 0xff);
    ++counters_.ignored_reads;
    return;
  }
  data[0] = offset == 0 ? 0xff : read_register(state_.index);
}

void cmos_rtc::pio_write(uint16_t offset, std::span<const uint8_t> data) {
  if (data.size() != 1 || offset > 1) {
    ++counters_.ignored_writes;
    return;
  }
  if (offset == 0)
    state_.index = data[0] & 0x7f; // bit 7 is the NMI mask, not an index
  else
    write_register(state_.index, data[0]);
}

uint8_t cmos_rtc::read_register(uint8_t reg) {
  auto& r = state_.ram;
  uint64_t now = wall_now_();
  if (reg <= 0x09 || reg == reg_century) {
    if (!(r[reg_b] & b_set))
      load_time_registers(int64_t(now / ns_per_s) + state_.offset_s);
    return r[reg];
  }
  if (reg == reg_a) {
    bool running = (r[reg_a] & 0x70) == 0x20;
    bool uip = running && !(r[reg_b] & b_set)
               && now % ns_per_s >= ns_per_s - uip_window_ns;
    return uint8_t((r[reg_a] & 0x7f) | (uip ? 0x80 : 0));
  }
  if (reg == reg_c) { // reading C acknowledges every flag
    update_flags(now);
    uint8_t v = r[reg_c];
    r[reg_c] = 0;
    if (v & c_irqf)
      irq_.set_level(false);
    return v;
  }
  return r[reg];
}

void cmos_rtc::write_register(uint8_t reg, uint8_t value) {
  auto& r = state_.ram;
  if (reg == reg_c || reg == reg_d) { // read-only status
    ++counters_.ignored_writes;
    return;
  }
  if (reg == reg_a) {
    r[reg_a] = value & 0x7f; // UIP is read-only
    return;
  }
  if (reg == reg_b) {
    bool was_set = r[reg_b] & b_set;
    if (!was_set && (value & b_set)) // freeze the current time
      load_time_registers(int64_t(wall_now_() / ns_per_s) + state_.offset_s);
    if (value & b_set)
      value &= uint8_t(~b_uie); // SET clears UIE
    r[reg_b] = value;
    if (was_set && !(value & b_set)) // the guest's time starts now
      state_.offset_s = time_from_registers() - int64_t(wall_now_() / ns_per_s);
    return;
  }
  bool clock_reg = (reg <= 0x09 || reg == reg_century) && reg != 0x01
                   && reg != 0x03 && reg != 0x05;
  if (!clock_reg || (r[reg_b] & b_set)) {
    r[reg] = value;
    return;
  }
  // A running clock: change one field of the current time.
  int64_t host_s = int64_t(wall_now_() / ns_per_s);
  load_time_registers(host_s + state_.offset_s);
  r[reg] = value;
  state_.offset_s = time_from_registers() - host_s;
}

} // namespace tb::devices
