// Sockets for teleporting: the target's listener (TeleporterAddress and
// TeleporterPort, IPv4 and IPv6) and the source's connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace tb::cluster {

/// Listening sockets for one teleport target.
struct teleport_listener {
  std::vector<int> fds; ///< One per address family bound.
  uint16_t port = 0;    ///< The bound port (chosen by the OS for port 0).
};

/// Binds `address` ("" = every address, IPv4 and IPv6) on `port` (0 = any
/// free port). Errors name the address and port.
caf::expected<teleport_listener> listen_teleport(const std::string& address,
                                                 uint16_t port);

/// Waits up to `timeout` for one connection on any of the listener's
/// sockets; returns the connected socket (Nagle off).
caf::expected<int> accept_teleport(const teleport_listener& l,
                                   std::chrono::milliseconds timeout);

/// Connects to `host`:`port` (name or address), Nagle off.
caf::expected<int> connect_teleport(const std::string& host, uint16_t port,
                                    std::chrono::milliseconds timeout);

void close_listener(teleport_listener& l);

} // namespace tb::cluster
