// KVM vCPU state helpers: CPUID, boot registers, capture and restore.
// Internal to the KVM engine (kvm_engine.cpp); includes no KVM headers.
#pragma once

#include <cstdint>
#include <vector>

#include <caf/expected.hpp>

#include "vmm/engine.hpp"

namespace tb::vmm {

/// MSR indices worth saving that this host's KVM knows.
struct kvm_msr_list_cache {
  std::vector<uint32_t> indices;
};

/// The saved-state format name of KVM blobs.
constexpr const char* kvm_state_format = "kvm-x86-1";

kvm_msr_list_cache kvm_saved_msrs(int kvm_fd);
caf::expected<std::vector<cpuid_entry>> kvm_supported_cpuid(int kvm_fd,
                                                            unsigned long req);
caf::error kvm_set_cpuid(int vcpu_fd, const std::vector<cpuid_entry>& leaves);
caf::error kvm_set_virtual_wire(int vcpu_fd);
caf::error kvm_set_boot_state(int vcpu_fd, const boot_cpu_state& st);
caf::expected<x86_regs> kvm_get_regs(int vcpu_fd);
caf::expected<vcpu_state> kvm_capture(int vcpu_fd, uint32_t index,
                                      const kvm_msr_list_cache& msrs);
caf::error kvm_restore(int vcpu_fd, const vcpu_state& st);

// VM-wide state and eventfd bindings (kvm_platform.cpp).
caf::expected<platform_state> kvm_capture_platform(int vm_fd);
caf::error kvm_restore_platform(int vm_fd, const platform_state& st);
caf::error kvm_ioeventfd(int vm_fd, uint64_t address, uint32_t len, int fd,
                         bool pio, bool remove);
caf::error kvm_irqfd(int vm_fd, uint32_t gsi, int fd, int resample_fd,
                     bool remove);

} // namespace tb::vmm
