// Error codes of the RDP protocol layers and session.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace tb::display::rdp {

enum class rdp_errc : uint8_t {
  malformed_pdu = 1,  ///< A PDU is truncated or has an impossible field.
  unsupported,        ///< A valid request for something we do not offer.
  negotiation_failed, ///< Security protocol negotiation refused.
  crypto_failed,      ///< Key generation, decryption or a MAC check failed.
  protocol_violation, ///< A valid PDU arrived in the wrong state.
  access_denied,      ///< Authentication refused the client.
};

std::string to_string(rdp_errc x);

/// A caf::error of category "rdp" carrying the whole message.
caf::error make_rdp_error(rdp_errc code, std::string msg);

} // namespace tb::display::rdp

CAF_ERROR_CODE_ENUM(tb::display::rdp::rdp_errc, "rdp")
