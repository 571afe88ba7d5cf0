// Saved machine state for teleporting: every device's state and the
// VM-wide state as name-keyed, versioned blobs (CAF's binary serializer over
// each <device>_state's inspect()), the guest memory ranges that move, dirty
// logging over them, and the disk hand-over at the switch-over.
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "actors/messages/vmm.hpp"
#include "storage/medium_actor.hpp"
#include "storage/medium_create.hpp"
#include "storage/medium_lock.hpp"
#include "vmm/errors.hpp"
#include "vmm/machine.hpp"
#include "vmm/machine_devices.hpp"

namespace tb::vmm {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, platform_state& x) {
  return f(caf::meta::type_name("platform_state"), x.engine, x.pic_master,
           x.pic_slave, x.ioapic, x.pit, x.clock);
}

namespace {

/// Bumped whenever a saved layout changes; a target refuses other versions.
constexpr uint32_t state_version = 2; // 2: vcpu_state::tsc_khz.

/// VRAM's key in the teleport stream: far above any guest-physical address,
/// so it never collides with RAM and does not depend on where the guest put
/// the frame buffer BAR.
constexpr uint64_t vram_key = 0xf0000000000000ULL;

caf::error bad_state(const std::string& text) {
  return make_vmm_error(vmm_errc::bad_state, text);
}

template <class T> std::vector<uint8_t> encode(T x) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  auto version = state_version;
  (void)sink(version, x);
  return {buf.begin(), buf.end()};
}

template <class T>
caf::error decode(const std::string& name, std::span<const uint8_t> bytes,
                  T& x) {
  caf::binary_deserializer src{
      nullptr, reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  uint32_t version = 0;
  if (auto err = src(version))
    return bad_state("the saved state of '" + name + "' is truncated");
  if (version != state_version)
    return bad_state("the saved state of '" + name + "' has version "
                     + std::to_string(version) + ", this telebox reads "
                     + std::to_string(state_version));
  if (auto err = src(x))
    return bad_state("the saved state of '" + name + "' is malformed");
  if (src.remaining() != 0)
    return bad_state("the saved state of '" + name + "' has "
                     + std::to_string(src.remaining()) + " stray bytes");
  return caf::none;
}

std::string disk_name(size_t i) {
  return "virtio-blk" + std::to_string(i);
}

bool is_disk_name(const std::string& name) {
  return name.rfind("virtio-blk", 0) == 0;
}

/// Waits until the device has no request in flight (vCPUs are paused, so
/// the guest queues none behind it).
bool wait_idle(const devices::virtio_blk& dev, std::chrono::milliseconds max) {
  auto end = std::chrono::steady_clock::now() + max;
  while (dev.in_flight() != 0) {
    if (std::chrono::steady_clock::now() >= end)
      return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

/// Sends one flush through the disk's backend and waits for it.
caf::error flush_disk(devices::block_backend& b, const std::string& path) {
  auto done = std::make_shared<std::promise<devices::block_status>>();
  auto result = done->get_future();
  b.submit(devices::block_request{devices::block_op::flush, 0, {}},
           [done](devices::block_status st) { done->set_value(st); });
  if (result.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
    return bad_state("flushing disk " + path + " timed out");
  if (result.get() != devices::block_status::ok)
    return bad_state("flushing disk " + path + " failed");
  return caf::none;
}

/// Waits until nobody holds the image's lock (the source let go).
caf::error wait_for_lock(const std::string& path, const std::string& owner,
                         std::chrono::milliseconds wait) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return make_errno_error(vmm_errc::io_error, "cannot open " + path, errno);
  auto err = storage::lock_medium(fd, path, owner, wait);
  if (!err)
    storage::unlock_medium(fd);
  ::close(fd);
  return err;
}

} // namespace

std::vector<uint8_t> encode_vcpu_state(const vcpu_state& st) {
  return encode(st);
}

caf::expected<vcpu_state> decode_vcpu_state(std::span<const uint8_t> bytes) {
  vcpu_state st;
  if (auto err = decode("vcpu", bytes, st))
    return err;
  return st;
}

caf::expected<std::vector<named_state>> machine::save_devices() {
  auto& d = *devices_;
  std::vector<named_state> out;
  out.emplace_back("uart0", encode(d.uart->save()));
  {
    std::lock_guard<std::mutex> guard{*d.kbd_lock};
    out.emplace_back("i8042", encode(d.kbd->save()));
  }
  {
    std::lock_guard<std::mutex> guard{*d.cmos_lock}; // The RTC timer ticks.
    out.emplace_back("cmos", encode(d.cmos->save()));
  }
  {
    std::lock_guard<std::mutex> guard{*d.pm_lock};
    out.emplace_back("acpi_pm", encode(d.pm->save()));
  }
  out.emplace_back("pci_host", encode(d.pci->save()));
  if (d.display) {
    std::lock_guard<std::mutex> guard{*d.display_lock};
    out.emplace_back("display", encode(d.display->save()));
  }
  for (size_t i = 0; i < d.disks.size(); ++i) {
    auto& dev = *d.disks[i].device;
    if (!wait_idle(dev, std::chrono::seconds(10)))
      return bad_state("disk " + spec_.disks[i].path
                       + " still has requests in flight after 10 s");
    out.emplace_back(disk_name(i), encode(dev.save()));
  }
  // Disks the target has not attached yet keep the state it was given.
  for (auto& p : pending_disk_state_)
    out.push_back(p);
  auto platform = vm_->capture_platform();
  if (!platform)
    return platform.error();
  out.emplace_back("platform", encode(*platform));
  return out;
}

caf::error machine::load_devices(const std::vector<named_state>& blobs) {
  auto& d = *devices_;
  std::map<std::string, const std::vector<uint8_t>*> by_name;
  for (auto& [name, bytes] : blobs)
    if (!by_name.emplace(name, &bytes).second)
      return bad_state("the saved state names device '" + name + "' twice");
  auto take = [&](const std::string& name,
                  auto& st) -> caf::error { // Removes what it restores.
    auto it = by_name.find(name);
    if (it == by_name.end())
      return bad_state("the saved state has no device '" + name
                       + "' that this VM has");
    auto err = decode(name, *it->second, st);
    by_name.erase(it);
    return err;
  };
  devices::uart_16550_state uart;
  devices::i8042_state kbd;
  devices::cmos_rtc_state cmos;
  devices::acpi_pm_state pm;
  devices::pci_host_state pci;
  devices::bochs_display_state display;
  platform_state platform;
  caf::error err;
  if ((err = take("uart0", uart)) || (err = take("i8042", kbd))
      || (err = take("cmos", cmos)) || (err = take("acpi_pm", pm))
      || (err = take("pci_host", pci)) || (err = take("platform", platform))
      || (d.display && (err = take("display", display))))
    return err;
  std::vector<devices::virtio_blk_state> disks(d.disks.size());
  for (size_t i = 0; i < d.disks.size(); ++i)
    if ((err = take(disk_name(i), disks[i])))
      return err;
  std::vector<named_state> pending;
  for (auto& [name, bytes] : by_name) {
    if (!is_disk_name(name))
      return bad_state("the saved state has device '" + name
                       + "' that this VM lacks");
    pending.emplace_back(name, *bytes);
  }
  // Everything decoded: only now touch the machine.
  if ((err = vm_->restore_platform(platform)))
    return err;
  d.uart->restore(uart);
  {
    std::lock_guard<std::mutex> guard{*d.kbd_lock};
    d.kbd->restore(kbd);
  }
  {
    std::lock_guard<std::mutex> guard{*d.cmos_lock};
    d.cmos->restore(cmos);
  }
  d.rtc->poke(); // The restored rates may want interrupts.
  {
    std::lock_guard<std::mutex> guard{*d.pm_lock};
    d.pm->restore(pm);
  }
  d.pci->restore(pci);
  if (d.display) {
    std::lock_guard<std::mutex> guard{*d.display_lock};
    d.display->restore(display);
  }
  for (size_t i = 0; i < d.disks.size(); ++i)
    d.disks[i].device->restore(disks[i]);
  pending_disk_state_ = std::move(pending);
  return caf::none;
}

// --- guest memory and dirty logging -------------------------------------

/// The VRAM slot's dirty log has two readers (the display's damage
/// tracking and a teleport) and KVM_GET_DIRTY_LOG clears it: whatever one
/// reader fetches is kept for the other, so neither loses a bit.
/// The disks' writes to guest memory (KVM logs only the vCPUs') go into
/// `by_devices`, one bitmap per region, until fetch_dirty hands them out.
struct machine::dirty_share {
  std::mutex mtx;
  bool teleport = false;
  std::vector<uint64_t> for_display, for_teleport;
  std::vector<std::vector<uint64_t>> by_devices;
};

std::shared_ptr<machine::dirty_share> machine::make_dirty_share() {
  return std::make_shared<dirty_share>();
}

namespace {

void merge_into(std::vector<uint64_t>& acc, const std::vector<uint64_t>& bits) {
  if (acc.size() < bits.size())
    acc.resize(bits.size(), 0);
  for (size_t i = 0; i < bits.size(); ++i)
    acc[i] |= bits[i];
}

/// Sets the bits of the pages of `regions` that `bytes` (host memory) lies
/// in; `maps` has one bitmap per region.
void mark_host_range(const std::vector<std::unique_ptr<memory_region>>& regions,
                     std::span<const uint8_t> bytes,
                     std::vector<std::vector<uint64_t>>& maps) {
  maps.resize(regions.size());
  auto at = reinterpret_cast<uintptr_t>(bytes.data());
  for (size_t i = 0; i < regions.size(); ++i) {
    auto& r = *regions[i];
    auto host = reinterpret_cast<uintptr_t>(r.host);
    if (bytes.empty() || at < host || at - host >= r.size)
      continue;
    auto first = (at - host) / page_size;
    auto last = std::min<uint64_t>((at - host + bytes.size() - 1) / page_size,
                                   r.size / page_size - 1);
    auto& bits = maps[i];
    bits.resize((r.size / page_size + 63) / 64, 0);
    for (auto p = first; p <= last; ++p)
      bits[p / 64] |= uint64_t{1} << (p % 64);
    return;
  }
}

bool all_paused(const std::vector<std::shared_ptr<vcpu_core>>& vcpus) {
  for (auto& c : vcpus)
    if (c->state.load() == vcpu_run_state::running)
      return false;
  return true;
}

} // namespace

std::vector<uint64_t> machine::shared_vram_dirty(bool for_teleport) {
  auto* r = devices_ ? devices_->vram : nullptr;
  if (!r)
    return {};
  std::lock_guard<std::mutex> guard{dirty_->mtx};
  auto got = vm_->dirty_log(r->slot, r->size);
  auto bits = got ? std::move(*got) : std::vector<uint64_t>{};
  auto& mine = for_teleport ? dirty_->for_teleport : dirty_->for_display;
  auto& other = for_teleport ? dirty_->for_display : dirty_->for_teleport;
  if (dirty_->teleport || !for_teleport)
    merge_into(other, bits);
  if (!dirty_->teleport)
    dirty_->for_teleport.clear();
  merge_into(mine, bits);
  auto out = std::move(mine);
  mine.clear();
  return out;
}

std::vector<state_region> machine::state_regions() const {
  std::vector<state_region> out;
  for (auto& r : memory_->regions()) {
    bool vram = devices_ && r.get() == devices_->vram;
    out.push_back(state_region{r->name, vram ? vram_key : r->gpa,
                               std::span<uint8_t>{r->host, r->size}});
  }
  return out;
}

caf::error machine::set_dirty_logging(bool on) {
  for (auto& r : memory_->regions()) {
    if (devices_ && r.get() == devices_->vram)
      continue; // Always logged (display damage).
    auto flags = on ? slot_flags::log_dirty : slot_flags::none;
    if (auto err =
            vm_->set_memory_slot(r->slot, r->gpa, r->size, r->host, flags))
      return err;
    r->flags = flags;
  }
  for (size_t i = 0; devices_ && i < devices_->disks.size(); ++i)
    devices_->disks[i].device->track_writes(on);
  std::lock_guard<std::mutex> guard{dirty_->mtx};
  dirty_->teleport = on;
  dirty_->for_teleport.clear();
  dirty_->by_devices.clear();
  return caf::none;
}

caf::expected<std::vector<uint64_t>> machine::fetch_dirty(size_t index) {
  auto& regions = memory_->regions();
  if (index >= regions.size())
    return bad_state("no memory region " + std::to_string(index));
  auto& r = *regions[index];
  // Paused, this is the switch-over's last pass: every disk request ends
  // first, so none writes guest memory after its pages were copied.
  if (all_paused(vcpus_))
    if (auto err = quiesce_disks(std::chrono::seconds(10)))
      return err;
  std::vector<uint64_t> by_devices;
  {
    std::lock_guard<std::mutex> guard{dirty_->mtx};
    for (size_t i = 0; devices_ && i < devices_->disks.size(); ++i)
      for (auto& w : devices_->disks[i].device->take_writes())
        mark_host_range(regions, w, dirty_->by_devices);
    if (index < dirty_->by_devices.size())
      by_devices.swap(dirty_->by_devices[index]);
  }
  caf::expected<std::vector<uint64_t>> bits{std::vector<uint64_t>{}};
  if (devices_ && &r == devices_->vram) {
    bits = shared_vram_dirty(true);
    bits->resize((r.size / page_size + 63) / 64, 0);
  } else {
    bits = vm_->dirty_log(r.slot, r.size);
  }
  if (bits)
    merge_into(*bits, by_devices);
  return bits;
}

std::vector<uint64_t> machine::populated_pages(size_t index) const {
  auto& regions = memory_->regions();
  if (index >= regions.size() || regions[index]->fd < 0)
    return {};
  auto& r = *regions[index];
  std::vector<uint64_t> bits((r.size / page_size + 63) / 64, 0);
  auto begin = static_cast<off_t>(r.offset);
  auto end = static_cast<off_t>(r.offset + r.size);
  for (off_t at = begin; at < end;) {
    off_t data = ::lseek(r.fd, at, SEEK_DATA);
    if (data < 0)
      return errno == ENXIO ? bits : std::vector<uint64_t>{};
    if (data >= end)
      break;
    off_t hole = ::lseek(r.fd, data, SEEK_HOLE);
    if (hole < 0)
      return {};
    hole = std::min(hole, end);
    for (auto p = static_cast<uint64_t>(data - begin) / page_size;
         p * page_size < static_cast<uint64_t>(hole - begin); ++p)
      bits[p / 64] |= uint64_t{1} << (p % 64);
    at = hole;
  }
  return bits;
}

void machine::reserve_ram() {
  if (reservation_)
    return;
  std::vector<std::span<uint8_t>> ranges;
  loaded_.clear();
  for (size_t i = 0; i < memory_->regions().size(); ++i) {
    auto& r = *memory_->regions()[i];
    loaded_.push_back(populated_pages(i));
    ranges.emplace_back(r.host, r.size);
  }
  reservation_ = std::make_unique<ram_reservation>(std::move(ranges));
}

std::vector<uint64_t> machine::loaded_pages(size_t index) const {
  if (index < loaded_.size())
    return loaded_[index];
  return populated_pages(index);
}

void machine::zero_pages(size_t index, uint64_t offset, uint64_t len) {
  auto& regions = memory_->regions();
  if (index >= regions.size() || offset > regions[index]->size
      || len > regions[index]->size - offset)
    return;
  auto& r = *regions[index];
  // Punching a hole frees the pages (and reads as zero) without touching
  // them; memory the target never used costs nothing.
  if (r.fd >= 0
      && ::fallocate(r.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                     static_cast<off_t>(r.offset + offset),
                     static_cast<off_t>(len))
             == 0)
    return;
  std::memset(r.host + offset, 0, len);
}

// --- disks at the switch-over -------------------------------------------

caf::error machine::attach_disks(const std::vector<disk_spec>& disks,
                                 std::chrono::milliseconds wait) {
  if (!devices_->disks.empty())
    return bad_state("VM '" + spec_.name + "' has its disks attached already");
  if (disks.size() != pending_disk_state_.size())
    return bad_state("the source sent the state of "
                     + std::to_string(pending_disk_state_.size())
                     + " disks, this VM has " + std::to_string(disks.size()));
  for (auto& ds : disks)
    if (!ds.read_only)
      if (auto err = wait_for_lock(ds.path, "VM " + spec_.name, wait))
        return err;
  spec_.disks = disks;
  if (auto err = build_storage())
    return err;
  std::map<std::string, const std::vector<uint8_t>*> by_name;
  for (auto& [name, bytes] : pending_disk_state_)
    by_name.emplace(name, &bytes);
  auto& d = *devices_;
  for (size_t i = 0; i < d.disks.size(); ++i) {
    auto it = by_name.find(disk_name(i));
    if (it == by_name.end())
      return bad_state("the saved state has no device '" + disk_name(i) + "'");
    devices::virtio_blk_state st;
    if (auto err = decode(it->first, *it->second, st))
      return err;
    d.disks[i].device->restore(st);
  }
  pending_disk_state_.clear();
  return caf::none;
}

caf::error machine::release_disks() {
  auto& d = *devices_;
  for (size_t i = 0; i < d.disks.size(); ++i) {
    auto& dk = d.disks[i];
    if (!dk.backend || spec_.disks[i].read_only)
      continue;
    if (!wait_idle(*dk.device, std::chrono::seconds(10)))
      return bad_state("disk " + spec_.disks[i].path + " is still busy");
    if (auto err = flush_disk(*dk.backend, spec_.disks[i].path))
      return err;
  }
  for (size_t i = 0; i < d.disks.size(); ++i) {
    auto& dk = d.disks[i];
    if (!dk.backend || spec_.disks[i].read_only)
      continue;
    // The device holds a reference to its backend, so the object stays
    // where it is: a new one without a medium takes the old one's place,
    // which drops the medium and with it the image's lock. The guest is
    // paused and the disk idle, so no request reaches it.
    auto* b = dk.backend.get();
    auto size = b->sectors() * 512;
    std::destroy_at(b);
    std::construct_at(b, *hooks_.sys, storage::medium_actor{}, size, true);
    released_.push_back(i);
  }
  return caf::none;
}

caf::error machine::reacquire_disks(std::chrono::milliseconds wait) {
  caf::error first;
  for (auto i : released_) {
    auto& ds = spec_.disks[i];
    storage::open_options oo;
    oo.writable = true;
    oo.owner = "VM " + spec_.name;
    oo.direct = !ds.host_cache;
    oo.lock_wait_ms = static_cast<int>(wait.count());
    auto medium = storage::spawn_medium(*hooks_.sys, ds.path, oo);
    if (!medium) {
      // The guest's disk must stay a valid object: read-only, so its
      // writes fail with an I/O error instead of reaching a lost image.
      if (!first)
        first = medium.error();
      oo.writable = false;
      medium = storage::spawn_medium(*hooks_.sys, ds.path, oo);
    }
    auto* b = devices_->disks[i].backend.get();
    auto size = b->sectors() * 512;
    std::destroy_at(b);
    std::construct_at(b, *hooks_.sys,
                      medium ? *medium : storage::medium_actor{}, size,
                      !medium || !oo.writable);
  }
  released_.clear();
  return first;
}

} // namespace tb::vmm
