// Port lists, listeners on real sockets, streams, stopping the loop.
#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "net/event_loop.hpp"
#include "net/port_spec.hpp"
#include "net/tcp.hpp"

using namespace tb::net;

namespace {

/// A blocking client socket to 127.0.0.1:port; -1 on failure.
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
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

} // namespace

TEST(port_spec, lists_and_ranges) {
  auto p = parse_port_spec("5000,5010-5012, 5000");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, (std::vector<uint16_t>{5000, 5010, 5011, 5012}));
  EXPECT_EQ(*parse_port_spec("0"), std::vector<uint16_t>{0});
  for (const char* bad : {"", "x", "70000", "5-3", "1,,2", "-5", "0-4"}) {
    auto r = parse_port_spec(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(tb::error_text(r.error()).find("port list"), std::string::npos);
  }
}

TEST(tcp_listener, echoes_and_takes_the_next_free_port) {
  auto loop = event_loop::start();
  ASSERT_TRUE(loop);
  std::vector<tcp_stream_ptr> keep;
  auto echo = [&](tcp_stream_ptr s) {
    keep.push_back(s);
    auto* raw = s.get();
    s->start(
        [raw](std::span<const uint8_t> b) {
          raw->write(std::vector<uint8_t>(b.begin(), b.end()));
        },
        [] {});
  };
  listen_spec spec{{"127.0.0.1"}, "0"};
  auto first = tcp_listener::open(**loop, spec, echo);
  ASSERT_TRUE(first) << tb::error_text(first.error());
  uint16_t port = (*first)->port();
  ASSERT_NE(port, 0);
  // The same port is taken: a list starting with it moves on to port 0.
  listen_spec second_spec{{"127.0.0.1"}, std::to_string(port) + ",0"};
  auto second = tcp_listener::open(**loop, second_spec, echo);
  ASSERT_TRUE(second) << tb::error_text(second.error());
  EXPECT_NE((*second)->port(), port);
  listen_spec taken{{"127.0.0.1"}, std::to_string(port)};
  auto none = tcp_listener::open(**loop, taken, echo);
  ASSERT_FALSE(none);
  EXPECT_NE(tb::error_text(none.error()).find("no free port"),
            std::string::npos);

  int fd = connect_to(port);
  ASSERT_GE(fd, 0);
  const char msg[] = "hello telebox";
  ASSERT_EQ(::write(fd, msg, sizeof(msg)), ssize_t{sizeof(msg)});
  char buf[64] = {};
  size_t got = 0;
  while (got < sizeof(msg)) {
    ssize_t n = ::read(fd, buf + got, sizeof(buf) - got);
    ASSERT_GT(n, 0);
    got += static_cast<size_t>(n);
  }
  EXPECT_STREQ(buf, msg);
  ::close(fd);
  (*loop)->stop(); // closes listeners and streams; returns
}

TEST(tcp_listener, empty_address_list_listens_everywhere) {
  auto loop = event_loop::start();
  ASSERT_TRUE(loop);
  std::promise<std::string> peer;
  bool set = false;
  auto l =
      tcp_listener::open(**loop, listen_spec{{}, "0"}, [&](tcp_stream_ptr s) {
        if (!set) {
          set = true;
          peer.set_value(s->peer());
        }
        s->close();
      });
  ASSERT_TRUE(l) << tb::error_text(l.error());
  ASSERT_EQ((*l)->bound().size(), 1u);
  int fd = connect_to((*l)->port()); // IPv4 reaches the dual-stack socket
  ASSERT_GE(fd, 0);
  auto f = peer.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_NE(f.get().find("127.0.0.1"), std::string::npos);
  char c;
  EXPECT_EQ(::read(fd, &c, 1), 0); // server closed
  ::close(fd);
}

TEST(tcp_listener, bad_address_is_named) {
  auto loop = event_loop::start();
  ASSERT_TRUE(loop);
  auto l =
      tcp_listener::open(**loop, listen_spec{{"no.such.host.invalid"}, "0"},
                         [](tcp_stream_ptr) {});
  ASSERT_FALSE(l);
  EXPECT_NE(tb::error_text(l.error()).find("no.such.host.invalid"),
            std::string::npos);
}

TEST(event_loop, posts_from_other_threads_and_stops_with_a_timer_running) {
  auto loop = event_loop::start();
  ASSERT_TRUE(loop);
  std::atomic<int> ticks{0}, posts{0};
  (*loop)->every(std::chrono::milliseconds(1), [&] { ++ticks; });
  std::thread t([&] {
    for (int i = 0; i < 100; ++i)
      (*loop)->post([&] { ++posts; });
  });
  t.join();
  EXPECT_TRUE((*loop)->call([] {}));
  EXPECT_EQ(posts.load(), 100);
  while (ticks.load() < 3)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  (*loop)->stop();
  EXPECT_FALSE((*loop)->call([] {}));
}
