// VBoxAuthSimple and the failed-logon throttle.
#include <map>

#include <gtest/gtest.h>

#include "display/auth_simple.hpp"
#include "display/auth_throttle.hpp"

using namespace tb::display;
using namespace std::chrono_literals;

namespace {

// The manual's example: "secret" hashes to this (7.1.5).
constexpr const char* secret_hash =
    "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";

extradata_fn users(std::map<std::string, std::string> m) {
  return [m](const std::string& k) -> std::optional<std::string> {
    auto it = m.find(k);
    if (it == m.end())
      return std::nullopt;
    return it->second;
  };
}

} // namespace

TEST(auth_simple, manual_example) {
  auto ed = users({{"VBoxAuthSimple/users/john", secret_hash}});
  EXPECT_TRUE(simple_authenticate(ed, "john", "secret"));
  EXPECT_FALSE(simple_authenticate(ed, "john", "Secret"));
  EXPECT_FALSE(simple_authenticate(ed, "john", ""));
  EXPECT_FALSE(simple_authenticate(ed, "mary", "secret"));
  EXPECT_FALSE(simple_authenticate(ed, "", "secret"));
  EXPECT_FALSE(simple_authenticate({}, "john", "secret"));
}

TEST(auth_simple, domain_prefix_is_stripped) {
  auto ed = users({{"VBoxAuthSimple/users/john", secret_hash}});
  EXPECT_EQ(simple_auth_user("OFFICE\\john"), "john");
  EXPECT_EQ(simple_auth_user("john"), "john");
  EXPECT_TRUE(simple_authenticate(ed, "OFFICE\\john", "secret"));
}

TEST(auth_simple, stored_hash_in_upper_case_still_matches) {
  std::string upper = secret_hash;
  for (auto& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto ed = users({{"VBoxAuthSimple/users/john", upper}});
  EXPECT_TRUE(simple_authenticate(ed, "john", "secret"));
}

TEST(auth_simple, constant_time_equal) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

TEST(auth_throttle, delay_doubles_up_to_the_cap_and_resets) {
  auth_throttle t{{500ms, 4000ms, 60000ms}};
  auto now = auth_throttle::clock::now();
  EXPECT_EQ(t.delay("10.0.0.1", now), 0ms);
  t.record_failure("10.0.0.1", now);
  EXPECT_EQ(t.delay("10.0.0.1", now), 500ms);
  t.record_failure("10.0.0.1", now);
  EXPECT_EQ(t.delay("10.0.0.1", now), 1000ms);
  for (int i = 0; i < 10; ++i)
    t.record_failure("10.0.0.1", now);
  EXPECT_EQ(t.delay("10.0.0.1", now), 4000ms);
  EXPECT_EQ(t.delay("10.0.0.2", now), 0ms); // per address
  t.record_success("10.0.0.1");
  EXPECT_EQ(t.delay("10.0.0.1", now), 0ms);
}

TEST(auth_throttle, forgets_after_quiet_period) {
  auth_throttle t{{500ms, 4000ms, 60000ms}};
  auto now = auth_throttle::clock::now();
  t.record_failure("h", now);
  EXPECT_EQ(t.failures("h", now + 59s), 1u);
  EXPECT_EQ(t.failures("h", now + 61s), 0u);
  EXPECT_EQ(t.delay("h", now + 61s), 0ms);
}

TEST(auth_throttle, peer_host) {
  EXPECT_EQ(peer_host("127.0.0.1:4242"), "127.0.0.1");
  EXPECT_EQ(peer_host("[::1]:4242"), "::1");
  EXPECT_EQ(peer_host("[::ffff:10.0.0.1]:1"), "::ffff:10.0.0.1");
  EXPECT_EQ(peer_host("::1"), "::1");
  EXPECT_EQ(peer_host("host"), "host");
}
