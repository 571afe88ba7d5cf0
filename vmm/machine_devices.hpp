// The devices of one machine (internal to machine assembly): owned device
// objects, the IRQ lines they drive, and the device entry points the machine
// actor needs (power button, keyboard, frame buffer).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <caf/error.hpp>

#include "devices/acpi_pm.hpp"
#include "devices/bochs_display.hpp"
#include "devices/bus.hpp"
#include "devices/cmos_rtc.hpp"
#include "devices/i8042.hpp"
#include "devices/pci_host.hpp"
#include "devices/uart_16550.hpp"
#include "devices/virtio_blk.hpp"
#include "vmm/boot.hpp"
#include "vmm/disk_backend.hpp"
#include "vmm/engine.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/ioevent_loop.hpp"
#include "vmm/rtc_timer.hpp"

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

/// Guest RAM as devices see it for DMA (bounds-checked).
class dma_view final : public devices::guest_memory {
public:
  explicit dma_view(const vmm::guest_memory& mem) : mem_(mem) {}
  std::span<uint8_t> span(uint64_t gpa, size_t len) override {
    auto* p = len ? mem_.host_ptr(gpa, len) : nullptr;
    return p ? std::span<uint8_t>{p, len} : std::span<uint8_t>{};
  }

private:
  const vmm::guest_memory& mem_;
};

/// Fixed platform resources (devices/README.md "Wiring").
namespace layout {
constexpr uint16_t com1_port = 0x3f8;
constexpr uint32_t com1_gsi = 4;
constexpr uint16_t i8042_port = 0x60;
constexpr uint32_t kbd_gsi = 1, aux_gsi = 12;
constexpr uint16_t cmos_port = 0x70;
constexpr uint32_t rtc_gsi = 8;
constexpr uint16_t pm_port = 0x600;
constexpr uint32_t sci_gsi = 9;
constexpr uint16_t pci_port = 0xcf8;
constexpr uint16_t dispi_port = 0x1ce;
constexpr uint8_t display_slot = 1;
constexpr uint64_t vram_base = 0xe0000000;
constexpr uint64_t display_mmio_base = 0xe1000000;
constexpr uint64_t display_mmio_size = 0x1000;
} // namespace layout

/// Every device of the machine; members are declared in dependency order
/// (IRQ lines before the devices holding references to them).
struct machine_devices {
  explicit machine_devices(engine_vm& vm);

  std::optional<framebuffer_info> framebuffer() const { return fb; }
  caf::error press_power_button();
  caf::error put_scancodes(std::span<const uint8_t> codes);
  std::vector<std::pair<std::string, std::string>> summary() const;

  engine_irq_line com1_irq, kbd_irq, aux_irq, rtc_irq, sci_irq;
  std::unique_ptr<devices::uart_16550> uart;
  std::unique_ptr<devices::i8042> kbd;
  std::unique_ptr<devices::cmos_rtc> cmos;
  std::unique_ptr<rtc_timer> rtc; ///< In front of cmos on the bus.
  std::unique_ptr<devices::acpi_pm> pm;
  std::unique_ptr<devices::pci_host> pci;
  std::unique_ptr<devices::bochs_display> display;
  memory_region* vram = nullptr;
  uint64_t display_mmio_at = layout::display_mmio_base;
  std::optional<framebuffer_info> fb;
  /// One virtio-blk per disk; the backend outlives its device's requests.
  struct disk {
    std::unique_ptr<engine_irq_line> irq;
    std::unique_ptr<medium_block_backend> backend;
    std::unique_ptr<devices::virtio_blk> device;
    uint64_t bar = 0;
    uint8_t slot = 0, gsi = 0; ///< PCI device number, INTA#'s IOAPIC pin.
    std::shared_ptr<std::mutex> lock;
    /// The fast path (machine_storage.cpp), when the engine has eventfds:
    /// INTx through an irqfd (then `irq` stays unused) and the queue
    /// notify through an ioeventfd at `notify_at` (BAR0 + notify_offset,
    /// `notify_len` bytes, 0 = any width).
    std::unique_ptr<irqfd_line> fast_irq;
    event_fd notify;
    uint64_t notify_at = 0;
    uint32_t notify_len = 0;
  };
  std::unique_ptr<dma_view> dma;
  std::vector<disk> disks;
  /// Serves the disks' ioeventfds and irqfd resamples (one thread).
  std::unique_ptr<ioevent_loop> disk_events;
  /// Runs first when the devices go away: stops `disk_events`, then waits
  /// until no disk request still writes into guest memory or calls into
  /// its device (machine_storage.cpp).
  struct disks_drain {
    machine_devices& d;
    ~disks_drain();
  };
  /// Device mutexes shared with the bus, for input from other threads.
  std::shared_ptr<std::mutex> kbd_lock, pm_lock, display_lock;
  std::shared_ptr<std::mutex> cmos_lock = std::make_shared<std::mutex>();
  disks_drain drain{*this}; ///< After the disks: destroyed before them.
};

} // namespace tb::vmm
