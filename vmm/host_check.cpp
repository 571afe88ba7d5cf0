// Host virtualization detection: kvm_pvm module, vmx/svm CPU flags.
#include "vmm/host_check.hpp"

#include <fstream>
#include <sstream>

#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace tb::vmm {

namespace {

bool exists(const char* path) {
  struct stat st {};
  return ::stat(path, &st) == 0;
}

void read_cpuinfo(host_info& h) {
  std::ifstream in{"/proc/cpuinfo"};
  std::string line;
  while (std::getline(in, line)) {
    if (h.cpu_model.empty() && line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos && colon + 2 <= line.size())
        h.cpu_model = line.substr(colon + 2);
    } else if (!h.hw_virt && line.rfind("flags", 0) == 0) {
      std::istringstream words{line};
      std::string w;
      while (words >> w)
        if (w == "vmx" || w == "svm")
          h.hw_virt = true;
    }
  }
}

} // namespace

host_info detect_host() {
  host_info h;
  h.kvm_device = exists("/dev/kvm");
  h.pvm = exists("/sys/module/kvm_pvm");
  read_cpuinfo(h);
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
