// Creating empty media and reading what a medium file is, for the CLI
// (createmedium, closemedium, registration on attach).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <caf/expected.hpp>

#include "storage/uuid.hpp"

namespace tb::storage {

enum class medium_format { vdi, raw, iso };
enum class medium_variant { standard, fixed };

/// What a medium file says about itself.
struct medium_info {
  uuid id; ///< VDI: uuidCreate; raw/ISO: none (null).
  medium_format format = medium_format::raw;
  medium_variant variant = medium_variant::standard;
  uint64_t logical_size = 0; ///< Bytes the guest sees.
};

/// Reports progress in percent (0..100), called at most once per value.
using progress_fn = std::function<void(int percent)>;

/// Creates an empty image at `path` (which must not exist). A VDI gets a new
/// random UUID unless `id` is given. Fixed images are preallocated.
caf::expected<medium_info>
create_medium(const std::string& path, medium_format format,
              uint64_t size_bytes, medium_variant variant,
              const progress_fn& progress = {}, const uuid* id = nullptr);

/// Reads and validates the header of an existing image without locking it.
/// Files that are not VDI are raw (or ISO when `.iso`/ISO 9660 signature).
caf::expected<medium_info> probe_medium(const std::string& path);

} // namespace tb::storage
