// Storage phase of machine assembly: one virtio-blk PCI function per disk
// (slots 2 and up, BAR0 16 KiB each from 0xe1004000, INTx on GSI 10/11),
// each backed by the disk's storage actor.
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

} // namespace

caf::error machine::build_storage() {
  if (spec_.disks.empty())
    return caf::none;
  if (!hooks_.sys)
    return make_vmm_error(vmm_errc::bad_config,
                          "VM '" + spec_.name
                              + "' has disks but no actor system to run them");
  auto& d = *devices_;
  d.dma = std::make_unique<dma_view>(*memory_);
  d.disks.reserve(spec_.disks.size());
  for (size_t i = 0; i < spec_.disks.size(); ++i) {
    const auto& ds = spec_.disks[i];
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
    disk.irq = std::make_unique<engine_irq_line>(*vm_, 10 + (i % 2));
    disk.backend = std::make_unique<medium_block_backend>(
        *hooks_.sys, *medium, info->logical_size, ds.read_only);
    disk.bar = disk_bar_base + i * devices::virtio_blk::bar_size;
    disk.lock = std::make_shared<std::mutex>();
    auto on_bar = [this, i](unsigned index, const devices::pci_bar& bar) {
      move_disk_bar(i, index, bar);
    };
    disk.device = std::make_unique<devices::virtio_blk>(
        *d.dma, *disk.irq, *disk.backend, "telebox-disk" + std::to_string(i),
        on_bar);
    disk.device->set_bar_address(disk.bar);
    if (!d.pci->attach(static_cast<uint8_t>(first_disk_slot + i), 0,
                       *disk.device))
      return make_vmm_error(vmm_errc::bad_config,
                            "no free PCI slot for disk " + ds.path);
    if (auto err =
            bus_.add_mmio(disk.bar, devices::virtio_blk::bar_size, *disk.device,
                          "virtio-blk" + std::to_string(i), disk.lock))
      return err;
    if (hooks_.log)
      hooks_.log("Disk " + std::to_string(i) + ": " + ds.path + " ("
                 + std::to_string(info->logical_size >> 20) + " MiB"
                 + (ds.read_only ? ", read-only" : "") + ") on virtio-blk");
  }
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
}

} // namespace tb::vmm
