// `controlvm teleport` arguments, VBoxManage's spellings and errors.
#include <fstream>

#include <gtest/gtest.h>

#include "cluster/teleport_request.hpp"

namespace tb::cluster {
namespace {

TEST(teleport_request, seed_command_parses) {
  auto r = parse_teleport_request({"--host", "localhost", "--port", "6000"},
                                  "/", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->host, "localhost");
  EXPECT_EQ(r->port, 6000);
  EXPECT_EQ(r->max_downtime.count(), 250);
}

TEST(teleport_request, password_file_and_stdin) {
  auto path = ::testing::TempDir() + "/tb-pw.txt";
  std::ofstream(path) << "from-file\nignored\n";
  auto r = parse_teleport_request(
      {"--host", "h", "--port", "1", "--passwordfile", path}, "/", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->password, "from-file");
  r = parse_teleport_request(
      {"--host", "h", "--port=1", "--passwordfile", "stdin"}, "/", "typed\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->password, "typed");
}

TEST(teleport_request, bad_values_are_refused) {
  EXPECT_FALSE(parse_teleport_request({"--port", "6000"}, "/", ""));
  EXPECT_FALSE(parse_teleport_request({"--host", "h", "--port", "0"}, "/", ""));
  EXPECT_FALSE(
      parse_teleport_request({"--host", "h", "--port", "70000"}, "/", ""));
  EXPECT_FALSE(parse_teleport_request(
      {"--host", "h", "--port", "1", "--maxdowntime", "x"}, "/", ""));
  EXPECT_FALSE(parse_teleport_request(
      {"--host", "h", "--port", "1", "--bogus", "1"}, "/", ""));
  EXPECT_FALSE(
      parse_teleport_request({"--host", "h", "--port", "1", "--password", "a",
                              "--passwordfile", "stdin"},
                             "/", "b"));
}

} // namespace
} // namespace tb::cluster
