// Error codes of the storage library. Every error carries its full message as
// one string (see actors/error_text.hpp).
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace tb::storage {

enum class storage_errc : uint8_t {
  bad_image = 1,    ///< Not a valid image: signature, header, map, size.
  io_error,         ///< A system call on the image failed.
  locked,           ///< Another process holds the medium read-write.
  unsupported,      ///< A valid image using a feature telebox lacks.
  invalid_argument, ///< A request or option value is malformed.
  out_of_range,     ///< An access beyond the end of the medium.
  exists,           ///< The target file already exists.
  read_only,        ///< A write to a medium opened read-only.
};

std::string to_string(storage_errc x);

/// Makes an error whose context is the single string `message`.
caf::error make_storage_error(storage_errc code, std::string message);

/// "<what>: <strerror(err)>" as an io_error.
caf::error make_io_error(const std::string& what, int err);

} // namespace tb::storage

CAF_ERROR_CODE_ENUM(tb::storage::storage_errc, "storage")
