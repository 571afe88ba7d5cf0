// Storage phase of machine assembly: one virtio-blk PCI function per disk
// (slots 2 and up, BAR0 16 KiB each from 0xe1004000, INTx on GSI 10/11),
// each backed by the disk's storage actor. When the engine has eventfds the
// queue notify is an ioeventfd and the interrupt an irqfd with a resample
// fd, both served by one thread per machine (ioevent_loop), so a request
// costs the vCPU no userspace exit; otherwise the MMIO notify exit and
// KVM_IRQ_LINE do the same work.
#include <cstdlib>
#include <cstring>

#include <caf/actor_system.hpp>

#include "storage/medium_actor.hpp"
#include "storage/medium_create.hpp"
#include "vmm/errors.hpp"
#include "vmm/machine.hpp"
#include "vmm/machine_devices.hpp"

namespace tb::vmm {

namespace {

constexpr uint64_t disk_bar_base = 0xe1004000;
constexpr uint8_t first_disk_slot = 2;

bool eventfds_wanted(const machine_spec& spec) {
  const char* env = std::getenv("TELEBOX_DISK_EVENTFDS");
  return spec.disk_eventfds && !(env && std::strcmp(env, "0") == 0);
}

/// Registers the notify ioeventfd at `at`: any access width first (what
/// QEMU does), else the 16-bit write virtio drivers use.
caf::error add_notify(engine_vm& vm, machine_devices::disk& dk, uint64_t at) {
  for (uint32_t len : {0u, 2u}) {
    if (!vm.add_ioeventfd(at, len, dk.notify.fd(), false)) {
      dk.notify_at = at;
      dk.notify_len = len;
      return caf::none;
    }
  }
  return vm.add_ioeventfd(at, 2, dk.notify.fd(), false);
}

/// The irqfd half of the fast path: a resampled INTx line served by the
/// machine's I/O event thread (started here on first use).
caf::expected<std::unique_ptr<irqfd_line>>
make_irqfd_line(engine_vm& vm, machine_devices& d, uint32_t gsi) {
  auto trigger = event_fd::create();
  if (!trigger)
    return trigger.error();
  auto resample = event_fd::create();
  if (!resample)
    return resample.error();
  if (!d.disk_events) {
    auto loop = ioevent_loop::create();
    if (!loop)
      return loop.error();
    d.disk_events = std::move(*loop);
  }
  if (auto err = d.disk_events->start("tb-ioevent"))
    return err;
  auto line =
      std::make_unique<irqfd_line>(std::move(*trigger), std::move(*resample));
  auto* raw = line.get();
  if (auto err =
          d.disk_events->watch(raw->resample(), [raw] { raw->resampled(); }))
    return err;
  if (auto err = vm.add_irqfd(gsi, raw->trigger().fd(), raw->resample().fd()))
    return err;
  return line;
}

/// The ioeventfd half: the queue notify at BAR0 + notify_offset calls
/// notify_queue(0) on the event thread.
caf::error attach_notify(engine_vm& vm, machine_devices& d,
                         machine_devices::disk& dk) {
  auto fd = event_fd::create();
  if (!fd)
    return fd.error();
  if (!d.disk_events)
    return make_vmm_error(vmm_errc::bad_state, "no I/O event thread");
  auto* dev = dk.device.get();
  if (auto err = d.disk_events->watch(*fd, [dev] { dev->notify_queue(0); }))
    return err;
  dk.notify = std::move(*fd);
  if (auto err =
          add_notify(vm, dk, dk.bar + devices::virtio_blk::notify_offset)) {
    dk.notify = {}; // closing it drops it from the event thread's epoll
    return err;
  }
  return caf::none;
}

} // namespace

caf::error machine::build_storage() {
  if (spec_.disks.empty())
    return caf::none;
  if (!hooks_.sys)
    return make_vmm_error(vmm_errc::bad_config,
                          "VM '" + spec_.name
                              + "' has disks but no actor system to run them");
  for (const auto& ds : spec_.disks)
    if (auto err = add_disk(ds))
      return err;
  return caf::none;
}

caf::error machine::add_disk(const disk_spec& ds) {
  auto& d = *devices_;
  if (!hooks_.sys)
    return make_vmm_error(vmm_errc::bad_config,
                          "VM '" + spec_.name
                              + "' has disks but no actor system to run them");
  if (!d.dma)
    d.dma = std::make_unique<dma_view>(*memory_);
  size_t i = d.disks.size();
  auto info = storage::probe_medium(ds.path);
  if (!info)
    return info.error();
  storage::open_options oo;
  oo.writable = !ds.read_only;
  oo.owner = "VM " + spec_.name;
  oo.direct = !ds.host_cache;
  auto medium = storage::spawn_medium(*hooks_.sys, ds.path, oo);
  if (!medium)
    return medium.error();
  auto& disk = d.disks.emplace_back();
  disk.slot = static_cast<uint8_t>(first_disk_slot + i);
  disk.gsi = static_cast<uint8_t>(10 + (i % 2));
  uint32_t gsi = disk.gsi;
  disk.irq = std::make_unique<engine_irq_line>(*vm_, gsi);
  disk.backend = std::make_unique<medium_block_backend>(
      *hooks_.sys, *medium, info->logical_size, ds.read_only);
  disk.bar = disk_bar_base + i * devices::virtio_blk::bar_size;
  disk.lock = std::make_shared<std::mutex>();
  std::string irq_note = "KVM_IRQ_LINE", notify_note = "MMIO notify";
  bool fast = eventfds_wanted(spec_);
  if (fast) {
    if (auto line = make_irqfd_line(*vm_, d, gsi)) {
      disk.fast_irq = std::move(*line);
      irq_note = "irqfd INTx";
    } else {
      irq_note += " (no irqfd: " + caf::to_string(line.error()) + ")";
    }
  }
  auto on_bar = [this, i](unsigned index, const devices::pci_bar& bar) {
    move_disk_bar(i, index, bar);
  };
  devices::irq_line& line =
      disk.fast_irq ? static_cast<devices::irq_line&>(*disk.fast_irq)
                    : *disk.irq;
  disk.device = std::make_unique<devices::virtio_blk>(
      *d.dma, line, *disk.backend, "telebox-disk" + std::to_string(i), on_bar);
  disk.device->set_bar_address(disk.bar);
  // As firmware would: the interrupt line register names the GSI (the MP
  // table says the same), for guests that read it instead of routing.
  disk.device->config_write(0x3c, std::span<const uint8_t>{&disk.gsi, 1});
  if (!d.pci->attach(disk.slot, 0, *disk.device))
    return make_vmm_error(vmm_errc::bad_config,
                          "no free PCI slot for disk " + ds.path);
  if (fast) {
    if (auto err = attach_notify(*vm_, d, disk))
      notify_note += " (no ioeventfd: " + caf::to_string(err) + ")";
    else
      notify_note = "ioeventfd notify";
  }
  // The MMIO range stays registered under an ioeventfd: accesses it does
  // not match (other widths, other registers) exit as before.
  if (auto err =
          bus_.add_mmio(disk.bar, devices::virtio_blk::bar_size, *disk.device,
                        "virtio-blk" + std::to_string(i), disk.lock))
    return err;
  if (hooks_.log)
    hooks_.log("Disk " + std::to_string(i) + ": " + ds.path + " ("
               + std::to_string(info->logical_size >> 20) + " MiB"
               + (ds.read_only ? ", read-only" : "") + ") on virtio-blk, "
               + notify_note + ", " + irq_note);
  return caf::none;
}

void machine::move_disk_bar(size_t disk, unsigned index,
                            const devices::pci_bar& bar) {
  auto& dk = devices_->disks[disk];
  if (index != 0 || !bar.enabled || bar.address == 0 || bar.address == dk.bar)
    return;
  bus_.remove_mmio(dk.bar, *dk.device);
  dk.bar = bar.address;
  (void)bus_.add_mmio(bar.address, devices::virtio_blk::bar_size, *dk.device,
                      "virtio-blk" + std::to_string(disk), dk.lock);
  if (!dk.notify)
    return;
  // The notify register moved with the BAR: so does its ioeventfd. If it
  // cannot follow, the MMIO range above still serves notifies.
  (void)vm_->remove_ioeventfd(dk.notify_at, dk.notify_len, dk.notify.fd(),
                              false);
  auto at = bar.address + devices::virtio_blk::notify_offset;
  if (auto err = add_notify(*vm_, dk, at); err && hooks_.log)
    hooks_.log("Disk " + std::to_string(disk)
               + ": notify ioeventfd lost after a BAR move: "
               + caf::to_string(err));
}

caf::error machine::quiesce_disks(std::chrono::milliseconds limit) {
  for (size_t i = 0; devices_ && i < devices_->disks.size(); ++i) {
    auto& dk = devices_->disks[i];
    if (dk.notify)
      dk.notify.consume(); // served by quiesce's kick below
    if (!dk.device->quiesce(limit))
      return make_vmm_error(vmm_errc::bad_state,
                            "disk " + std::to_string(i) + " still has "
                                + std::to_string(dk.device->in_flight())
                                + " requests in flight after "
                                + std::to_string(limit.count()) + " ms");
  }
  return caf::none;
}

void machine::kick_disks() {
  for (size_t i = 0; devices_ && i < devices_->disks.size(); ++i)
    devices_->disks[i].device->kick();
}

machine_devices::disks_drain::~disks_drain() {
  if (d.disk_events)
    d.disk_events->stop();
  for (auto& dk : d.disks)
    if (dk.device)
      (void)dk.device->wait_idle(std::chrono::seconds(10));
}

} // namespace tb::vmm
