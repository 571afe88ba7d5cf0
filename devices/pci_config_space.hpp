// The 256-byte configuration space every PCI function embeds: identity,
// command register, BARs with the sizing protocol, capability list.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "devices/bus.hpp"

namespace tb::devices {

/// What a BAR decodes; size 0 = not implemented. Sizes are powers of two.
struct pci_bar_def {
  uint64_t size = 0;
  bool io = false;
  bool prefetchable = false;
  bool is_64bit = false; ///< Takes this and the next BAR register.
};

/// Read-only identity registers of a function (header type 0).
struct pci_identity {
  uint16_t vendor = 0;
  uint16_t device = 0;
  uint8_t revision = 0;
  uint32_t class_code = 0; ///< class << 16 | subclass << 8 | prog-if
  uint16_t subsystem_vendor = 0;
  uint16_t subsystem = 0;
  uint8_t interrupt_pin = 0; ///< 0 none, 1 INTA#
};

/// Config space with hardware write masks: the guest can change the command
/// register, BAR addresses (low bits hold the type, so writing all-ones reads
/// back the size mask), cache line size, latency timer and interrupt line;
/// everything else is read-only. BAR moves reach the listener.
class pci_config_space {
public:
  pci_config_space(const pci_identity& id, std::array<pci_bar_def, 6> bars,
                   pci_bar_listener listener = {});

  void read(uint16_t offset, std::span<uint8_t> data) const;
  void write(uint16_t offset, std::span<const uint8_t> data);

  /// BAR `index` as programmed (size 0 if not implemented).
  pci_bar bar(unsigned index) const;
  /// Machine-side BAR placement (no firmware assigns them); notifies.
  void set_bar_address(unsigned index, uint64_t address);
  /// Appends a capability (`body` excludes the ID and next bytes); returns
  /// its offset, or 0 if it does not fit. `writable` (same length as `body`,
  /// or empty for read-only) is the guest write mask of the body bytes.
  uint8_t add_capability(uint8_t id, std::span<const uint8_t> body,
                         std::span<const uint8_t> writable = {});

  bool memory_enabled() const { return command() & 0x2; }
  bool bus_master() const { return command() & 0x4; }
  bool intx_disabled() const { return command() & 0x400; }
  /// Status bit 3 mirrors a pending INTx.
  void set_interrupt_status(bool pending);

  const std::array<uint8_t, 256>& bytes() const { return bytes_; }
  /// Loads saved bytes (identity and capabilities are the device's own and
  /// stay); notifies the listener of every implemented BAR.
  void restore(const std::array<uint8_t, 256>& saved);
  /// Power-on values: command 0, BARs unassigned, writable bytes 0;
  /// notifies the listener of every implemented BAR.
  void reset();

private:
  uint16_t command() const { return uint16_t(bytes_[4] | bytes_[5] << 8); }
  void put(uint16_t offset, uint64_t value, unsigned size);
  void notify_changes(const std::array<pci_bar, 6>& before);
  std::array<pci_bar, 6> all_bars() const;

  std::array<uint8_t, 256> bytes_{};
  std::array<uint8_t, 256> write_mask_{};
  std::array<pci_bar_def, 6> defs_;
  pci_bar_listener listener_;
  uint8_t next_cap_ = 0x40;
  uint8_t last_cap_ = 0;
};

} // namespace tb::devices
