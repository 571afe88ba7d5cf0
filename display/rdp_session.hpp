// One RDP client connection as a byte-in / byte-out state machine: feed it
// what the socket received, send what take_output() returns. No sockets,
// no threads; the server drives it from its loop.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "display/frame_source.hpp"
#include "display/input_sink.hpp"
#include "display/rdp/bitmap_update.hpp"
#include "display/rdp/capabilities.hpp"
#include "display/rdp/client_info.hpp"
#include "display/rdp/gcc.hpp"
#include "display/rdp/input_events.hpp"
#include "display/rdp/redirection.hpp"
#include "display/rdp/sec_layer.hpp"
#include "display/rdp/tls_layer.hpp"

namespace tb::display {

/// Set Error Info codes the server uses (MS-RDPBCGR 2.2.5.1.1).
enum class rdp_error_info : uint32_t {
  rpc_initiated_disconnect = 1,
  idle_timeout = 3,
  disconnected_by_other_connection = 5,
  server_denied_connection = 7,
};

/// Encoded bitmap update payloads of one rectangle, shareable between
/// sessions that use the same format.
using encoded_updates =
    std::shared_ptr<const std::vector<std::vector<uint8_t>>>;
/// Encodes (or finds already encoded) the updates for a rectangle.
using update_encoder =
    std::function<encoded_updates(const rect&, const rdp::bitmap_format&)>;

struct rdp_session_config {
  /// The server's RSA key for Standard RDP Security (required for it).
  std::shared_ptr<const rdp::rsa_server_key> key;
  /// Accept Standard RDP Security clients.
  bool allow_rdp_security = true;
  /// Accept Standard RDP Security clients that offer no RC4 method (rdesktop
  /// -e, FIPS-only): their logon and screen travel in clear text.
  bool allow_unencrypted = false;
  /// TLS (Enhanced RDP Security) when set: chosen for clients that ask.
  std::shared_ptr<const rdp::tls_context> tls;
  /// Largest bitmap update payload per PDU (at most 0x3E00: every PDU must
  /// stay below 0x4000 for rdesktop; at least 1024).
  size_t max_update_payload = 0x3E00;
  /// Decides on logon; empty = everyone is let in. Never log the password.
  std::function<bool(const rdp::client_info&)> authenticate;
  /// Deferred logon decision (takes precedence over authenticate): called
  /// with the logon data, password included; the session then waits, input
  /// buffered, until complete_authentication(). For checks that block
  /// (PAM) or need to see the other sessions.
  std::function<void(const rdp::client_info&)> authenticate_deferred;
  /// Client/DisableDisplay: the session never sends screen contents.
  bool display_disabled = false;
  /// Where bitmap updates come from; empty = encode from the frame source
  /// here. The server shares one encoding among its sessions.
  update_encoder encoder;
};

class rdp_session final {
public:
  rdp_session(rdp_session_config cfg, const frame_source& fb,
              input_sink& input);
  ~rdp_session();

  /// Bytes from the client. An error means the connection must close
  /// (after sending take_output(), which may hold a goodbye).
  caf::error feed(std::span<const uint8_t> bytes);

  /// Everything queued for the client since the last call.
  std::vector<uint8_t> take_output();
  size_t pending_output() const { return out_.size(); }

  /// True once the client finished the connection sequence.
  bool active() const { return state_ == state::active; }
  /// Whether updates go out as fast-path PDUs (the client's choice).
  bool fastpath_output() const { return caps_.fastpath_output(); }
  /// Whether the client chose TLS.
  bool uses_tls() const { return tls_ != nullptr; }
  /// True when the session said goodbye and the socket should close.
  bool finished() const { return state_ == state::closed; }

  /// Marks part of the frame buffer as changed.
  void add_damage(rect r);
  bool has_damage() const { return !damage_.empty() || !sending_.empty(); }
  /// Encodes pending damage until about budget bytes are queued.
  void encode_pending(size_t budget);

  /// True while a deferred logon decision is outstanding.
  bool authentication_pending() const {
    return state_ == state::wait_authentication;
  }
  /// The deferred decision: continues the connection sequence (and any
  /// input that arrived meanwhile) or refuses with `why`. An error means
  /// the connection must close.
  caf::error complete_authentication(
      bool allowed,
      rdp_error_info why = rdp_error_info::server_denied_connection);

  /// Sends Set Error Info + Disconnect Provider Ultimatum, then finishes.
  void disconnect(rdp_error_info why);

  /// Whether redirect() can move this client: active, REDIRECTION_SUPPORTED
  /// in its cluster data, and TLS or encrypted Standard RDP Security.
  bool can_redirect() const;
  /// Sends the Server Redirection PDU (rdp/redirection.hpp) and finishes;
  /// the client connects to `t.address` by itself. False (nothing sent)
  /// when can_redirect() is false.
  bool redirect(const rdp::redirection_target& t);

  /// The client's logon data (valid once active; password cleared).
  const rdp::client_info& client() const { return info_; }
  const rdp::client_data& client_core() const { return core_; }
  uint16_t bpp() const { return bpp_; }

  /// Counters for logs and measurements.
  struct stats {
    uint64_t frames = 0;      ///< damage snapshots sent completely
    uint64_t update_pdus = 0; ///< bitmap update PDUs
    uint64_t update_bytes = 0;
    uint32_t encrypted_out = 0;
    uint32_t decrypted_in = 0;
  };
  stats statistics() const;

private:
  enum class state {
    wait_connection_request,
    wait_connect_initial,
    wait_mcs, ///< erect domain, attach user, joins
    wait_security_exchange,
    wait_client_info,
    wait_authentication,
    wait_confirm_active,
    finalizing,
    active,
    closed,
  };

  caf::error process_input();
  void send_logon_reply(bool allowed, rdp_error_info why);
  caf::error handle_frame(std::span<const uint8_t> frame);
  caf::error handle_connection_request(std::span<const uint8_t> frame);
  caf::error handle_connect_initial(std::span<const uint8_t> mcs);
  caf::error handle_domain_pdu(std::span<const uint8_t> mcs);
  caf::error handle_io_data(std::span<const uint8_t> data);
  caf::error handle_security_exchange(const rdp::sec_pdu& p);
  caf::error handle_client_info(const rdp::sec_pdu& p);
  caf::error handle_share(std::span<const uint8_t> data);
  caf::error handle_data_pdu(uint8_t type2, std::span<const uint8_t> body);
  caf::error handle_fastpath(std::span<const uint8_t> frame);
  void activate();
  /// Deactivation-Reactivation (MS-RDPBCGR 1.3.1.3) for a new size.
  void reactivate();

  void send_mcs(uint16_t channel, std::span<const uint8_t> payload);
  void send_share(std::span<const uint8_t> pdu);
  void send_update(uint8_t fastpath_code, std::span<const uint8_t> payload);
  void send_default_pointer();

  rdp_session_config cfg_;
  const frame_source& fb_;
  input_sink& input_;
  state state_ = state::wait_connection_request;
  std::vector<uint8_t> in_;
  std::vector<uint8_t> out_;     ///< plaintext PDUs (TLS encrypts them)
  std::vector<uint8_t> raw_out_; ///< bytes that bypass TLS (the CC)
  std::unique_ptr<rdp::tls_stream> tls_;
  rdp::sec_layer sec_;
  rdp::client_data core_;
  rdp::client_info info_;
  rdp::client_caps caps_;
  rdp::pointer_state pointer_;
  uint32_t requested_protocols_ = 0;
  uint32_t encryption_method_ = 0;
  std::vector<uint8_t> server_random_;
  std::vector<uint16_t> channel_ids_;
  uint16_t user_channel_ = 0;
  bool encrypt_license_ = false;
  bool display_suppressed_ = false;
  uint16_t bpp_ = 16;
  uint16_t desktop_w_ = 0; ///< size the client was told (Demand Active)
  uint16_t desktop_h_ = 0;
  std::vector<rect> damage_; ///< merged since the frame being sent began
  /// The frame being sent: a snapshot of damage_, so damage that keeps
  /// coming (a full-screen animation) waits for the next frame instead of
  /// restarting this one from the top, which starved the bottom of the
  /// screen for a client slower than the animation.
  std::vector<rect> sending_;
  stats stats_;
};

} // namespace tb::display
