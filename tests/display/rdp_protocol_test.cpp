// Protocol layers in isolation: bytes in, bytes out.
#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "display/rdp/byte_io.hpp"
#include "display/rdp/client_info.hpp"
#include "display/rdp/errors.hpp"
#include "display/rdp/gcc.hpp"
#include "display/rdp/mcs.hpp"
#include "display/rdp/x224.hpp"

using namespace tb::display::rdp;

namespace {

std::vector<uint8_t> bytes(std::initializer_list<int> l) {
  std::vector<uint8_t> v;
  for (int b : l)
    v.push_back(static_cast<uint8_t>(b));
  return v;
}

std::vector<uint8_t> make_cr(std::string cookie, bool neg, uint32_t protocols) {
  byte_writer w;
  w.u8(3);
  w.u8(0);
  w.u16be(0);
  w.u8(0);
  w.u8(0xE0);
  w.u16be(0);
  w.u16be(0);
  w.u8(0);
  if (!cookie.empty()) {
    std::string c = "Cookie: mstshash=" + cookie + "\r\n";
    w.bytes(c.data(), c.size());
  }
  if (neg) {
    w.u8(1);
    w.u8(0);
    w.u16le(8);
    w.u32le(protocols);
  }
  w.patch_u16be(2, static_cast<uint16_t>(w.size()));
  w.buffer()[4] = static_cast<uint8_t>(w.size() - 5);
  return w.buffer();
}

} // namespace

TEST(byte_reader, stops_at_the_end_and_reports_it) {
  auto b = bytes({1, 2, 3});
  byte_reader r{b};
  EXPECT_EQ(r.u16le(), 0x0201);
  EXPECT_EQ(r.u16le(), 0); // only one byte left
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_TRUE(r.bytes(1).empty());
}

TEST(x224, frame_length_covers_tpkt_and_fastpath) {
  EXPECT_EQ(*frame_length(bytes({3, 0, 0})), 0u); // need more
  EXPECT_EQ(*frame_length(bytes({3, 0, 0x01, 0x2C})), 300u);
  EXPECT_EQ(*frame_length(bytes({0x44, 0x09})), 9u);
  EXPECT_EQ(*frame_length(bytes({0x44, 0x81, 0x00})), 256u);
  EXPECT_FALSE(frame_length(bytes({3, 0, 0, 2}))); // shorter than headers
  EXPECT_FALSE(frame_length(bytes({0x45, 0x09}))); // action bits not 0
}

TEST(x224, xfreerdp_sec_rdp_request_gets_a_plain_confirm) {
  // xfreerdp /sec:rdp: cookie, no RDP_NEG_REQ (toolchain.md 6: 34 bytes).
  auto cr = make_cr("test", false, 0);
  ASSERT_EQ(cr.size(), 34u);
  auto p = parse_connection_request(cr);
  ASSERT_TRUE(p) << tb::error_text(p.error());
  EXPECT_EQ(p->cookie, "mstshash=test");
  EXPECT_FALSE(p->has_neg_req);
  auto res = negotiate(*p, false, true);
  EXPECT_TRUE(res.ok);
  EXPECT_EQ(build_connection_confirm(*p, res),
            bytes({3, 0, 0, 11, 6, 0xD0, 0, 0, 0x12, 0x34, 0}));
}

TEST(x224, tls_and_nla_requests_without_tls_get_ssl_not_allowed) {
  for (uint32_t req : {0x3u, 0x1u, 0x2u, 0xBu}) {
    auto cr = make_cr("test", true, req);
    auto p = parse_connection_request(cr);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->requested_protocols, req);
    auto res = negotiate(*p, false, true);
    EXPECT_FALSE(res.ok);
    auto cc = build_connection_confirm(*p, res);
    // RDP_NEG_FAILURE, SSL_NOT_ALLOWED_BY_SERVER (MS-RDPBCGR 2.2.1.2.2)
    EXPECT_EQ(std::vector<uint8_t>(cc.begin() + 11, cc.end()),
              bytes({3, 0, 8, 0, 2, 0, 0, 0}));
  }
}

TEST(x224, nla_only_with_tls_available_gets_ssl_required) {
  auto p = parse_connection_request(make_cr("", true, 0x2));
  ASSERT_TRUE(p);
  auto res = negotiate(*p, true, true);
  EXPECT_FALSE(res.ok);
  EXPECT_EQ(res.failure, neg_failure::ssl_required_by_server);
  auto ok =
      negotiate(*parse_connection_request(make_cr("", true, 3)), true, true);
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.selected, uint32_t{protocol_ssl});
}

TEST(x224, rejects_truncated_and_inconsistent_requests) {
  auto cr = make_cr("test", true, 3);
  cr[4] = 0x50; // length indicator beyond the TPKT
  EXPECT_FALSE(parse_connection_request(cr));
  auto cr2 = make_cr("", false, 0);
  cr2[5] = 0xF0; // a data TPDU, not a CR
  auto p = parse_connection_request(cr2);
  ASSERT_FALSE(p);
  EXPECT_NE(tb::error_text(p.error()).find("Connection Request"),
            std::string::npos);
}

TEST(mcs, domain_pdus_round_trip) {
  EXPECT_EQ(build_attach_user_confirm(1007), bytes({0x2E, 0, 0, 6}));
  EXPECT_EQ(build_channel_join_confirm(1007, 1003, true),
            bytes({0x3E, 0, 0, 6, 0x03, 0xEB, 0x03, 0xEB}));
  EXPECT_EQ(build_disconnect_ultimatum(), bytes({0x21, 0x80}));
  auto join = parse_domain_pdu(bytes({0x38, 0, 6, 0x03, 0xEB}));
  ASSERT_TRUE(join);
  EXPECT_EQ(join->type, mcs_pdu::channel_join_request);
  EXPECT_EQ(join->initiator, 1007);
  EXPECT_EQ(join->channel_id, 1003);
  auto sdi = build_send_data_indication(1007, 1003, bytes({9, 9}));
  EXPECT_EQ(sdi, bytes({0x68, 0, 6, 0x03, 0xEB, 0x70, 2, 9, 9}));
  // A Send Data Request whose length field overruns is refused.
  EXPECT_FALSE(parse_domain_pdu(bytes({0x64, 0, 6, 3, 0xEB, 0x70, 5, 1})));
  EXPECT_FALSE(parse_domain_pdu(bytes({})));
}

TEST(mcs, connect_response_is_ber_with_the_gcc_payload) {
  auto gcc = std::vector<uint8_t>(300, 0xAB);
  auto r = build_connect_response(gcc);
  ASSERT_GE(r.size(), 4u);
  EXPECT_EQ(r[0], 0x7F);
  EXPECT_EQ(r[1], 0x66);
  EXPECT_EQ(r[2], 0x82);
  EXPECT_EQ(size_t{r[3]} * 256 + r[4], r.size() - 5);
  EXPECT_TRUE(std::equal(gcc.begin(), gcc.end(), r.end() - 300));
}

TEST(client_info, at_n_suffix_selects_a_screen) {
  std::string d = "corp@2";
  EXPECT_EQ(take_screen_suffix(d), 1u);
  EXPECT_EQ(d, "corp");
  d = "@0";
  EXPECT_EQ(take_screen_suffix(d), 0u);
  EXPECT_EQ(d, "");
  d = "user@example.com";
  EXPECT_FALSE(take_screen_suffix(d));
  EXPECT_EQ(d, "user@example.com");
  d = "a@1@x3";
  EXPECT_FALSE(take_screen_suffix(d));
}

TEST(client_info, parses_unicode_strings_and_refuses_overruns) {
  byte_writer w;
  w.u32le(0);
  w.u32le(0x10); // INFO_UNICODE
  auto put = [&](const char* s) {
    for (const char* p = s; *p; ++p)
      w.u16le(static_cast<uint8_t>(*p));
    w.u16le(0);
  };
  w.u16le(2 * 3); // "d@2"
  w.u16le(2 * 4); // "test"
  w.u16le(2 * 2); // "pw"
  w.u16le(0);
  w.u16le(0);
  put("d@2");
  put("test");
  put("pw");
  put("");
  put("");
  auto ci = parse_client_info(w.buffer());
  ASSERT_TRUE(ci) << tb::error_text(ci.error());
  EXPECT_EQ(ci->user, "test");
  EXPECT_EQ(ci->domain, "d");
  EXPECT_EQ(ci->screen, 1u);
  EXPECT_EQ(ci->password, "pw");
  auto cut = w.buffer();
  cut.resize(cut.size() - 6);
  EXPECT_FALSE(parse_client_info(cut));
}

TEST(license, valid_client_bytes_are_exact) {
  EXPECT_EQ(build_license_valid_client(),
            bytes({0xFF, 0x03, 0x10, 0, 7, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0}));
}

TEST(gcc, server_data_blocks_order_and_channel_echo) {
  server_data sd;
  sd.requested_protocols = 0;
  sd.channel_ids = {1004, 1005, 1006};
  auto g = build_conference_create_response(sd);
  // Object identifier, fixed 0x2A length byte, then at 21 the user data
  // length, as rdesktop reads it.
  ASSERT_GT(g.size(), 23u);
  EXPECT_EQ(g[7], 0x2A);
  EXPECT_EQ(std::string(g.begin() + 17, g.begin() + 21), "McDn");
  size_t ud_len = ((g[21] & 0x7F) << 8) | g[22];
  ASSERT_EQ(ud_len, g.size() - 23);
  byte_reader r{std::span{g}.subspan(23)};
  EXPECT_EQ(r.u16le(), 0x0C01);
  r.skip(r.u16le() - 4u);
  EXPECT_EQ(r.u16le(), 0x0C03);
  EXPECT_EQ(r.u16le(), 8 + 6 + 2); // odd count: padded
  EXPECT_EQ(r.u16le(), 1003);
  EXPECT_EQ(r.u16le(), 3);
  EXPECT_EQ(r.u16le(), 1004);
  EXPECT_EQ(r.u16le(), 1005);
  EXPECT_EQ(r.u16le(), 1006);
  r.skip(2);
  EXPECT_EQ(r.u16le(), 0x0C02);
  EXPECT_EQ(r.u16le(), 12);
  EXPECT_TRUE(r.ok());
}
