// How a client process (the CLI, a VM process) reaches the host service.
#pragma once

#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "actors/messages/host.hpp"

namespace tb::cluster {

/// Whether to start teleboxd when none answers for the folder.
enum class autostart { no, yes };

/// Connects to the host service of the global `folder` and authenticates
/// with the secret from its endpoint file. With autostart::yes a missing
/// service is started (teleboxd beside this executable, or
/// $TELEBOX_TELEBOXD) and waited for up to 10 s.
caf::expected<host::api_actor> connect_host_service(caf::actor_system& sys,
                                                    const std::string& folder,
                                                    autostart mode);

/// Directory of the running executable (for finding sibling binaries).
std::string executable_dir();

} // namespace tb::cluster
