// Helpers shared by the KVM engine's files: ioctl errors and the native
// structures kept as byte blobs in saved state. Internal to vmm/.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "vmm/errors.hpp"

namespace tb::vmm::kvm_detail {

inline caf::error ioctl_error(const char* what) {
  return make_errno_error(vmm_errc::kvm_failed, what, errno);
}

template <class T> std::vector<uint8_t> to_blob(const T& x) {
  std::vector<uint8_t> out(sizeof(T));
  std::memcpy(out.data(), &x, sizeof(T));
  return out;
}

/// False when the blob was made by a KVM with another layout of T.
template <class T> bool from_blob(const std::vector<uint8_t>& blob, T& x) {
  if (blob.size() != sizeof(T))
    return false;
  std::memcpy(&x, blob.data(), sizeof(T));
  return true;
}

} // namespace tb::vmm::kvm_detail
