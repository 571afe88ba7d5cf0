// T.125 MCS: BER Connect-Initial / Connect-Response and the PER domain PDUs
// RDP uses (MS-RDPBCGR 2.2.1.3 - 2.2.1.9, 2.2.8.1.1.1).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <caf/expected.hpp>

namespace tb::display::rdp {

constexpr uint16_t mcs_base_channel = 1001;
constexpr uint16_t mcs_io_channel = 1003;

/// The GCC user data carried by a Connect-Initial.
caf::expected<std::span<const uint8_t>>
parse_connect_initial(std::span<const uint8_t> mcs);

/// A Connect-Response wrapping the GCC Conference Create Response bytes.
std::vector<uint8_t> build_connect_response(std::span<const uint8_t> gcc);

/// DomainMCSPDU choices (first byte >> 2).
enum class mcs_pdu : uint8_t {
  erect_domain_request = 1,
  disconnect_provider_ultimatum = 8,
  attach_user_request = 10,
  attach_user_confirm = 11,
  channel_join_request = 14,
  channel_join_confirm = 15,
  send_data_request = 25,
  send_data_indication = 26,
};

/// One parsed domain PDU from the client.
struct mcs_domain_pdu {
  mcs_pdu type{};
  uint16_t initiator = 0;        ///< user id + 1001 (join, send data)
  uint16_t channel_id = 0;       ///< join, send data
  uint8_t reason = 0;            ///< disconnect provider ultimatum
  std::span<const uint8_t> data; ///< send data request payload
};

caf::expected<mcs_domain_pdu> parse_domain_pdu(std::span<const uint8_t> mcs);

std::vector<uint8_t> build_attach_user_confirm(uint16_t user_channel);
std::vector<uint8_t> build_channel_join_confirm(uint16_t user_channel,
                                                uint16_t channel, bool ok);
/// Send Data Indication header + payload; payload must stay below 0x4000.
std::vector<uint8_t> build_send_data_indication(uint16_t user_channel,
                                                uint16_t channel,
                                                std::span<const uint8_t> data);
/// Disconnect Provider Ultimatum, reason rn-user-requested by default.
std::vector<uint8_t> build_disconnect_ultimatum(uint8_t reason = 3);

} // namespace tb::display::rdp
