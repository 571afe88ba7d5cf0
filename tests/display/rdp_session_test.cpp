// The session state machine against malformed and out-of-order input.
#include <fstream>
#include <iterator>

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
  cfg.allow_unencrypted = true; // the recorded transcripts offer none
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

namespace {

std::vector<uint8_t> corpus(const char* name) {
  std::ifstream in(std::string{TB_SOURCE_DIR} + "/fuzz/corpus/rdp_fuzz/" + name,
                   std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class recording_sink final : public input_sink {
public:
  void key(uint8_t code, bool down, bool, bool) override {
    log += "key " + std::to_string(code) + (down ? " down\n" : " up\n");
  }
  void unicode_key(uint16_t code, bool down) override {
    log += "unicode " + std::to_string(code) + (down ? " down\n" : " up\n");
  }
  void pointer(uint16_t x, uint16_t y, uint8_t b, int, int) override {
    log += "pointer " + std::to_string(x) + "," + std::to_string(y) + " "
           + std::to_string(b) + "\n";
  }
  void sync_locks(uint32_t) override {}
  std::string log;
};

} // namespace

// A whole unencrypted connection (client offers no encryption methods):
// transcript built by tests/display/make_rdp_corpus.py.
TEST(rdp_session, plain_transcript_reaches_active_and_delivers_input) {
  auto t = corpus("session_plain_fastpath.bin");
  ASSERT_GT(t.size(), 1000u);
  blank_fb fb;
  recording_sink sink;
  rdp_session s{config(), fb, sink};
  auto err = s.feed(t);
  ASSERT_FALSE(err) << tb::error_text(err);
  EXPECT_TRUE(s.active());
  EXPECT_EQ(s.client().user, "test");
  EXPECT_EQ(s.client().domain, "corp");
  EXPECT_EQ(s.client().screen, 1u);
  EXPECT_TRUE(s.client().password.empty()); // wiped after the decision
  EXPECT_EQ(sink.log, "key 30 down\nkey 30 up\npointer 10,20 1\n"
                      "pointer 10,20 0\nkey 30 down\nkey 30 up\n"
                      "pointer 5,6 0\nunicode 97 down\n");
  auto out = s.take_output();
  s.encode_pending(1 << 20);
  auto updates = s.take_output();
  // Fast-path bitmap updates (action 0, unencrypted): the whole 640x480.
  ASSERT_GT(updates.size(), 100u);
  EXPECT_EQ(updates[0], 0x00);
  EXPECT_FALSE(s.has_damage());
}

TEST(rdp_session, slow_path_client_gets_slow_path_updates_and_can_leave) {
  auto t = corpus("session_plain_slowpath.bin");
  blank_fb fb;
  recording_sink sink;
  rdp_session s{config(), fb, sink};
  ASSERT_FALSE(s.feed(std::span{t}.first(t.size() - 9)));
  ASSERT_TRUE(s.active());
  s.take_output();
  s.encode_pending(1 << 20);
  auto updates = s.take_output();
  ASSERT_GT(updates.size(), 100u);
  EXPECT_EQ(updates[0], 0x03);                // TPKT: slow-path Update PDUs
  ASSERT_FALSE(s.feed(std::span{t}.last(9))); // Disconnect Provider Ultimatum
  EXPECT_TRUE(s.finished());
}

namespace {

class sized_fb final : public frame_source {
public:
  uint16_t width() const override { return w; }
  uint16_t height() const override { return h; }
  void read(const rect&, std::span<uint32_t> out) const override {
    std::fill(out.begin(), out.end(), 0x445566);
  }
  uint16_t w = 640, h = 480;
};

} // namespace

TEST(rdp_session, unencrypted_client_is_refused_by_default) {
  auto t = corpus("session_plain_fastpath.bin");
  blank_fb fb;
  null_sink sink;
  auto cfg = config();
  cfg.allow_unencrypted = false;
  rdp_session s{cfg, fb, sink};
  auto err = s.feed(t);
  ASSERT_TRUE(err);
  EXPECT_NE(tb::error_text(err).find("no usable RDP encryption method"),
            std::string::npos)
      << tb::error_text(err);
  EXPECT_FALSE(s.active());
}

TEST(rdp_session, mode_change_deactivates_and_asks_for_new_capabilities) {
  auto t = corpus("session_plain_fastpath.bin");
  sized_fb fb;
  recording_sink sink;
  rdp_session s{config(), fb, sink};
  ASSERT_FALSE(s.feed(t));
  ASSERT_TRUE(s.active());
  s.take_output();
  fb.w = 800;
  fb.h = 600;
  s.encode_pending(1 << 20);
  EXPECT_FALSE(s.active()); // waiting for the new Confirm Active
  auto out = s.take_output();
  // Unencrypted slow path: TPKT(4) X.224(3) MCS SDI(7-8), Share Control:
  // Deactivate All (type 0x16), then Demand Active (0x11) with 800x600.
  ASSERT_GT(out.size(), 40u);
  EXPECT_EQ(out[14 + 2], 0x16); // short PER length: 1 byte
  size_t second = size_t{out[2]} << 8 | out[3];
  ASSERT_GT(out.size(), second + 18);
  EXPECT_EQ(out[second + 15 + 2], 0x11);
  auto hay = std::string(out.begin() + second, out.end());
  // Bitmap capability: preferredBpp 16, three 1s, then width and height.
  const char bitmap_cap[] = {0x02, 0x00, 0x1C, 0x00, 0x10, 0x00, 0x01, 0x00,
                             0x01, 0x00, 0x01, 0x00, 0x20, 0x03, 0x58, 0x02};
  EXPECT_NE(hay.find(std::string(bitmap_cap, sizeof(bitmap_cap))),
            std::string::npos);
}

// Damage that keeps arriving (a full-screen animation) waits for the frame
// being sent to finish instead of restarting it from the top: a client
// slower than the guest still receives whole frames.
TEST(rdp_session, new_damage_does_not_restart_the_frame_being_sent) {
  auto t = corpus("session_plain_fastpath.bin");
  blank_fb fb;
  null_sink sink;
  rdp_session s{config(), fb, sink};
  ASSERT_FALSE(s.feed(t));
  ASSERT_TRUE(s.active());
  s.take_output();
  auto before = s.statistics().frames;
  for (int i = 0; i < 200 && s.statistics().frames == before; ++i) {
    s.encode_pending(4096);             // a slice of the frame
    s.add_damage(rect{0, 0, 640, 480}); // the guest drew a new one
    s.take_output();
  }
  EXPECT_EQ(s.statistics().frames, before + 1);
  EXPECT_TRUE(s.has_damage()); // the newer frame is queued
}
