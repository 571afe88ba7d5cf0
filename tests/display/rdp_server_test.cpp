// rdp_server over real loopback sockets: a recorded unencrypted client
// transcript reaches the active state, its input arrives at the sink, and
// bitmap updates come back.
#include <atomic>
#include <fstream>
#include <iterator>
#include <mutex>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "display/rdp_server.hpp"
#include "net/event_loop.hpp"

using namespace tb::display;

namespace {

class grey_fb final : public frame_source {
public:
  uint16_t width() const override { return 320; }
  uint16_t height() const override { return 200; }
  void read(const rect&, std::span<uint32_t> out) const override {
    std::fill(out.begin(), out.end(), 0x808080);
  }
};

class key_counter final : public input_sink {
public:
  void key(uint8_t code, bool down, bool, bool) override {
    if (code == 0x1E && down)
      ++a_presses;
  }
  void unicode_key(uint16_t, bool) override {}
  void pointer(uint16_t, uint16_t, uint8_t, int, int) override {}
  void sync_locks(uint32_t) override {}
  std::atomic<int> a_presses{0};
};

int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

} // namespace

TEST(rdp_server, serves_a_recorded_client_over_tcp) {
  std::ifstream in(std::string{TB_SOURCE_DIR}
                       + "/fuzz/corpus/rdp_fuzz/session_plain_fastpath.bin",
                   std::ios::binary);
  std::vector<char> transcript{std::istreambuf_iterator<char>(in),
                               std::istreambuf_iterator<char>()};
  ASSERT_GT(transcript.size(), 1000u);
  auto loop = tb::net::event_loop::start();
  ASSERT_TRUE(loop);
  grey_fb fb;
  key_counter sink;
  rdp_server_config cfg;
  cfg.listen = tb::net::listen_spec{{"127.0.0.1"}, "0"};
  cfg.enable_tls = false;       // keeps the test fast; TLS is covered by e2e
  cfg.allow_unencrypted = true; // the transcript offers no encryption
  auto server = rdp_server::start(**loop, cfg, fb, sink);
  ASSERT_TRUE(server) << tb::error_text(server.error());
  int fd = connect_to((*server)->port());
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, transcript.data(), transcript.size()),
            ssize_t(transcript.size()));
  // Read until a fast-path PDU (first byte 0x00 at a PDU boundary) with a
  // bitmap update has arrived.
  std::vector<uint8_t> got;
  bool saw_bitmap = false;
  while (!saw_bitmap) {
    uint8_t buf[65536];
    ssize_t n = ::read(fd, buf, sizeof(buf));
    ASSERT_GT(n, 0) << "server closed or timed out";
    got.insert(got.end(), buf, buf + n);
    size_t pos = 0;
    while (pos + 4 <= got.size()) {
      size_t len = got[pos] == 3 ? (got[pos + 2] << 8 | got[pos + 3])
                   : (got[pos + 1] & 0x80)
                       ? ((got[pos + 1] & 0x7F) << 8 | got[pos + 2])
                       : got[pos + 1];
      ASSERT_GT(len, 0u);
      if (pos + len > got.size())
        break;
      size_t hdr = (got[pos] == 3) ? 0 : ((got[pos + 1] & 0x80) ? 3 : 2);
      if (got[pos] == 0 && got[pos + hdr] == 0x01) // FASTPATH_UPDATETYPE_BITMAP
        saw_bitmap = true;
      pos += len;
    }
  }
  EXPECT_EQ(sink.a_presses.load(), 2); // one slow-path, one fast-path press
  EXPECT_EQ((*server)->session_count(), 1u);
  ::close(fd);
  (*server)->stop();
  (*loop)->stop();
}
