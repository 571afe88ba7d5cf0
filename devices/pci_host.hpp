// PCI host bridge: configuration mechanism #1 at ports 0xcf8-0xcff, bus 0,
// with the i440FX host bridge itself (8086:1237) as function 00.0.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>

#include <caf/meta/type_name.hpp>

#include "devices/bus.hpp"
#include "devices/pci_config_space.hpp"

namespace tb::devices {

/// Saved state of the host bridge: the latched CONFIG_ADDRESS and the
/// bridge function's own config space. Attached functions save themselves.
struct pci_host_state {
  uint32_t config_address = 0;
  std::array<uint8_t, 256> bridge_config{};
  bool operator==(const pci_host_state&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pci_host_state& x) {
  return f(caf::meta::type_name("pci_host_state"), x.config_address,
           x.bridge_config);
}

/// Mechanism #1: offset 0 is CONFIG_ADDRESS (32-bit accesses only), offsets
/// 4-7 are CONFIG_DATA (1, 2 or 4 bytes); offset 1 as a byte is the reset
/// control register 0xcf9 (PIIX/ICH). Register at port 0xcf8, length 8.
/// Config reads of an empty slot return all-ones, writes are dropped.
class pci_host final : public pio_device {
public:
  /// `reset_request` (optional) runs when the guest writes the reset
  /// control register 0xcf9 (offset 1) with RST_CPU (bit 2) set.
  pci_host(std::function<void()> reset_request = {});

  /// Places `function` at bus 0, `slot` (1-31), `fn` (0-7); slot 0 function
  /// 0 is the bridge. Returns false if taken or out of range.
  bool attach(uint8_t slot, uint8_t fn, pci_function& function);

  pci_host_state save() const;
  void restore(const pci_host_state& state);
  /// Resets CONFIG_ADDRESS and the bridge (attached functions reset
  /// themselves).
  void reset();
  const device_counters& counters() const { return counters_; }

  // pio_device
  void pio_read(uint16_t offset, std::span<uint8_t> data) override;
  void pio_write(uint16_t offset, std::span<const uint8_t> data) override;

private:
  pci_function* selected(uint16_t& reg) const;
  /// CONFIG_ADDRESS selects bus 0, device 0, function 0 (the bridge).
  bool selects_bridge() const;
  /// The config register a CONFIG_DATA access at `offset` (4-7) reaches.
  uint16_t data_register(uint16_t offset) const;

  uint32_t config_address_ = 0;
  std::function<void()> reset_request_;
  pci_config_space bridge_;
  std::array<pci_function*, 256> functions_{}; // slot << 3 | fn
  device_counters counters_;
};

} // namespace tb::devices
