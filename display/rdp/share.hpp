// Share Control / Share Data headers and the small finalization and
// control PDUs (MS-RDPBCGR 2.2.8.1.1.1, 2.2.1.14 - 2.2.1.22, 2.2.5.1).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <caf/expected.hpp>

namespace tb::display::rdp {

constexpr uint32_t share_id = 0x000103EA;
constexpr uint16_t server_channel_source = 0x03EA;

enum class pdu_type : uint8_t {
  demand_active = 0x1,
  confirm_active = 0x3,
  deactivate_all = 0x6,
  data = 0x7,
  server_redirection = 0xA,
};

enum class pdu_type2 : uint8_t {
  update = 0x02,
  control = 0x14,
  pointer = 0x1B,
  input = 0x1C,
  synchronize = 0x1F,
  refresh_rect = 0x21,
  suppress_output = 0x23,
  shutdown_request = 0x24,
  shutdown_denied = 0x25,
  font_list = 0x27,
  font_map = 0x28,
  persistent_key_list = 0x2B,
  set_error_info = 0x2F,
  frame_acknowledge = 0x38,
};

/// A client Share Control PDU: type and, for data PDUs, pduType2 + body.
struct share_pdu {
  pdu_type type{};
  pdu_type2 type2{};
  std::span<const uint8_t> body; ///< after the (data) header
};

/// Parses one Share Control PDU at the start of data; consumed says how
/// many bytes it used (clients may pack several into one payload).
caf::expected<share_pdu> parse_share_pdu(std::span<const uint8_t> data,
                                         size_t& consumed);

/// Share Control header + body.
std::vector<uint8_t> build_share_control(pdu_type type, uint16_t source,
                                         std::span<const uint8_t> body);
/// Share Control + Share Data headers + body.
std::vector<uint8_t> build_share_data(pdu_type2 type2, uint16_t source,
                                      std::span<const uint8_t> body);

std::vector<uint8_t> build_synchronize(uint16_t user_channel);
/// Control PDU: action 4 cooperate, 2 granted control.
std::vector<uint8_t> build_control(uint16_t action, uint16_t grant_id,
                                   uint32_t control_id);
std::vector<uint8_t> build_font_map();
std::vector<uint8_t> build_set_error_info(uint32_t code);

} // namespace tb::display::rdp
