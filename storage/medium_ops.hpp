// The medium commands users reach for, as library calls the CLI wires to
// VBoxManage's verbs: convertfromraw, clonemedium, modifymedium --resize and
// showmediuminfo. None of them needs an actor system.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "storage/medium_create.hpp"

namespace tb::storage {

/// Copies the medium at `src` (VDI, raw or ISO) into a new file `dst` (which
/// must not exist) in `format` and `variant`. Unallocated and all-zero
/// ranges stay unallocated in a dynamic VDI and sparse in raw output. The
/// copy gets `id`, or a fresh UUID when null (VBox gives clones new UUIDs).
/// The source is held with a shared lock, so a running VM cannot write it
/// meanwhile. On failure `dst` is removed. Serves
/// `convertfromraw <raw> <vdi> [--format VDI|RAW] [--variant Standard|Fixed]
/// [--uuid U]` and `clonemedium <src> <dst> [--format VDI|RAW]
/// [--variant ...]`. The result is flushed (fdatasync) before returning
/// unless `durable` is false, which matches `qemu-img convert`'s default
/// cache=unsafe and is only meant for benchmarks and scratch copies.
caf::expected<medium_info>
convert_medium(const std::string& src, const std::string& dst,
               medium_format format, medium_variant variant,
               const progress_fn& progress = {}, const uuid* id = nullptr,
               bool durable = true);

/// Grows the medium at `path` to `new_size` bytes (`modifymedium <m>
/// --resize <MiB>` passes MiB * 1048576). Shrinking is refused, as VBox
/// does for VDI. Takes the exclusive lock for the duration.
caf::error resize_medium(const std::string& path, uint64_t new_size,
                         const progress_fn& progress = {});

/// `showmediuminfo <path>` text in VBoxManage's layout (labels padded to 16
/// columns): UUID, Parent UUID, State, Type, Location, Storage format,
/// Format variant, Capacity, Size on disk, Encryption. Raw and ISO media
/// have no UUID of their own; pass the registry's in `id` if there is one.
caf::expected<std::string> describe_medium(const std::string& path,
                                           const uuid* id = nullptr);

/// A progress_fn that appends VBoxManage's progress line to `out`:
/// "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n".
/// Steps that were skipped are filled in, so the line is always complete
/// once 100 is reported. `out` must outlive the returned function.
progress_fn vbox_progress_line(std::string& out);

/// "VDI", "RAW" or "ISO" (case-insensitive parse of --format values).
bool parse_medium_format(const std::string& text, medium_format& out);

/// "Standard" or "Fixed" (comma lists as VBox accepts: "Standard,Fixed" is
/// an error; unknown words are an error naming them).
caf::expected<medium_variant> parse_medium_variant(const std::string& text);

} // namespace tb::storage
