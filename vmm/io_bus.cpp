// Registration on the machine's I/O buses.
#include "vmm/io_bus.hpp"

#include <cstdio>

#include "vmm/errors.hpp"

namespace tb::vmm {

namespace {

template <class Bus, class Addr>
std::string overlap_message(const Bus& bus, Addr base, Addr size,
                            const std::string& name, const char* space) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%#llx-%#llx",
                static_cast<unsigned long long>(base),
                static_cast<unsigned long long>(base + size - 1));
  std::string who;
  for (auto& e : bus.entries())
    if (e.base <= base + (size - 1) && base <= e.base + (e.size - 1))
      who = e.name;
  return std::string{space} + " range " + buf + " of " + name
         + (who.empty() ? " is empty or wraps" : " overlaps " + who);
}

} // namespace

caf::error io_bus::add_pio(uint16_t base, uint16_t count,
                           devices::pio_device& dev, const std::string& name,
                           std::shared_ptr<std::mutex> lock) {
  if (!lock)
    lock = std::make_shared<std::mutex>();
  std::unique_lock<std::shared_mutex> ranges{ranges_mtx_};
  locks_.push_back(lock);
  if (!pio_.add(base, count, dev, name, std::move(lock)))
    return make_vmm_error(vmm_errc::bad_config,
                          overlap_message(pio_, base, count, name, "port"));
  return caf::none;
}

caf::error io_bus::add_mmio(uint64_t base, uint64_t size,
                            devices::mmio_device& dev, const std::string& name,
                            std::shared_ptr<std::mutex> lock) {
  if (!lock)
    lock = std::make_shared<std::mutex>();
  std::unique_lock<std::shared_mutex> ranges{ranges_mtx_};
  locks_.push_back(lock);
  if (!mmio_.add(base, size, dev, name, std::move(lock)))
    return make_vmm_error(vmm_errc::bad_config,
                          overlap_message(mmio_, base, size, name, "MMIO"));
  return caf::none;
}

void io_bus::remove_pio(uint16_t base, const devices::pio_device& dev) {
  std::unique_lock<std::shared_mutex> ranges{ranges_mtx_};
  pio_.remove(base, dev);
}

void io_bus::remove_mmio(uint64_t base, const devices::mmio_device& dev) {
  std::unique_lock<std::shared_mutex> ranges{ranges_mtx_};
  mmio_.remove(base, dev);
}

} // namespace tb::vmm
