// The Server Redirection PDU (MS-RDPBCGR 2.2.13.1
// RDP_SERVER_REDIRECTION_PACKET, 2.2.13.2.1 Standard Security and 2.2.13.3.1
// Enhanced Security carriers): tells a connected client to disconnect and
// connect to another server.
//
// What the stock clients do with it (FreeRDP 2.11 libfreerdp/core/
// redirection.c and connection.c rdp_client_redirect, read for this):
// * The client must have set REDIRECTION_SUPPORTED in its CS_CLUSTER block
//   (FreeRDP and rdesktop always do, version 4).
// * FreeRDP accepts it in the active phase, on the I/O channel: under TLS
//   as a Share Control PDU of type 0xA (2 pad bytes, the packet, 1 optional
//   pad byte); under Standard RDP Security as a security header with
//   SEC_REDIRECTION_PKT | SEC_ENCRYPT, MAC and the encrypted packet (no
//   Share Control header). It disconnects, then connects again.
// * TARGET_NET_ADDRESS (UTF-16, at most 80 bytes with the NUL) becomes the
//   new host name. The PORT IS NOT CARRIED: FreeRDP dials the port it used
//   before (ServerPort is kept; "host:port" is not parsed and fails to
//   resolve), and so does rdesktop. The target must listen on that port.
// * With LOAD_BALANCE_INFO FreeRDP ignores the address and reconnects to
//   the SAME host presenting the blob as routing token: not sent here.
// * USERNAME / DOMAIN replace the client's; without PASSWORD it logs on
//   with the password it already has (a PASSWORD blob would be sent in the
//   next Client Info instead, e.g. as a one-time cookie).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tb::display::rdp {

/// redirFlags (MS-RDPBCGR 2.2.13.1).
enum redirection_flags : uint32_t {
  lb_target_net_address = 0x1,
  lb_load_balance_info = 0x2,
  lb_username = 0x4,
  lb_domain = 0x8,
  lb_password = 0x10,
  lb_noredirect = 0x80,
  lb_target_fqdn = 0x100,
};

/// CS_CLUSTER flags: the client follows Server Redirection PDUs.
constexpr uint32_t cluster_redirection_supported = 0x1;

/// Longest TARGET_NET_ADDRESS FreeRDP accepts, in UTF-16 code units
/// without the terminating NUL (80 bytes with it).
constexpr size_t max_target_address_units = 39;

struct redirection_target {
  std::string address;           ///< IP or host name (TARGET_NET_ADDRESS)
  std::string username;          ///< empty: not sent
  std::string domain;            ///< empty: not sent (keep "@N" by sending it)
  std::vector<uint8_t> password; ///< opaque cookie; empty: not sent
  uint32_t session_id = 0;
};

/// The UTF-16LE form of a UTF-8 string with a terminating NUL (what the
/// packet's string fields hold). Invalid UTF-8 bytes become U+FFFD.
std::vector<uint8_t> utf16le_z(const std::string& utf8);

/// RDP_SERVER_REDIRECTION_PACKET: flags SEC_REDIRECTION_PKT, length,
/// session id, redirFlags, the present fields in the specified order and
/// the 8 pad bytes.
std::vector<uint8_t> build_redirection_packet(const redirection_target& t);

/// The Enhanced Security (TLS) form: Share Control header of type
/// server redirection, pad2Octets, the packet, pad1Octet.
std::vector<uint8_t> build_enhanced_redirection_pdu(const redirection_target& t,
                                                    uint16_t source);

} // namespace tb::display::rdp
