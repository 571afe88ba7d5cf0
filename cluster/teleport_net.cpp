// Teleport sockets: dual-stack listener, bounded accept, resolving connect.
#include "cluster/teleport_net.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/teleport_wire.hpp"

namespace tb::cluster {

namespace {

caf::error net_error(const std::string& what) {
  return caf::make_error(teleport_errc::io_error,
                         what + ": " + std::strerror(errno));
}

void tune(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  int big = 8 << 20; // the kernel caps it; large buffers help bulk RAM
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
}

caf::expected<int> bind_one(const addrinfo* ai, bool v6only) {
  int fd =
      ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0)
    return net_error("socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (ai->ai_family == AF_INET6 && v6only)
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 4) != 0) {
    auto err = net_error("bind");
    ::close(fd);
    return err;
  }
  return fd;
}

uint16_t bound_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (ss.ss_family == AF_INET)
    return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

} // namespace

caf::expected<teleport_listener> listen_teleport(const std::string& address,
                                                 uint16_t port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  auto service = std::to_string(port);
  int rc = ::getaddrinfo(address.empty() ? nullptr : address.c_str(),
                         service.c_str(), &hints, &res);
  if (rc != 0)
    return caf::make_error(teleport_errc::io_error,
                           "teleporter address '" + address
                               + "': " + ::gai_strerror(rc));
  teleport_listener l;
  caf::error last;
  for (auto* ai = res; ai; ai = ai->ai_next) {
    addrinfo one = *ai;
    // A second family must reuse the port the first one got.
    if (l.port && port == 0) {
      if (one.ai_family == AF_INET)
        reinterpret_cast<sockaddr_in*>(one.ai_addr)->sin_port = htons(l.port);
      else
        reinterpret_cast<sockaddr_in6*>(one.ai_addr)->sin6_port = htons(l.port);
    }
    auto fd = bind_one(&one, true);
    if (!fd) {
      last = fd.error();
      continue;
    }
    l.fds.push_back(*fd);
    l.port = bound_port(*fd);
  }
  ::freeaddrinfo(res);
  if (l.fds.empty())
    return caf::make_error(teleport_errc::io_error,
                           "cannot listen for teleports on '" + address
                               + "' port " + std::to_string(port));
  return l;
}

caf::expected<int> accept_teleport(const teleport_listener& l,
                                   std::chrono::milliseconds timeout) {
  std::vector<pollfd> fds;
  for (int fd : l.fds)
    fds.push_back({fd, POLLIN, 0});
  int n = ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
  if (n < 0)
    return net_error("poll");
  if (n == 0)
    return caf::make_error(teleport_errc::io_error,
                           std::string{"no teleport arrived in time"});
  for (auto& p : fds) {
    if (!(p.revents & POLLIN))
      continue;
    int fd = ::accept4(p.fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0)
      return net_error("accept");
    tune(fd);
    return fd;
  }
  return caf::make_error(teleport_errc::io_error,
                         std::string{"teleport listener failed"});
}

caf::expected<int> connect_teleport(const std::string& host, uint16_t port,
                                    std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  auto service = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0)
    return caf::make_error(teleport_errc::io_error,
                           "teleport target '" + host
                               + "': " + ::gai_strerror(rc));
  caf::error last = caf::make_error(
      teleport_errc::io_error, "cannot connect to " + host + ":" + service);
  for (auto* ai = res; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                      ai->ai_protocol);
    if (fd < 0)
      continue;
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
    int r = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof(err);
    if (r == 0
        || (errno == EINPROGRESS
            && ::poll(&p, 1, static_cast<int>(timeout.count())) == 1
            && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0
            && err == 0)) {
      ::fcntl(fd, F_SETFL, 0);
      tune(fd);
      ::freeaddrinfo(res);
      return fd;
    }
    ::close(fd);
    last = caf::make_error(teleport_errc::io_error,
                           "cannot connect to " + host + ":" + service + ": "
                               + std::strerror(err ? err : ETIMEDOUT));
  }
  ::freeaddrinfo(res);
  return last;
}

void close_listener(teleport_listener& l) {
  for (int fd : l.fds)
    ::close(fd);
  l.fds.clear();
}

} // namespace tb::cluster
