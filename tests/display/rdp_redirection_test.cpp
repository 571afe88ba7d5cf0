// The Server Redirection PDU bytes (MS-RDPBCGR 2.2.13.1, 2.2.13.3.1) and
// the CS_CLUSTER flags that say a client follows it.
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "display/rdp/byte_io.hpp"
#include "display/rdp/gcc.hpp"
#include "display/rdp/rdp_security.hpp"
#include "display/rdp/redirection.hpp"
#include "display/rdp_session.hpp"

using namespace tb::display::rdp;

namespace {

std::vector<uint8_t> u16z(std::initializer_list<char> ascii) {
  std::vector<uint8_t> v;
  for (char c : ascii) {
    v.push_back(static_cast<uint8_t>(c));
    v.push_back(0);
  }
  v.push_back(0);
  v.push_back(0);
  return v;
}

uint32_t u32_at(const std::vector<uint8_t>& v, size_t at) {
  return v[at] | v[at + 1] << 8 | v[at + 2] << 16
         | static_cast<uint32_t>(v[at + 3]) << 24;
}

} // namespace

TEST(rdp_redirection, utf16_strings_are_nul_terminated_little_endian) {
  EXPECT_EQ(utf16le_z(""), (std::vector<uint8_t>{0, 0}));
  EXPECT_EQ(utf16le_z("a\xc3\xa9"),
            (std::vector<uint8_t>{'a', 0, 0xE9, 0, 0, 0}));
  // U+1F600 becomes a surrogate pair; a stray continuation byte U+FFFD.
  EXPECT_EQ(utf16le_z("\xf0\x9f\x98\x80"),
            (std::vector<uint8_t>{0x3D, 0xD8, 0x00, 0xDE, 0, 0}));
  EXPECT_EQ(utf16le_z("\x80"), (std::vector<uint8_t>{0xFD, 0xFF, 0, 0}));
}

TEST(rdp_redirection, packet_holds_address_user_domain_in_order) {
  redirection_target t;
  t.address = "10.1.2.3";
  t.username = "bob";
  t.domain = "@1";
  t.session_id = 7;
  auto p = build_redirection_packet(t);
  auto addr = u16z({'1', '0', '.', '1', '.', '2', '.', '3'});
  auto user = u16z({'b', 'o', 'b'});
  auto dom = u16z({'@', '1'});
  size_t want = 12 + 4 + addr.size() + 4 + user.size() + 4 + dom.size() + 8;
  ASSERT_EQ(p.size(), want);
  EXPECT_EQ(p[0], 0x00); // SEC_REDIRECTION_PKT 0x0400
  EXPECT_EQ(p[1], 0x04);
  EXPECT_EQ(p[2] | p[3] << 8, static_cast<int>(want)); // length, pad included
  EXPECT_EQ(u32_at(p, 4), 7u);                         // sessionId
  EXPECT_EQ(u32_at(p, 8), lb_target_net_address | lb_username | lb_domain);
  size_t at = 12;
  for (auto* f : {&addr, &user, &dom}) {
    ASSERT_EQ(u32_at(p, at), f->size());
    EXPECT_TRUE(std::equal(f->begin(), f->end(), p.begin() + at + 4));
    at += 4 + f->size();
  }
  EXPECT_EQ(std::vector<uint8_t>(p.begin() + at, p.end()),
            std::vector<uint8_t>(8, 0));
}

TEST(rdp_redirection, password_cookie_is_sent_as_opaque_bytes) {
  redirection_target t;
  t.address = "h";
  t.password = {1, 2, 3};
  auto p = build_redirection_packet(t);
  EXPECT_EQ(u32_at(p, 8), lb_target_net_address | lb_password);
  size_t at = 12 + 4 + 4; // "h\0" in UTF-16
  ASSERT_EQ(u32_at(p, at), 3u);
  EXPECT_EQ(p[at + 4], 1);
  EXPECT_EQ(p[at + 6], 3);
}

TEST(rdp_redirection, enhanced_security_form_is_a_share_control_pdu) {
  redirection_target t;
  t.address = "10.0.0.9";
  auto packet = build_redirection_packet(t);
  auto pdu = build_enhanced_redirection_pdu(t, 0x03EA);
  ASSERT_EQ(pdu.size(), 6 + 2 + packet.size() + 1);
  EXPECT_EQ(pdu[0] | pdu[1] << 8, static_cast<int>(pdu.size())); // totalLength
  EXPECT_EQ(pdu[2] | pdu[3] << 8, 0x1A); // PDUTYPE_SERVER_REDIR_PKT | version
  EXPECT_EQ(pdu[4] | pdu[5] << 8, 0x03EA);
  EXPECT_EQ(pdu[6], 0); // pad2Octets
  EXPECT_EQ(pdu[7], 0);
  EXPECT_TRUE(std::equal(packet.begin(), packet.end(), pdu.begin() + 8));
  EXPECT_EQ(pdu.back(), 0); // pad1Octet
}

namespace {

/// A Conference Create Request with CS_CORE and, optionally, CS_CLUSTER.
std::vector<uint8_t> gcc_request(std::optional<uint32_t> cluster) {
  byte_writer blocks;
  blocks.u16le(0xC001);
  blocks.u16le(4 + 8);
  blocks.u32le(0x00080004);
  blocks.u16le(1024);
  blocks.u16le(768);
  if (cluster) {
    blocks.u16le(0xC004);
    blocks.u16le(12);
    blocks.u32le(*cluster);
    blocks.u32le(0); // redirectedSessionID
  }
  byte_writer w;
  for (int b : {0x00, 0x05, 0x00, 0x14, 0x7C, 0x00, 0x01})
    w.u8(static_cast<uint8_t>(b));
  w.u8(0x2A); // length (not checked)
  for (int b : {0x00, 0x08, 0x00, 0x10, 0x00, 0x01, 0xC0, 0x00})
    w.u8(static_cast<uint8_t>(b));
  w.bytes("Duca", 4);
  w.u8(static_cast<uint8_t>(blocks.size()));
  w.bytes(blocks.buffer());
  return std::move(w.buffer());
}

} // namespace

TEST(rdp_redirection, cluster_block_flags_are_parsed) {
  auto with = parse_conference_create_request(
      gcc_request(cluster_redirection_supported | (4 << 2)));
  ASSERT_TRUE(with);
  EXPECT_TRUE(with->cluster_flags & cluster_redirection_supported);
  EXPECT_EQ((with->cluster_flags >> 2) & 0xF, 4u); // FreeRDP: version 4
  auto without = parse_conference_create_request(gcc_request(std::nullopt));
  ASSERT_TRUE(without);
  EXPECT_EQ(without->cluster_flags, 0u);
}

namespace {

class blank_fb final : public tb::display::frame_source {
public:
  uint16_t width() const override { return 640; }
  uint16_t height() const override { return 480; }
  void read(const tb::display::rect&, std::span<uint32_t> out) const override {
    std::fill(out.begin(), out.end(), 0u);
  }
};

class null_sink final : public tb::display::input_sink {
public:
  void key(uint8_t, bool, bool, bool) override {}
  void unicode_key(uint16_t, bool) override {}
  void pointer(uint16_t, uint16_t, uint8_t, int, int) override {}
  void sync_locks(uint32_t) override {}
};

} // namespace

// The recorded unencrypted client (no CS_CLUSTER, no RC4): it could not
// decrypt the Standard Security form, so nothing is sent and the caller
// disconnects it instead.
TEST(rdp_redirection, session_without_support_is_not_redirected) {
  std::ifstream in(std::string{TB_SOURCE_DIR}
                       + "/fuzz/corpus/rdp_fuzz/session_plain_fastpath.bin",
                   std::ios::binary);
  std::vector<uint8_t> t{std::istreambuf_iterator<char>(in),
                         std::istreambuf_iterator<char>()};
  ASSERT_GT(t.size(), 1000u);
  blank_fb fb;
  null_sink sink;
  tb::display::rdp_session_config cfg;
  cfg.key = *rsa_server_key::generate(512);
  cfg.allow_unencrypted = true;
  tb::display::rdp_session s{cfg, fb, sink};
  ASSERT_FALSE(s.feed(t));
  ASSERT_TRUE(s.active());
  s.take_output();
  EXPECT_FALSE(s.can_redirect());
  redirection_target target;
  target.address = "10.0.0.2";
  EXPECT_FALSE(s.redirect(target));
  EXPECT_TRUE(s.take_output().empty());
  EXPECT_FALSE(s.finished());
}
