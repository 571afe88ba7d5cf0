// Every telebox message header, and the one call that registers them all.
#pragma once

#include <caf/actor_system_config.hpp>

#include "actors/messages/host.hpp"
#include "actors/messages/storage.hpp"
#include "actors/messages/vmm.hpp"

namespace tb::actors {

/// Registers every type ID block (and error category) with `cfg`.
inline void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::telebox_host>();
  cfg.add_message_types<caf::id_block::telebox_vmm>();
  cfg.add_message_types<caf::id_block::telebox_storage>();
}

} // namespace tb::actors
