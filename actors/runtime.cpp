// Actor-system setup shared by every main and actor test.
#include "actors/runtime.hpp"

#include <caf/atom.hpp>
#include <caf/io/middleman.hpp>

#include "actors/messages/all.hpp"

namespace tb::actors {

void configure(caf::actor_system_config& cfg) {
  register_message_types(cfg);
  // A blocking caller talking to a scheduled actor takes ~100 us under the
  // default work-stealing policy and ~12 us with sharing (toolchain.md 3).
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", 2);
  cfg.load<caf::io::middleman>();
}

void configure_for_tests(caf::actor_system_config& cfg) {
  register_message_types(cfg);
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.load<caf::io::middleman>();
}

} // namespace tb::actors
