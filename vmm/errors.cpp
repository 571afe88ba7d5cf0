// Names of the VMM error codes.
#include "vmm/errors.hpp"

#include <cstring>

namespace tb::vmm {

std::string to_string(vmm_errc x) {
  switch (x) {
  case vmm_errc::kvm_unavailable:
    return "kvm_unavailable";
  case vmm_errc::kvm_failed:
    return "kvm_failed";
  case vmm_errc::out_of_memory:
    return "out_of_memory";
  case vmm_errc::bad_image:
    return "bad_image";
  case vmm_errc::unsupported:
    return "unsupported";
  case vmm_errc::bad_config:
    return "bad_config";
  case vmm_errc::io_error:
    return "io_error";
  case vmm_errc::bad_state:
    return "bad_state";
  }
  return "vmm_errc(" + std::to_string(static_cast<int>(x)) + ")";
}

caf::error make_vmm_error(vmm_errc code, std::string message) {
  return caf::make_error(code, std::move(message));
}

caf::error make_errno_error(vmm_errc code, const std::string& what, int err) {
  return caf::make_error(code, what + ": " + std::strerror(err));
}

} // namespace tb::vmm
