// KVM VM-wide state (PIC, IOAPIC, PIT, clock) and the eventfd bindings
// (ioeventfd, irqfd) of kvm_vm. Internal to the KVM engine.
#include <cstring>

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include "vmm/errors.hpp"
#include "vmm/kvm_blob.hpp"
#include "vmm/kvm_state.hpp"

namespace tb::vmm {

namespace {

using kvm_detail::ioctl_error;
using kvm_detail::to_blob;

template <class T>
caf::error from_blob(const std::vector<uint8_t>& blob, T& x, const char* what) {
  if (!kvm_detail::from_blob(blob, x))
    return make_vmm_error(
        vmm_errc::bad_state,
        std::string{"saved "} + what + " has " + std::to_string(blob.size())
            + " bytes, this host's KVM expects " + std::to_string(sizeof(T)));
  std::memcpy(&x, blob.data(), sizeof(T));
  return caf::none;
}

caf::error get_chip(int vm_fd, uint32_t id, std::vector<uint8_t>& out) {
  kvm_irqchip chip{};
  chip.chip_id = id;
  if (ioctl(vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
    return ioctl_error("KVM_GET_IRQCHIP");
  out = to_blob(chip);
  return caf::none;
}

caf::error set_chip(int vm_fd, uint32_t id, const std::vector<uint8_t>& in,
                    const char* what) {
  kvm_irqchip chip{};
  if (auto err = from_blob(in, chip, what))
    return err;
  if (chip.chip_id != id)
    return make_vmm_error(vmm_errc::bad_state,
                          std::string{"saved "} + what + " is another chip");
  if (ioctl(vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
    return ioctl_error("KVM_SET_IRQCHIP");
  return caf::none;
}

} // namespace

caf::expected<platform_state> kvm_capture_platform(int vm_fd) {
  platform_state st;
  st.engine = kvm_state_format;
  caf::error err;
  if ((err = get_chip(vm_fd, KVM_IRQCHIP_PIC_MASTER, st.pic_master))
      || (err = get_chip(vm_fd, KVM_IRQCHIP_PIC_SLAVE, st.pic_slave))
      || (err = get_chip(vm_fd, KVM_IRQCHIP_IOAPIC, st.ioapic)))
    return err;
  kvm_pit_state2 pit{};
  if (ioctl(vm_fd, KVM_GET_PIT2, &pit) < 0)
    return ioctl_error("KVM_GET_PIT2");
  st.pit = to_blob(pit);
  kvm_clock_data clock{};
  if (ioctl(vm_fd, KVM_GET_CLOCK, &clock) < 0)
    return ioctl_error("KVM_GET_CLOCK");
  st.clock = to_blob(clock);
  return st;
}

caf::error kvm_restore_platform(int vm_fd, const platform_state& st) {
  if (st.engine != kvm_state_format)
    return make_vmm_error(vmm_errc::bad_state, "saved VM state is in format '"
                                                   + st.engine
                                                   + "', this engine reads '"
                                                   + kvm_state_format + "'");
  kvm_pit_state2 pit{};
  kvm_clock_data clock{};
  caf::error err;
  if ((err = from_blob(st.pit, pit, "PIT state"))
      || (err = from_blob(st.clock, clock, "clock")))
    return err;
  if ((err =
           set_chip(vm_fd, KVM_IRQCHIP_PIC_MASTER, st.pic_master, "master PIC"))
      || (err =
              set_chip(vm_fd, KVM_IRQCHIP_PIC_SLAVE, st.pic_slave, "slave PIC"))
      || (err = set_chip(vm_fd, KVM_IRQCHIP_IOAPIC, st.ioapic, "IOAPIC")))
    return err;
  if (ioctl(vm_fd, KVM_SET_PIT2, &pit) < 0)
    return ioctl_error("KVM_SET_PIT2");
  // Only the clock value moves; the source host's flags (TSC stability,
  // realtime pairing) say nothing about this host.
  kvm_clock_data set{};
  set.clock = clock.clock;
  if (ioctl(vm_fd, KVM_SET_CLOCK, &set) < 0)
    return ioctl_error("KVM_SET_CLOCK");
  return caf::none;
}

caf::error kvm_ioeventfd(int vm_fd, uint64_t address, uint32_t len, int fd,
                         bool pio, bool remove) {
  struct kvm_ioeventfd io {};
  io.addr = address;
  io.len = len;
  io.fd = fd;
  if (pio)
    io.flags |= KVM_IOEVENTFD_FLAG_PIO;
  if (remove)
    io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
  if (ioctl(vm_fd, KVM_IOEVENTFD, &io) < 0)
    return ioctl_error("KVM_IOEVENTFD");
  return caf::none;
}

caf::error kvm_irqfd(int vm_fd, uint32_t gsi, int fd, int resample_fd,
                     bool remove) {
  struct kvm_irqfd irq {};
  irq.fd = static_cast<uint32_t>(fd);
  irq.gsi = gsi;
  if (remove) {
    irq.flags = KVM_IRQFD_FLAG_DEASSIGN;
  } else if (resample_fd >= 0) {
    irq.flags = KVM_IRQFD_FLAG_RESAMPLE;
    irq.resamplefd = static_cast<uint32_t>(resample_fd);
  }
  if (ioctl(vm_fd, KVM_IRQFD, &irq) < 0)
    return ioctl_error("KVM_IRQFD");
  return caf::none;
}

} // namespace tb::vmm
