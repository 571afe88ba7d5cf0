// What kind of virtualization this host offers, and what that means for
// guests (kvm-vmm.md section 0: PVM is software virtualization).
#pragma once

#include <string>

namespace tb::vmm {

/// Facts about the host read from /proc and /sys.
struct host_info {
  bool kvm_device = false; ///< /dev/kvm exists.
  bool pvm = false;        ///< /dev/kvm is provided by kvm_pvm.
  bool hw_virt = false;    ///< The CPU advertises vmx or svm.
  std::string cpu_model;   ///< CPUID brand string.
  std::string kernel;      ///< uname release.
  int cpus = 0;            ///< Online host CPUs.
};

/// Reads the host facts (cheap: a few small files).
host_info detect_host();

/// A warning for hosts where guests are slow or cannot run; empty when the
/// host has hardware virtualization.
std::string host_warning(const host_info& h);

} // namespace tb::vmm
