// Spawning the storage actor of one medium (interface and usage in
// actors/messages/storage.hpp).
#pragma once

#include <cstddef>
#include <string>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/messages/storage.hpp"
#include "storage/medium_image.hpp"

namespace tb::storage {

/// Default I/O threads per medium. With host cache off (O_DIRECT) each
/// thread holds one request in the kernel, so the thread count caps the
/// device queue depth; 32 keeps depth 32 uncapped (figures in README.md).
constexpr size_t default_io_threads = 32;

/// Opens the medium at `path` (locking it when writable) and spawns its
/// actor with `io_threads` I/O threads. Open errors return here, before
/// any actor exists. The actor closes the medium when its last handle goes.
caf::expected<medium_actor>
spawn_medium(caf::actor_system& sys, const std::string& path,
             const open_options& options,
             size_t io_threads = default_io_threads);

/// Same, for a medium that is already open.
medium_actor spawn_medium(caf::actor_system& sys,
                          std::unique_ptr<medium_image> image, bool writable,
                          size_t io_threads = default_io_threads);

} // namespace tb::storage
