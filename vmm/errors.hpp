// Error codes of the VMM library (KVM, guest memory, boot loaders, machine
// assembly). Every error carries its full message as one string
// (actors/error_text.hpp).
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace tb::vmm {

enum class vmm_errc : uint8_t {
  kvm_unavailable = 1, ///< /dev/kvm missing, unusable or too old.
  kvm_failed,          ///< A KVM ioctl failed.
  out_of_memory,       ///< Guest RAM could not be allocated or mapped.
  bad_image,           ///< A kernel, initrd or ELF file is malformed.
  unsupported,         ///< A valid request telebox does not implement.
  bad_config,          ///< Machine settings are inconsistent or invalid.
  io_error,            ///< Reading a file or writing a log failed.
  bad_state,           ///< A request not legal in the current state.
};

std::string to_string(vmm_errc x);

/// Shorthand for caf::make_error(code, message).
caf::error make_vmm_error(vmm_errc code, std::string message);

/// Appends ": <strerror(errno)>" to `what` and wraps it as an error.
caf::error make_errno_error(vmm_errc code, const std::string& what, int err);

} // namespace tb::vmm

CAF_ERROR_CODE_ENUM(tb::vmm::vmm_errc, "vmm")
