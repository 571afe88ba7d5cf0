// The devices of one machine (internal to machine assembly): owned device
// objects, the IRQ lines they drive, and the few device entry points the
// machine actor needs (power button, keyboard, frame buffer).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <caf/error.hpp>

#include "devices/bus.hpp"
#include "vmm/boot.hpp"
#include "vmm/engine.hpp"

namespace tb::vmm {

/// An IOAPIC/PIC input driven through the engine (KVM_IRQ_LINE).
class engine_irq_line final : public devices::irq_line {
public:
  engine_irq_line(engine_vm& vm, uint32_t gsi) : vm_(vm), gsi_(gsi) {}
  void set_level(bool high) override { (void)vm_.set_irq_line(gsi_, high); }

private:
  engine_vm& vm_;
  uint32_t gsi_;
};

class machine_devices {
public:
  virtual ~machine_devices() = default;
  virtual std::optional<framebuffer_info> framebuffer() const = 0;
  virtual caf::error press_power_button() = 0;
  virtual caf::error put_scancodes(std::span<const uint8_t> codes) = 0;
  virtual std::vector<std::pair<std::string, std::string>> summary() const = 0;
};

} // namespace tb::vmm
