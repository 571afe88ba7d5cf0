// Host virtualization detection: kvm_pvm module, vmx/svm CPU flags.
#include "vmm/host_check.hpp"

#include <cstring>

#include <cpuid.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace tb::vmm {

namespace {

bool exists(const char* path) {
  struct stat st {};
  return ::stat(path, &st) == 0;
}

/// CPU facts from the CPUID instruction: /proc/cpuinfo can take
/// milliseconds inside a VM (it samples every CPU's frequency).
void read_cpuid(host_info& h) {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 5)))
    h.hw_virt = true; // VMX
  if (__get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 2)))
    h.hw_virt = true; // SVM
  char name[49] = {};
  for (unsigned i = 0; i < 3; ++i) {
    if (!__get_cpuid(0x80000002 + i, &a, &b, &c, &d))
      return;
    unsigned regs[4] = {a, b, c, d};
    std::memcpy(name + i * 16, regs, 16);
  }
  h.cpu_model = name;
  while (!h.cpu_model.empty() && h.cpu_model.back() == ' ')
    h.cpu_model.pop_back();
}

} // namespace

host_info detect_host() {
  host_info h;
  h.kvm_device = exists("/dev/kvm");
  h.pvm = exists("/sys/module/kvm_pvm");
  read_cpuid(h);
  struct utsname u {};
  if (uname(&u) == 0)
    h.kernel = u.release;
  h.cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  return h;
}

std::string host_warning(const host_info& h) {
  if (!h.kvm_device)
    return "This host has no /dev/kvm: no guest can run. Load the kvm "
           "module (kvm_intel or kvm_amd) or pass /dev/kvm into the "
           "container.";
  if (h.pvm || !h.hw_virt)
    return std::string{"/dev/kvm on this host is "}
           + (h.pvm ? "PVM (kvm_pvm, software virtualization)"
                    : "not backed by vmx/svm hardware virtualization")
           + ": guest kernel-mode (CPL0) and real-mode code is emulated, "
             "about 1000x slower than native, and each exit costs ~9 us. "
             "Stock Linux guests cannot boot in useful time; tiny guests "
             "such as telebox's probe guest run.";
  return {};
}

} // namespace tb::vmm
