// The VM process's remote display: one call starts an RDP server over the
// guest's frame buffer with VirtualBox's VRDE rules (authentication,
// multi-connection, "@N" screens, Client/Disable*), and the object it
// returns answers `controlvm vrde|vrdeport|vrdeproperty` and showvminfo.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "display/frame_tracker.hpp"
#include "display/input_router.hpp"
#include "display/vrde_config.hpp"

namespace tb::display {

/// One logged-on client (showvminfo's VRDE* runtime keys).
struct vrde_connection {
  std::string user;
  std::string domain;
  std::string client_ip;  ///< without the port
  std::string encryption; ///< "RDP4" (Standard RDP Security) | "RDP5 (X.509)"
};

/// What redirect_clients did.
struct vrde_redirect_result {
  size_t redirected = 0;   ///< sent a Server Redirection PDU
  size_t disconnected = 0; ///< could not follow; disconnected
};

class vrde_server {
public:
  using log_fn = std::function<void(const std::string&)>;
  struct impl;

  ~vrde_server();
  vrde_server(const vrde_server&) = delete;
  vrde_server& operator=(const vrde_server&) = delete;

  /// IVRDEServerInfo::port: -1 not running (disabled), 0 failed to start,
  /// else the bound port.
  int port() const;
  /// What VBoxHeadless prints for port(): "VRDE server is listening on port
  /// N." | "VRDE server failed to start." | "VRDE server is inactive."
  std::string status_line() const;

  /// `controlvm vrde on|off`: starts or stops listening (off disconnects
  /// every client). Errors name the reason; the port is 0 then.
  caf::error set_enabled(bool on);
  /// `controlvm vrdeport` / `vrdeproperty` / changed auth settings: the
  /// server restarts with `cfg` when enabled (clients are disconnected, as
  /// VirtualBox does on a port change).
  caf::error reconfigure(vrde_config cfg);
  /// Shortcut for reconfigure with other TCP/Ports.
  caf::error set_ports(const std::string& ports);
  vrde_config config() const;

  /// Logged-on clients, oldest first. Thread-safe.
  std::vector<vrde_connection> connections() const;

  /// After a teleport: tells every connected client that supports it to
  /// reconnect to `host` (MS-RDPBCGR Server Redirection PDU, see
  /// display/rdp/redirection.hpp for what FreeRDP does with it) under its
  /// own user and domain ("@N" kept), and disconnects the rest cleanly.
  /// The PDU cannot carry a port: clients dial the port they used before,
  /// so when `port` (the target's VRDE port; 0 = same) differs from
  /// port(), nobody could follow and everyone is disconnected instead.
  /// Fails, doing nothing, for an empty host or one longer than the 39
  /// characters FreeRDP accepts. The server keeps listening. Returns once
  /// the clients have closed their connections (at most 5 s): stopping the
  /// server or exiting earlier could reset a connection before its client
  /// read the PDU.
  caf::expected<vrde_redirect_result> redirect_clients(const std::string& host,
                                                       uint16_t port);

  /// Disconnects everyone, stops listening and ends the server's threads;
  /// final (the destructor does it too).
  void stop();

private:
  friend caf::expected<std::unique_ptr<vrde_server>>
  start_vrde(vrde_config, tracked_frame_source&, vm_input&, log_fn);
  explicit vrde_server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// Starts the VRDE server. `fb` and `input` must outlive it. With
/// cfg.enabled false the server object exists but does not listen
/// (port() == -1) until set_enabled(true). Fails, naming the cause, for
/// guest authentication (only when enabled), an unusable certificate, or
/// no free port in cfg.ports (print status line "VRDE server failed to
/// start." then, as VBoxHeadless does). `log` receives connection and AUTH
/// lines (never a password) from the server's threads.
caf::expected<std::unique_ptr<vrde_server>> start_vrde(vrde_config cfg,
                                                       tracked_frame_source& fb,
                                                       vm_input& input,
                                                       vrde_server::log_fn log);

} // namespace tb::display
