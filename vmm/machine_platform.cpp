// Platform phase of machine assembly: guest RAM, then the legacy devices on
// the port bus (COM1, i8042, CMOS/RTC, ACPI PM), wired to the in-kernel
// PIC/IOAPIC through KVM_IRQ_LINE.
#include <ctime>

#include "caf/deep_to_string.hpp"
#include "vmm/errors.hpp"
#include "vmm/machine.hpp"
#include "vmm/machine_devices.hpp"

namespace tb::vmm {

namespace {

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ULL + uint64_t(ts.tv_nsec);
}

uint64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ULL + uint64_t(ts.tv_nsec);
}

} // namespace

machine_devices::machine_devices(engine_vm& vm)
    : com1_irq(vm, layout::com1_gsi), kbd_irq(vm, layout::kbd_gsi),
      aux_irq(vm, layout::aux_gsi), rtc_irq(vm, layout::rtc_gsi),
      sci_irq(vm, layout::sci_gsi), kbd_lock(std::make_shared<std::mutex>()),
      pm_lock(std::make_shared<std::mutex>()) {}

caf::error machine_devices::press_power_button() {
  std::lock_guard<std::mutex> guard{*pm_lock};
  pm->press_power_button();
  return caf::none;
}

caf::error machine_devices::put_scancodes(std::span<const uint8_t> codes) {
  std::lock_guard<std::mutex> guard{*kbd_lock};
  kbd->key_event(codes);
  return caf::none;
}

std::vector<std::pair<std::string, std::string>>
machine_devices::summary() const {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("uart0", caf::deep_to_string(uart->save()));
  out.emplace_back("i8042", caf::deep_to_string(kbd->save()));
  out.emplace_back("acpi_pm", caf::deep_to_string(pm->save()));
  return out;
}

caf::error machine::build_memory() {
  auto mem = guest_memory::create(spec_.ram_bytes, spec_.large_pages);
  if (!mem)
    return mem.error();
  memory_ = std::move(*mem);
  return memory_->map_into(*vm_);
}

caf::error machine::build_platform() {
  devices_ = std::make_unique<machine_devices>(*vm_);
  auto& d = *devices_;
  auto serial = hooks_.serial_out;
  d.uart =
      std::make_unique<devices::uart_16550>(d.com1_irq, [serial](uint8_t byte) {
        if (serial)
          serial(std::span<const uint8_t>{&byte, 1});
      });
  auto events = hooks_.on_event;
  auto request = [events](const char* kind, const char* detail) {
    return [events, kind, detail] {
      if (events)
        events(UINT32_MAX, kind, detail);
    };
  };
  d.kbd = std::make_unique<devices::i8042>(
      d.kbd_irq, d.aux_irq,
      request("reset", "keyboard controller reset (0xFE)"));
  d.cmos = std::make_unique<devices::cmos_rtc>(
      d.rtc_irq, realtime_ns,
      devices::cmos_rtc_config{memory_->ram_below_4g(), memory_->ram_above_4g(),
                               spec_.cpus});
  d.rtc = std::make_unique<rtc_timer>(*d.cmos, d.cmos_lock);
  d.pm = std::make_unique<devices::acpi_pm>(
      d.sci_irq, monotonic_ns, request("poweroff", "guest entered ACPI S5"));
  caf::error err;
  // The i8042 range spans 0x60-0x64; 0x61 never exits (KVM's PIT speaker
  // port), 0x62/0x63 are counted as ignored by the device.
  if ((err = bus_.add_pio(layout::com1_port, 8, *d.uart, "uart0"))
      || (err =
              bus_.add_pio(layout::i8042_port, 5, *d.kbd, "i8042", d.kbd_lock))
      || (err = bus_.add_pio(layout::cmos_port, 2, *d.rtc, "cmos", d.cmos_lock))
      || (err = bus_.add_pio(layout::pm_port, 12, *d.pm, "acpi_pm", d.pm_lock)))
    return err;
  return caf::none;
}

} // namespace tb::vmm
