// start_vrde over loopback: status lines, enable/disable, port lists, the
// refusals that happen before any client connects, and the certificate
// pair kept in the machine folder.
#include <filesystem>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "display/vrde_server.hpp"

using namespace tb::display;

namespace {

struct null_input final : vm_input {
  void put_scancodes(std::span<const uint8_t>) override {}
  void mouse_event(int, int, uint8_t) override {}
};

struct fixture {
  std::vector<uint8_t> mem = std::vector<uint8_t>(320 * 200 * 4);
  frame_tracker fb{mem, {}};
  null_input in;
  fixture() { fb.set_mode({320, 200, 32, 0, 0}); }
};

/// A listening socket on a kernel-chosen loopback port (to occupy it).
int occupy(uint16_t& port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  listen(s, 1);
  socklen_t len = sizeof(a);
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return s;
}

vrde_config loopback(const std::string& ports) {
  vrde_config c;
  c.enabled = true;
  c.address = "127.0.0.1";
  c.ports = ports;
  c.security = vrde_security::rdp; // no certificate needed
  return c;
}

} // namespace

TEST(vrde_server, guest_authentication_is_refused_at_start) {
  fixture f;
  auto c = loopback("0");
  c.auth_type = vrde_auth_type::guest;
  auto s = start_vrde(c, f.fb, f.in, {});
  ASSERT_FALSE(s);
  EXPECT_NE(tb::error_text(s.error()).find("guest authentication is not "
                                           "supported"),
            std::string::npos);
  // With VRDE off the VM still runs; enabling it names the problem.
  c.enabled = false;
  auto off = start_vrde(c, f.fb, f.in, {});
  ASSERT_TRUE(off);
  EXPECT_EQ((*off)->port(), -1);
  auto err = (*off)->set_enabled(true);
  EXPECT_NE(tb::error_text(err).find("guest authentication"),
            std::string::npos);
}

TEST(vrde_server, disabled_then_enabled_then_off) {
  fixture f;
  auto c = loopback("0");
  c.enabled = false;
  auto s = start_vrde(c, f.fb, f.in, {});
  ASSERT_TRUE(s) << tb::error_text(s.error());
  EXPECT_EQ((*s)->port(), -1);
  EXPECT_EQ((*s)->status_line(), "VRDE server is inactive.");
  ASSERT_FALSE((*s)->set_enabled(true));
  int p = (*s)->port();
  EXPECT_GT(p, 0);
  EXPECT_EQ((*s)->status_line(),
            "VRDE server is listening on port " + std::to_string(p) + ".");
  EXPECT_TRUE((*s)->connections().empty());
  ASSERT_FALSE((*s)->set_enabled(false));
  EXPECT_EQ((*s)->port(), -1);
}

TEST(vrde_server, port_list_skips_a_taken_port_and_reports_no_free_port) {
  fixture f;
  uint16_t taken = 0;
  int sock = occupy(taken);
  // The next port may be taken by someone else too; retry a few pairs.
  auto s = start_vrde(
      loopback(std::to_string(taken) + "," + std::to_string(taken + 1)), f.fb,
      f.in, {});
  if (s) {
    EXPECT_EQ((*s)->port(), taken + 1);
  }
  auto only = start_vrde(loopback(std::to_string(taken)), f.fb, f.in, {});
  ASSERT_FALSE(only);
  EXPECT_NE(tb::error_text(only.error()).find("VRDE server failed to start"),
            std::string::npos);
  if (s) {
    auto err = (*s)->set_ports(std::to_string(taken));
    EXPECT_NE(tb::error_text(err).find("failed to start"), std::string::npos);
    EXPECT_EQ((*s)->port(), 0);
    EXPECT_EQ((*s)->status_line(), "VRDE server failed to start.");
  }
  close(sock);
}

TEST(vrde_server, certificate_pair_generated_once_in_machine_folder) {
  fixture f;
  auto dir = std::filesystem::temp_directory_path()
             / ("vrde_cert_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto c = loopback("0");
  c.security = vrde_security::negotiate;
  c.machine_folder = dir.string();
  auto s = start_vrde(c, f.fb, f.in, {});
  ASSERT_TRUE(s) << tb::error_text(s.error());
  struct stat st {};
  ASSERT_EQ(stat((dir / "vrde-key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir / "vrde-cert.pem").c_str(), &st), 0);
  auto mtime = st.st_mtim;
  (*s)->stop();
  // A second start reuses the pair.
  auto s2 = start_vrde(c, f.fb, f.in, {});
  ASSERT_TRUE(s2) << tb::error_text(s2.error());
  ASSERT_EQ(stat((dir / "vrde-cert.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_nsec, mtime.tv_nsec);
  EXPECT_EQ(st.st_mtim.tv_sec, mtime.tv_sec);
  (*s2)->stop();
  // Configured paths that do not exist are named.
  c.server_certificate = (dir / "nope.pem").string();
  c.server_private_key = (dir / "vrde-key.pem").string();
  auto bad = start_vrde(c, f.fb, f.in, {});
  ASSERT_FALSE(bad);
  EXPECT_NE(tb::error_text(bad.error()).find("nope.pem"), std::string::npos);
  // Configured files are used as given.
  c.server_certificate = (dir / "vrde-cert.pem").string();
  auto good = start_vrde(c, f.fb, f.in, {});
  EXPECT_TRUE(good) << tb::error_text(good.error());
  std::filesystem::remove_all(dir);
}

TEST(vrde_server, redirect_checks_the_target_and_counts_no_clients) {
  fixture f;
  auto s = start_vrde(loopback("0"), f.fb, f.in, {});
  ASSERT_TRUE(s) << tb::error_text(s.error());
  auto empty = (*s)->redirect_clients("", 0);
  ASSERT_FALSE(empty);
  EXPECT_NE(tb::error_text(empty.error()).find("redirection target"),
            std::string::npos);
  auto too_long = (*s)->redirect_clients(std::string(40, 'h'), 0);
  ASSERT_FALSE(too_long);
  EXPECT_NE(tb::error_text(too_long.error()).find("39 characters"),
            std::string::npos)
      << tb::error_text(too_long.error());
  auto none = (*s)->redirect_clients("10.0.0.2", 0);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->redirected, 0u);
  EXPECT_EQ(none->disconnected, 0u);
  EXPECT_GT((*s)->port(), 0); // still listening
}
