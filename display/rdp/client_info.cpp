#include "display/rdp/client_info.hpp"

#include "display/rdp/byte_io.hpp"
#include "display/rdp/errors.hpp"

namespace tb::display::rdp {

namespace {

constexpr uint32_t info_unicode = 0x10;

std::string read_string(byte_reader& r, uint16_t cb, bool unicode) {
  auto s = r.bytes(cb);
  r.skip(unicode ? 2 : 1); // mandatory terminator
  if (unicode)
    return utf16le_to_utf8(s);
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

} // namespace

std::optional<uint32_t> take_screen_suffix(std::string& domain) {
  auto at = domain.rfind('@');
  if (at == std::string::npos || at + 1 == domain.size()
      || domain.size() - at > 10)
    return std::nullopt;
  uint32_t n = 0;
  for (size_t i = at + 1; i < domain.size(); ++i) {
    if (domain[i] < '0' || domain[i] > '9')
      return std::nullopt;
    n = n * 10 + (domain[i] - '0');
  }
  domain.resize(at);
  return n == 0 ? 0 : n - 1;
}

caf::expected<client_info> parse_client_info(std::span<const uint8_t> data) {
  byte_reader r{data};
  client_info ci;
  ci.code_page = r.u32le();
  ci.flags = r.u32le();
  uint16_t cb_domain = r.u16le();
  uint16_t cb_user = r.u16le();
  uint16_t cb_password = r.u16le();
  uint16_t cb_shell = r.u16le();
  uint16_t cb_dir = r.u16le();
  bool uni = (ci.flags & info_unicode) != 0;
  ci.domain = read_string(r, cb_domain, uni);
  ci.user = read_string(r, cb_user, uni);
  ci.password = read_string(r, cb_password, uni);
  read_string(r, cb_shell, uni);
  read_string(r, cb_dir, uni);
  if (!r.ok())
    return make_rdp_error(rdp_errc::malformed_pdu,
                          "Client Info PDU: string lengths exceed the PDU");
  // Extended info: address family, address, client dir, time zone (172),
  // session id, performance flags. Old clients stop anywhere: be lenient.
  if (r.remaining() >= 4) {
    r.skip(2);
    uint16_t cb_addr = r.u16le();
    r.skip(cb_addr);
    uint16_t cb_cdir = r.u16le();
    r.skip(cb_cdir);
    r.skip(172 + 4);
    uint32_t perf = r.u32le();
    if (r.ok())
      ci.performance_flags = perf;
  }
  ci.screen = take_screen_suffix(ci.domain);
  return ci;
}

std::vector<uint8_t> build_license_valid_client() {
  byte_writer w;
  w.u8(0xFF);  // ERROR_ALERT
  w.u8(0x03);  // PREAMBLE_VERSION_3_0, no EXTENDED_ERROR_MSG_SUPPORTED
  w.u16le(16); // wMsgSize
  w.u32le(7);  // STATUS_VALID_CLIENT
  w.u32le(2);  // ST_NO_TRANSITION
  w.u16le(4);  // BB_ERROR_BLOB
  w.u16le(0);
  return std::move(w.buffer());
}

} // namespace tb::display::rdp
