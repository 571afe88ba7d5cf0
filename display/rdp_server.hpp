// The RDP server: listens through net/, runs one rdp_session per client on
// the event loop, and feeds each session the frame buffer's damage at that
// client's own pace (a session encodes only while its socket keeps up, and
// its damage merges meanwhile, so a slow client never holds up others).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "display/frame_source.hpp"
#include "display/input_sink.hpp"
#include "net/tcp.hpp"

namespace tb::display {

namespace rdp {
struct client_info;
class tls_context;
struct redirection_target;
} // namespace rdp

enum class rdp_error_info : uint32_t; // rdp_session.hpp

/// One connected client, for status displays.
struct rdp_session_summary {
  uint64_t id = 0;
  std::string peer; ///< "address:port"
  std::string user;
  std::string domain;
  bool tls = false;
  bool active = false; ///< finished the connection sequence
};

struct rdp_server_config {
  net::listen_spec listen;
  bool allow_rdp_security = true;
  /// Let clients without encryption in (see rdp_session_config).
  bool allow_unencrypted = false;
  /// Offer TLS (a self-signed certificate is generated at start unless
  /// tls_context is given).
  bool enable_tls = true;
  std::shared_ptr<const rdp::tls_context> tls_context;
  /// Logon decision; empty = everyone. Never log the password.
  std::function<bool(const rdp::client_info&)> authenticate;
  /// Deferred logon decision (see rdp_session_config): runs on the loop
  /// thread with the client's id and peer; answer with
  /// rdp_server::complete_authentication. Takes precedence over
  /// authenticate.
  std::function<void(uint64_t id, const std::string& peer,
                     const rdp::client_info&)>
      authenticate_deferred;
  /// A client's connection ended (loop thread).
  std::function<void(uint64_t id)> on_disconnect;
  /// Client/DisableDisplay: no screen contents are sent.
  bool display_disabled = false;
  /// Asked for damage before every flush (loop thread); optional.
  std::function<std::vector<rect>()> collect_damage;
  /// Connection events for the log (never credentials).
  std::function<void(const std::string&)> log;
  /// How often damage is collected, encoded and sent: the wait before a
  /// guest's write starts to be encoded is up to this (5 ms: write to the
  /// last byte of a full 1024x768 frame p50 10-16 ms for 1-16 clients,
  /// against 17-20 ms at 15 ms; bench/rdp.sh).
  std::chrono::milliseconds flush_period{5};
  /// Largest bitmap update payload per PDU (see rdp_session_config).
  size_t max_update_payload = 0x3E00;
  /// At most this many update bytes are encoded per client per pump.
  size_t encode_slice_bytes = 64 * 1024;
  /// A client with more unsent bytes than this gets no new updates.
  size_t max_queued_bytes = 256 * 1024;
};

class rdp_server {
public:
  virtual ~rdp_server() = default;

  /// Starts listening; the loop must outlive the server. Generates the
  /// server's RSA key.
  static caf::expected<std::shared_ptr<rdp_server>>
  start(net::event_loop& loop, rdp_server_config cfg, const frame_source& fb,
        input_sink& input);

  virtual uint16_t port() const = 0;
  /// Marks a frame buffer area changed. Thread-safe.
  virtual void notify_damage(rect r) = 0;
  virtual size_t session_count() const = 0;
  /// The connected clients. Thread-safe.
  virtual std::vector<rdp_session_summary> sessions() const = 0;
  /// Answers a deferred logon. Thread-safe; ignored for a gone client.
  virtual void complete_authentication(uint64_t id, bool allowed,
                                       rdp_error_info why) = 0;
  /// Disconnects one client with `why`. Thread-safe.
  virtual void disconnect(uint64_t id, rdp_error_info why) = 0;
  /// Sends every client that can follow it (rdp_session::can_redirect) a
  /// Server Redirection PDU to `target`, with that client's own user and
  /// domain filled in when `target` has none, and disconnects the others
  /// with `why` (everyone when target.address is empty). Thread-safe;
  /// returns {redirected, disconnected}.
  virtual std::pair<size_t, size_t>
  redirect_all(const rdp::redirection_target& target, rdp_error_info why) = 0;
  /// Disconnects every client and stops listening.
  virtual void stop() = 0;
};

} // namespace tb::display
