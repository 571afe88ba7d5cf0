// Guest RAM as memfd + MAP_SHARED, so another process (teleport, a display
// helper) can map the same pages and KVM can log dirty pages per slot.
#include "vmm/guest_memory.hpp"

#include <cerrno>
#include <cstring>

#include <sys/mman.h>
#include <unistd.h>

#include "vmm/errors.hpp"

namespace tb::vmm {

namespace {

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%#llx", static_cast<unsigned long long>(v));
  return buf;
}

caf::expected<std::pair<int, uint8_t*>> map_memfd(const char* name,
                                                  uint64_t size) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0)
    return make_errno_error(vmm_errc::out_of_memory, "memfd_create", errno);
  if (ftruncate(fd, static_cast<off_t>(size)) < 0) {
    auto err = errno;
    ::close(fd);
    return make_errno_error(
        vmm_errc::out_of_memory,
        "sizing guest memory to " + std::to_string(size) + " bytes", err);
  }
  // MAP_NORESERVE: untouched guest pages cost nothing, as with QEMU.
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (p == MAP_FAILED) {
    auto err = errno;
    ::close(fd);
    return make_errno_error(vmm_errc::out_of_memory, "mapping guest memory",
                            err);
  }
  return std::make_pair(fd, static_cast<uint8_t*>(p));
}

} // namespace

caf::expected<std::unique_ptr<guest_memory>>
guest_memory::create(uint64_t ram_bytes, bool large_pages) {
  if (ram_bytes == 0 || ram_bytes % page_size != 0)
    return make_vmm_error(vmm_errc::bad_config,
                          "guest RAM size " + std::to_string(ram_bytes)
                              + " is not a positive multiple of 4 KiB");
  auto mapped = map_memfd("telebox-ram", ram_bytes);
  if (!mapped)
    return mapped.error();
  std::unique_ptr<guest_memory> m{new guest_memory};
  m->ram_size_ = ram_bytes;
  m->ram_fd_ = mapped->first;
  m->ram_ = mapped->second;
  m->large_pages_ = large_pages;
  if (large_pages)
    madvise(m->ram_, ram_bytes, MADV_HUGEPAGE); // Advisory; THP may be off.
  auto low = m->ram_below_4g();
  m->regions_.push_back(std::make_unique<memory_region>(memory_region{
      "ram-low", 0, low, m->ram_, 0, m->ram_fd_, 0, slot_flags::none}));
  if (auto high = m->ram_above_4g())
    m->regions_.push_back(std::make_unique<memory_region>(
        memory_region{"ram-high", high_ram_base, high, m->ram_ + low, 1,
                      m->ram_fd_, low, slot_flags::none}));
  return m;
}

guest_memory::~guest_memory() {
  for (auto& r : regions_)
    if (r->fd != ram_fd_) {
      munmap(r->host, r->size);
      ::close(r->fd);
    }
  if (ram_)
    munmap(ram_, ram_size_);
  if (ram_fd_ >= 0)
    ::close(ram_fd_);
}

uint64_t guest_memory::ram_below_4g() const {
  return ram_size_ < ram_below_4g_max ? ram_size_ : ram_below_4g_max;
}

uint64_t guest_memory::ram_above_4g() const {
  return ram_size_ - ram_below_4g();
}

uint8_t* guest_memory::host_ptr(uint64_t gpa, uint64_t len) const {
  for (auto& r : regions_)
    if (gpa >= r->gpa && len <= r->size && gpa - r->gpa <= r->size - len)
      return r->host + (gpa - r->gpa);
  return nullptr;
}

caf::error guest_memory::write(uint64_t gpa, std::span<const uint8_t> bytes) {
  auto* p = host_ptr(gpa, bytes.size());
  if (!p)
    return make_vmm_error(vmm_errc::bad_config,
                          "guest range " + hex(gpa) + "+" + hex(bytes.size())
                              + " is not RAM (guest has "
                              + std::to_string(ram_size_ >> 20) + " MiB)");
  std::memcpy(p, bytes.data(), bytes.size());
  return caf::none;
}

caf::error guest_memory::read(uint64_t gpa, std::span<uint8_t> out) const {
  auto* p = host_ptr(gpa, out.size());
  if (!p)
    return make_vmm_error(vmm_errc::bad_config, "guest range " + hex(gpa) + "+"
                                                    + hex(out.size())
                                                    + " is not RAM");
  std::memcpy(out.data(), p, out.size());
  return caf::none;
}

caf::error guest_memory::fill_zero(uint64_t gpa, uint64_t len) {
  auto* p = host_ptr(gpa, len);
  if (!p)
    return make_vmm_error(vmm_errc::bad_config, "guest range " + hex(gpa) + "+"
                                                    + hex(len) + " is not RAM");
  std::memset(p, 0, len);
  return caf::none;
}

caf::expected<memory_region*>
guest_memory::add_device_region(const std::string& name, uint64_t gpa,
                                uint64_t size, slot_flags flags) {
  if (size == 0 || size % page_size != 0 || gpa % page_size != 0)
    return make_vmm_error(vmm_errc::bad_config,
                          "device memory '" + name + "' at " + hex(gpa)
                              + " size " + hex(size) + " is not page aligned");
  auto mapped = map_memfd(name.c_str(), size);
  if (!mapped)
    return mapped.error();
  uint32_t slot = 0;
  for (auto& r : regions_)
    slot = std::max(slot, r->slot + 1);
  regions_.push_back(std::make_unique<memory_region>(memory_region{
      name, gpa, size, mapped->second, slot, mapped->first, 0, flags}));
  return regions_.back().get();
}

caf::error guest_memory::map_into(engine_vm& vm) const {
  for (auto& r : regions_)
    if (auto err =
            vm.set_memory_slot(r->slot, r->gpa, r->size, r->host, r->flags))
      return err;
  return caf::none;
}

caf::error guest_memory::remap(engine_vm& vm, memory_region& region,
                               uint64_t gpa) const {
  // KVM cannot move a slot: delete it, then add it at the new address.
  if (auto err = vm.set_memory_slot(region.slot, region.gpa, 0, region.host,
                                    region.flags))
    return err;
  region.gpa = gpa;
  return vm.set_memory_slot(region.slot, gpa, region.size, region.host,
                            region.flags);
}

} // namespace tb::vmm
