// TPKT framing and X.224 Connection Request / Confirm / Data (MS-RDPBCGR
// 2.2.1.1, 2.2.1.2) with RDP security protocol negotiation.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace tb::display::rdp {

/// requestedProtocols / selectedProtocol bits.
enum protocol_bits : uint32_t {
  protocol_rdp = 0,
  protocol_ssl = 1,
  protocol_hybrid = 2,
  protocol_rdstls = 4,
  protocol_hybrid_ex = 8,
};

/// RDP_NEG_FAILURE codes (MS-RDPBCGR 2.2.1.2.2).
enum class neg_failure : uint32_t {
  ssl_required_by_server = 1,
  ssl_not_allowed_by_server = 2,
  ssl_cert_not_on_server = 3,
  inconsistent_flags = 4,
  hybrid_required_by_server = 5,
  ssl_with_user_auth_required_by_server = 6,
};

/// How big the next complete PDU at the start of buf is: 0 when more bytes
/// are needed, an error when the header is impossible. Handles TPKT (0x03)
/// and fast-path headers.
caf::expected<size_t> frame_length(std::span<const uint8_t> buf);

/// What a client put in its X.224 Connection Request.
struct connection_request {
  std::string cookie;       ///< "mstshash=..." value, if any.
  bool has_neg_req = false; ///< RDP_NEG_REQ present.
  uint8_t neg_flags = 0;
  uint32_t requested_protocols = 0;
};

/// Parses one whole TPKT carrying an X.224 Connection Request.
caf::expected<connection_request>
parse_connection_request(std::span<const uint8_t> tpkt);

/// The server's decision on a Connection Request.
struct negotiation_result {
  bool ok = true;
  uint32_t selected = protocol_rdp;
  neg_failure failure = neg_failure::ssl_not_allowed_by_server;
};

/// Chooses the protocol: SSL when the client asked for it (HYBRID alone is
/// refused, we have no NLA), RDP when allowed. tls_available says whether
/// the server can do TLS; rdp_allowed whether Standard RDP Security is on.
negotiation_result negotiate(const connection_request& cr, bool tls_available,
                             bool rdp_allowed);

/// A whole TPKT with the X.224 Connection Confirm for the decision; carries
/// RDP_NEG_RSP / RDP_NEG_FAILURE only when the client sent RDP_NEG_REQ.
std::vector<uint8_t> build_connection_confirm(const connection_request& cr,
                                              const negotiation_result& r);

/// Strips TPKT and the X.224 Data header (02 F0 80) of one whole PDU.
caf::expected<std::span<const uint8_t>>
parse_x224_data(std::span<const uint8_t> tpkt);

/// Prepends TPKT + X.224 Data headers to payload.
std::vector<uint8_t> wrap_x224_data(std::span<const uint8_t> payload);

} // namespace tb::display::rdp
