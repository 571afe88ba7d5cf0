// Type ID ranges of telebox's CAF message vocabulary.
//
// Every subsystem owns one CAF type ID block, declared in
// actors/messages/<subsystem>.hpp. Blocks are append-only: hosts that talk to
// each other (CLI and host service, teleport source and target) must agree on
// every ID, so a new type goes at the end of its block, never in the middle.
#pragma once

#include <caf/type_id.hpp>

namespace tb::actors {

constexpr caf::type_id_t host_block_first = caf::first_custom_type_id;
constexpr caf::type_id_t vmm_block_first = caf::first_custom_type_id + 100;
constexpr caf::type_id_t storage_block_first = caf::first_custom_type_id + 200;
constexpr caf::type_id_t display_block_first = caf::first_custom_type_id + 300;
constexpr caf::type_id_t cluster_block_first = caf::first_custom_type_id + 400;

} // namespace tb::actors
