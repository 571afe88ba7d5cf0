// Names and constructors for storage errors.
#include "storage/errors.hpp"

#include <cstring>

namespace tb::storage {

std::string to_string(storage_errc x) {
  switch (x) {
  case storage_errc::bad_image:
    return "bad_image";
  case storage_errc::io_error:
    return "io_error";
  case storage_errc::locked:
    return "locked";
  case storage_errc::unsupported:
    return "unsupported";
  case storage_errc::invalid_argument:
    return "invalid_argument";
  case storage_errc::out_of_range:
    return "out_of_range";
  case storage_errc::exists:
    return "exists";
  case storage_errc::read_only:
    return "read_only";
  }
  return "storage_errc(" + std::to_string(static_cast<int>(x)) + ")";
}

caf::error make_storage_error(storage_errc code, std::string message) {
  return caf::make_error(code, std::move(message));
}

caf::error make_io_error(const std::string& what, int err) {
  return make_storage_error(storage_errc::io_error,
                            what + ": " + std::strerror(err));
}

} // namespace tb::storage
