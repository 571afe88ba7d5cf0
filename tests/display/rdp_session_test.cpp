// The session state machine against malformed and out-of-order input.
#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "display/rdp/byte_io.hpp"
#include "display/rdp/rdp_security.hpp"
#include "display/rdp_session.hpp"

using namespace tb::display;

namespace {

class blank_fb final : public frame_source {
public:
  uint16_t width() const override { return 640; }
  uint16_t height() const override { return 480; }
  void read(const rect&, std::span<uint32_t> out) const override {
    std::fill(out.begin(), out.end(), 0x112233);
  }
};

class null_sink final : public input_sink {
public:
  void key(uint8_t, bool, bool, bool) override { ++keys; }
  void unicode_key(uint16_t, bool) override {}
  void pointer(uint16_t, uint16_t, uint8_t, int, int) override {}
  void sync_locks(uint32_t) override {}
  int keys = 0;
};

std::vector<uint8_t> xfreerdp_cr() {
  // 34-byte request of xfreerdp /sec:rdp (toolchain.md 6).
  std::string c = "Cookie: mstshash=test\r\n";
  std::vector<uint8_t> v = {3, 0, 0, 34, 29, 0xE0, 0, 0, 0, 0, 0};
  v.insert(v.end(), c.begin(), c.end());
  return v;
}

rdp_session_config config() {
  rdp_session_config cfg;
  static auto key = *tb::display::rdp::rsa_server_key::generate(512);
  cfg.key = key;
  return cfg;
}

} // namespace

TEST(rdp_session, answers_a_connection_request_byte_by_byte) {
  blank_fb fb;
  null_sink sink;
  rdp_session s{config(), fb, sink};
  auto cr = xfreerdp_cr();
  for (uint8_t b : cr)
    ASSERT_FALSE(s.feed(std::span{&b, 1}));
  auto out = s.take_output();
  ASSERT_EQ(out.size(), 11u);
  EXPECT_EQ(out[5], 0xD0);
  EXPECT_FALSE(s.finished());
  EXPECT_FALSE(s.active());
}

TEST(rdp_session, garbage_closes_with_an_error_naming_the_problem) {
  blank_fb fb;
  null_sink sink;
  rdp_session s{config(), fb, sink};
  std::vector<uint8_t> junk = {0x17, 0x03, 0x01, 0x00};
  auto err = s.feed(junk);
  ASSERT_TRUE(err);
  EXPECT_NE(tb::error_text(err).find("fast-path"), std::string::npos)
      << tb::error_text(err);
  EXPECT_TRUE(s.finished());
}

TEST(rdp_session, mcs_before_connect_initial_is_refused) {
  blank_fb fb;
  null_sink sink;
  rdp_session s{config(), fb, sink};
  ASSERT_FALSE(s.feed(xfreerdp_cr()));
  s.take_output();
  // An Attach User Request where the Connect-Initial belongs.
  std::vector<uint8_t> au = {3, 0, 0, 8, 2, 0xF0, 0x80, 0x28};
  auto err = s.feed(au);
  ASSERT_TRUE(err);
  EXPECT_NE(tb::error_text(err).find("Connect-Initial"), std::string::npos);
}

TEST(rdp_session, nla_only_client_gets_a_failure_and_the_session_ends) {
  blank_fb fb;
  null_sink sink;
  rdp_session s{config(), fb, sink};
  std::vector<uint8_t> cr = {3, 0, 0, 19, 14, 0xE0, 0, 0, 0, 0,
                             0, 1, 0, 8,  0,  2,    0, 0, 0};
  ASSERT_FALSE(s.feed(cr));
  auto out = s.take_output();
  ASSERT_EQ(out.size(), 19u);
  EXPECT_EQ(out[11], 0x03); // RDP_NEG_FAILURE
  EXPECT_EQ(out[15], 0x02); // SSL_NOT_ALLOWED_BY_SERVER
  EXPECT_TRUE(s.finished());
}
