// A machine assembled from its spec: engine VM, guest memory, devices on the
// I/O bus, vCPU cores, and the loaded kernel. Assembly is split by phase
// (machine_memory.cpp, machine_platform.cpp, machine_pci.cpp, this file for
// vCPUs and boot); the machine actor (machine_actor.hpp) runs it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "vmm/boot.hpp"
#include "vmm/cpuid.hpp"
#include "vmm/engine.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/io_bus.hpp"
#include "vmm/ram_reservation.hpp"
#include "vmm/vcpu_executor.hpp"

namespace tb::devices {
struct display_mode;
} // namespace tb::devices

namespace tb::vmm {

class machine;
struct mp_table_spec;

/// The boot display (Bochs display adapter, PCI 1234:1111).
struct display_spec {
  bool enabled = true;
  uint32_t vram_mb = 16;
  uint32_t width = 1024, height = 768; ///< Mode handed to the kernel.
};

/// A disk on virtio-blk (one PCI function each, slots 2 and up).
struct disk_spec {
  std::string path;
  bool read_only = false;
  bool host_cache = true; ///< Else O_DIRECT (VirtualBox's host I/O cache).
};

/// What to build, independent of the settings file format.
struct machine_spec {
  std::string uuid; ///< Without braces.
  std::string name;
  uint64_t ram_bytes = 128ULL << 20;
  uint32_t cpus = 1;
  bool large_pages = false;
  cpuid_options cpuid;
  boot_source boot;
  bool reset_on_triple_fault = true; ///< Else a triple fault powers off.
  bool acpi = true;                  ///< Power button and S5 via PM1.
  display_spec display;
  std::vector<disk_spec> disks;
  /// virtio-blk notifies through an ioeventfd and completions through an
  /// irqfd when the engine offers them; false keeps the MMIO notify exit
  /// and KVM_IRQ_LINE (for comparison; the environment variable
  /// TELEBOX_DISK_EVENTFDS=0 does the same).
  bool disk_eventfds = true;
};

/// Where a machine's output and requests go. All callbacks may run on vCPU
/// threads; they must not block for long.
struct machine_hooks {
  /// Bytes the guest sends on COM1.
  std::function<void(std::span<const uint8_t>)> serial_out;
  /// vCPU and device events (see vcpu_event_fn); index UINT32_MAX = device.
  vcpu_event_fn on_event;
  /// One line for the VM log.
  std::function<void(const std::string&)> log;
  /// Where disk (storage) actors live; needed when the spec has disks.
  caf::actor_system* sys = nullptr;
  /// The display's mode as the guest (or the boot setup) sets it, with the
  /// machine it belongs to; called with nullptr from the machine's
  /// destructor before its memory goes away (a reset rebuilds the machine),
  /// so a remote display can re-attach to the new one.
  std::function<void(machine*, const devices::display_mode&)> display_mode;
};

struct machine_devices;

/// One named piece of saved machine state ("uart0", "platform", ...).
using named_state = std::pair<std::string, std::vector<uint8_t>>;

/// Guest memory a teleport moves: `key` names the range on both hosts (the
/// guest-physical address for RAM; a fixed key for VRAM, whose BAR the guest
/// may move), `host` is where it is mapped here.
struct state_region {
  std::string name;
  uint64_t key = 0;
  std::span<uint8_t> host;
};

/// Versioned blobs of one vCPU's state (machine_state.cpp).
std::vector<uint8_t> encode_vcpu_state(const vcpu_state& st);
caf::expected<vcpu_state> decode_vcpu_state(std::span<const uint8_t> bytes);

/// The assembled machine. Not thread-safe; the machine actor owns it.
class machine {
public:
  /// Builds everything and loads the kernel; vCPUs are created but not
  /// running (spawn executors over vcpus()).
  static caf::expected<std::unique_ptr<machine>>
  build(engine& eng, const machine_spec& spec, machine_hooks hooks);

  ~machine();
  machine(const machine&) = delete;
  machine& operator=(const machine&) = delete;

  const machine_spec& spec() const { return spec_; }
  engine_vm& vm() { return *vm_; }
  guest_memory& memory() { return *memory_; }
  io_bus& bus() { return bus_; }
  const boot_plan& plan() const { return plan_; }
  std::vector<std::shared_ptr<vcpu_core>>& vcpus() { return vcpus_; }

  /// Sets the PM1 power-button status bit and raises the SCI.
  caf::error press_power_button();
  /// Queues set-1 scancodes on the PS/2 keyboard.
  caf::error put_scancodes(std::span<const uint8_t> codes);
  /// Moves the PS/2 mouse (i8042::mouse_event convention, dy > 0 up).
  void put_mouse(int dx, int dy, uint8_t buttons);
  /// The display's video memory; empty without a display. Valid while the
  /// machine lives.
  std::span<const uint8_t> display_vram() const;
  /// One bit per 4 KiB page of video memory written since the last call
  /// (KVM's dirty log); empty when unknown.
  std::vector<uint64_t> display_dirty_log();
  /// Every device's saved state by name (for capture/teleport).
  std::vector<std::pair<std::string, std::string>> device_summary() const;
  /// Drains every disk for saved state or teleport: with the vCPUs
  /// paused, serves a notify still pending in an ioeventfd and waits until
  /// no request is in flight (virtio_blk::quiesce), so the disks' save() is
  /// legal. Blocks up to `limit` per disk; fails naming the disk still
  /// busy. Needs a free CAF worker for the completions.
  caf::error quiesce_disks(std::chrono::milliseconds limit);
  /// After restoring device state and guest memory (before resuming the
  /// vCPUs): every disk picks up requests the guest had queued.
  void kick_disks();

  // Saved state and teleport (machine_state.cpp). Unless noted, only while
  // every vCPU is paused.

  /// Every device's state and the VM-wide state (interrupt controllers,
  /// PIT, clock), name-keyed. Disks must be quiet (quiesce_disks).
  caf::expected<std::vector<named_state>> save_devices();
  /// Restores what save_devices() produced on an identical machine; a
  /// device missing on either side fails naming it.
  caf::error load_devices(const std::vector<named_state>& blobs);
  /// RAM ranges and VRAM. Any thread; valid while the machine lives.
  std::vector<state_region> state_regions() const;
  /// Starts or stops dirty logging on every region of state_regions(). Any
  /// thread; display_dirty_log() keeps working and loses no bits.
  caf::error set_dirty_logging(bool on);
  /// Pages written since the last call for region `index`, by the vCPUs
  /// (KVM's log) and by the disks (virtio_blk::take_writes). Any thread.
  /// With every vCPU paused it first drains the disks, so no completion
  /// writes guest memory after the caller copied it: that call can block
  /// up to 10 s per disk and needs a free CAF worker, like save_devices().
  caf::expected<std::vector<uint64_t>> fetch_dirty(size_t index);
  /// Pages of region `index` that have memory behind them (one bit per
  /// page; the rest read as zero); empty when the host cannot tell.
  std::vector<uint64_t> populated_pages(size_t index) const;
  /// Teleport target, while it waits: notes which pages hold data now (what
  /// the loader wrote), then faults every region in on a background thread
  /// (ram_reservation.hpp). Any thread; once.
  void reserve_ram();
  /// Pages of region `index` that held data before reserve_ram(), else
  /// populated_pages(): what an arriving teleport may have to clear.
  std::vector<uint64_t> loaded_pages(size_t index) const;
  /// Makes [offset, offset + len) of region `index` zero, giving the memory
  /// back to the host where it can. Only while the vCPUs are paused.
  void zero_pages(size_t index, uint64_t offset, uint64_t len);
  /// Target side: builds the disks of `disks` (left out of the spec this
  /// machine was built from) once the source let go of them, waiting up to
  /// `wait` for each image's lock, and restores their saved state.
  caf::error attach_disks(const std::vector<disk_spec>& disks,
                          std::chrono::milliseconds wait);
  /// Source side at the switch-over: flushes every disk and closes its
  /// image, which drops the image's lock for the target.
  caf::error release_disks();
  /// Source side after a failed switch-over: opens the images again
  /// (waiting up to `wait` for each lock) so the guest's disks work on.
  caf::error reacquire_disks(std::chrono::milliseconds wait);

private:
  machine() = default;
  caf::error build_memory();
  caf::error build_platform();
  caf::error build_pci();
  caf::error build_storage();
  /// Builds the next disk (index = disks built so far) on virtio-blk.
  caf::error add_disk(const disk_spec& ds);
  caf::error load_kernel();
  mp_table_spec mp_spec() const;
  caf::error build_vcpus(engine& eng);
  void move_display_bar(unsigned index, const devices::pci_bar& bar);
  void move_disk_bar(size_t disk, unsigned index, const devices::pci_bar& bar);

  machine_spec spec_;
  machine_hooks hooks_;
  std::unique_ptr<engine_vm> vm_;
  std::unique_ptr<guest_memory> memory_;
  io_bus bus_;
  std::unique_ptr<machine_devices> devices_;
  boot_plan plan_;
  std::vector<std::shared_ptr<vcpu_core>> vcpus_;
  struct dirty_share;
  static std::shared_ptr<dirty_share> make_dirty_share();
  std::vector<uint64_t> shared_vram_dirty(bool for_teleport);
  /// The VRAM dirty log, shared by the display and a teleport.
  std::shared_ptr<dirty_share> dirty_ = make_dirty_share();
  std::vector<named_state> pending_disk_state_; ///< Target: until attach.
  std::vector<size_t> released_; ///< Source: disks given to the target.
  std::vector<std::vector<uint64_t>> loaded_; ///< See loaded_pages().
  /// Faults RAM in; goes before memory_ (its thread writes into it).
  std::unique_ptr<ram_reservation> reservation_;
};

} // namespace tb::vmm
