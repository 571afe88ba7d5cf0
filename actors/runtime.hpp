// One actor-system setup for every telebox main and actor test.
#pragma once

#include <caf/actor_system_config.hpp>

namespace tb::actors {

/// Actor system configuration with every telebox message type registered
/// and the middleman loaded. Call before constructing a `caf::actor_system`.
void configure(caf::actor_system_config& cfg);

/// Same as configure(), and selects CAF's deterministic test scheduler.
void configure_for_tests(caf::actor_system_config& cfg);

} // namespace tb::actors
