// The teleport handshake over real TLS on a socket pair: right and wrong
// passwords, hardware mismatch named in the refusal.
#include <future>

#include <sys/socket.h>

#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "cluster/teleport_auth.hpp"
#include "settings/hash.hpp"

namespace tb::cluster {
namespace {

struct result_pair {
  caf::error source;
  caf::error target;
};

/// Runs the target's and the source's side on two threads.
template <class Target, class Source>
result_pair run_pair(Target target_side, Source source_side) {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  auto id = tls_identity::self_signed();
  EXPECT_TRUE(id);
  auto target = std::async(std::launch::async, [&] {
    auto ch = tls_channel::accept(fds[0], *id);
    return ch ? target_side(*ch) : ch.error();
  });
  auto ch = tls_channel::connect(fds[1]);
  result_pair r;
  r.source = ch ? source_side(*ch) : ch.error();
  r.target = target.get();
  return r;
}

TEST(teleport_auth, right_password_is_accepted_both_ways) {
  auto stored = settings::teleporter_password_hash("s3cret");
  auto r = run_pair(
      [&](tls_channel& ch) { return target_authenticate(ch, stored); },
      [](tls_channel& ch) { return source_authenticate(ch, "s3cret"); });
  EXPECT_FALSE(r.source) << error_text(r.source);
  EXPECT_FALSE(r.target) << error_text(r.target);
}

TEST(teleport_auth, wrong_password_is_refused) {
  auto stored = settings::teleporter_password_hash("s3cret");
  auto r = run_pair(
      [&](tls_channel& ch) { return target_authenticate(ch, stored); },
      [](tls_channel& ch) { return source_authenticate(ch, "guess"); });
  ASSERT_TRUE(r.source);
  EXPECT_NE(error_text(r.source).find("refused"), std::string::npos)
      << error_text(r.source);
  EXPECT_TRUE(r.target);
}

TEST(teleport_auth, channel_is_tls_1_3) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  auto id = tls_identity::self_signed();
  ASSERT_TRUE(id);
  auto server = std::async(std::launch::async,
                           [&] { return tls_channel::accept(fds[0], *id); });
  auto client = tls_channel::connect(fds[1]);
  ASSERT_TRUE(client);
  EXPECT_EQ(client->version(), "TLSv1.3");
  EXPECT_TRUE(server.get());
}

TEST(teleport_auth, memory_mismatch_names_the_difference) {
  settings::hardware_settings src, dst;
  src.memory_mb = 1024;
  dst.memory_mb = 512;
  auto r = run_pair(
      [&](tls_channel& ch) {
        return check_fingerprint(ch, fingerprint_of(dst));
      },
      [&](tls_channel& ch) {
        return send_fingerprint(ch, fingerprint_of(src));
      });
  ASSERT_TRUE(r.source);
  EXPECT_NE(error_text(r.source).find("memory: the source has 1024 MB, the "
                                      "target has 512 MB"),
            std::string::npos)
      << error_text(r.source);
}

TEST(teleport_auth, equal_hardware_is_accepted) {
  settings::hardware_settings hw;
  hw.cpus = 2;
  auto r = run_pair(
      [&](tls_channel& ch) {
        return check_fingerprint(ch, fingerprint_of(hw));
      },
      [&](tls_channel& ch) {
        return send_fingerprint(ch, fingerprint_of(hw));
      });
  EXPECT_FALSE(r.source) << error_text(r.source);
  EXPECT_FALSE(r.target) << error_text(r.target);
}

} // namespace
} // namespace tb::cluster
