// Turns a caf::error into the sentence a user should read.
#pragma once

#include <string>

#include <caf/error.hpp>
#include <caf/message.hpp>

namespace tb {

/// Errors in telebox carry their full, human-readable message as a single
/// string context ("VDI header of disk.vdi: block size 3000 is not a power of
/// two"); this returns it, or CAF's rendering for foreign errors.
inline std::string error_text(const caf::error& e) {
  if (!e)
    return "no error";
  const auto& ctx = e.context();
  if (ctx.match_elements<std::string>())
    return ctx.get_as<std::string>(0);
  return caf::to_string(e);
}

} // namespace tb
