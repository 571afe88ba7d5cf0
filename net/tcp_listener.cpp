// libuv listener: one socket per address, all on the first port of the
// list that is free everywhere.
#include <cstring>

#include <netdb.h>
#include <unistd.h>
#include <uv.h>

#include "net/errors.hpp"
#include "net/port_spec.hpp"
#include "net/tcp_internal.hpp"

namespace tb::net {

namespace {

struct uv_listener final : tcp_listener,
                           std::enable_shared_from_this<uv_listener> {
  event_loop& loop;
  accept_fn on_accept;
  std::vector<uv_tcp_t*> handles;
  std::vector<std::string> names;
  uint16_t bound_port = 0;
  uint64_t stop_id = 0;

  explicit uv_listener(event_loop& l) : loop(l) {}
  ~uv_listener() override {
    // Handles point back at this object: close them first. After the loop
    // stopped, its stop hook has closed them already.
    if (!handles.empty())
      loop.call([this] { close_handles(); });
  }

  uint16_t port() const override { return bound_port; }
  std::vector<std::string> bound() const override { return names; }

  void close() override {
    loop.call([this] { close_handles(); });
  }

  void close_handles() {
    loop.cancel_on_stop(stop_id);
    for (auto* h : handles)
      uv_close(reinterpret_cast<uv_handle_t*>(h),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    handles.clear();
  }
};

/// Resolves an address literal (or name) to socket addresses with port.
caf::expected<std::vector<sockaddr_storage>> resolve(const std::string& addr,
                                                     uint16_t port) {
  std::vector<sockaddr_storage> out;
  sockaddr_storage ss{};
  if (uv_ip4_addr(addr.c_str(), port, reinterpret_cast<sockaddr_in*>(&ss))
      == 0) {
    out.push_back(ss);
    return out;
  }
  std::string a = addr;
  if (a.size() > 2 && a.front() == '[' && a.back() == ']')
    a = a.substr(1, a.size() - 2);
  if (uv_ip6_addr(a.c_str(), port, reinterpret_cast<sockaddr_in6*>(&ss)) == 0) {
    out.push_back(ss);
    return out;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(addr.c_str(), nullptr, &hints, &res) != 0 || !res)
    return make_net_error(net_errc::bad_address,
                          "listen address \"" + addr
                              + "\" is not an IP address or a known name");
  for (auto* p = res; p; p = p->ai_next) {
    sockaddr_storage s{};
    std::memcpy(&s, p->ai_addr, p->ai_addrlen);
    if (s.ss_family == AF_INET)
      reinterpret_cast<sockaddr_in*>(&s)->sin_port = htons(port);
    else if (s.ss_family == AF_INET6)
      reinterpret_cast<sockaddr_in6*>(&s)->sin6_port = htons(port);
    else
      continue;
    bool dup = false;
    for (auto& o : out)
      dup |= std::memcmp(&o, &s, sizeof(s)) == 0;
    if (!dup)
      out.push_back(s);
  }
  freeaddrinfo(res);
  return out;
}

/// Whether an IPv6 socket can be bound here (kernels without IPv6, or
/// containers with it disabled, refuse).
bool host_has_ipv6() {
  int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0)
    return false;
  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  any.sin6_addr = in6addr_any;
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof(any)) == 0;
  ::close(fd);
  return ok;
}

std::string name_of(const sockaddr_storage& ss, uint16_t port) {
  char host[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET6) {
    uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&ss), host, sizeof(host));
    return std::string{"["} + host + "]:" + std::to_string(port);
  }
  uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&ss), host, sizeof(host));
  return std::string{host} + ":" + std::to_string(port);
}

/// Tries to listen on every address at port; returns the handles or an
/// error (all handles closed then).
caf::expected<uint16_t> try_port(uv_listener& l, uv_loop_t* uvl,
                                 const std::vector<std::string>& addrs,
                                 uint16_t port) {
  uint16_t actual = port;
  for (const auto& a : addrs) {
    auto sas = resolve(a, actual);
    if (!sas)
      return sas.error();
    for (auto& ss : *sas) {
      auto* h = new uv_tcp_t{};
      uv_tcp_init(uvl, h);
      h->data = &l;
      unsigned flags = 0;
      // "::" alone serves IPv4 too (dual stack); explicit v6 stays v6.
      if (ss.ss_family == AF_INET6 && a != "::")
        flags = UV_TCP_IPV6ONLY;
      int rc = uv_tcp_bind(h, reinterpret_cast<sockaddr*>(&ss), flags);
      if (rc == 0)
        rc = uv_listen(reinterpret_cast<uv_stream_t*>(h), 16,
                       [](uv_stream_t* server, int status) {
                         auto* self = static_cast<uv_listener*>(server->data);
                         if (status < 0)
                           return;
                         if (auto s = accept_stream(self->loop, server))
                           self->on_accept(std::move(s));
                       });
      l.handles.push_back(h);
      if (rc != 0) {
        l.close_handles();
        l.names.clear();
        return make_net_error(net_errc::io_error, "listening on "
                                                      + name_of(ss, actual)
                                                      + ": " + uv_strerror(rc));
      }
      if (actual == 0) { // kernel picked one: use it for the other addresses
        sockaddr_storage got{};
        int len = sizeof(got);
        uv_tcp_getsockname(h, reinterpret_cast<sockaddr*>(&got), &len);
        actual = ntohs(got.ss_family == AF_INET6
                           ? reinterpret_cast<sockaddr_in6*>(&got)->sin6_port
                           : reinterpret_cast<sockaddr_in*>(&got)->sin_port);
      }
      l.names.push_back(name_of(ss, actual));
    }
  }
  return actual;
}

} // namespace

caf::expected<std::shared_ptr<tcp_listener>>
tcp_listener::open(event_loop& loop, const listen_spec& spec,
                   accept_fn on_accept) {
  auto ports = parse_port_spec(spec.ports);
  if (!ports)
    return ports.error();
  auto l = std::make_shared<uv_listener>(loop);
  l->on_accept = std::move(on_accept);
  caf::expected<std::shared_ptr<tcp_listener>> result{
      make_net_error(net_errc::stopped, "listener: the event loop stopped")};
  loop.call([&] {
    auto* uvl = static_cast<uv_loop_t*>(loop.native());
    std::vector<std::string> addrs;
    for (auto& a : spec.addresses)
      if (!a.empty())
        addrs.push_back(a);
    if (addrs.empty())
      addrs.push_back(host_has_ipv6() ? "::" : "0.0.0.0");
    std::string last_error;
    for (uint16_t p : *ports) {
      auto got = try_port(*l, uvl, addrs, p);
      if (got) {
        l->bound_port = *got;
        // The stop hook owns copies of the handle pointers, so it works
        // even when the listener object is gone.
        l->stop_id = loop.on_stop([hs = l->handles] {
          for (auto* h : hs)
            uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* h) {
              delete reinterpret_cast<uv_tcp_t*>(h);
            });
        });
        result = std::shared_ptr<tcp_listener>{l};
        return;
      }
      if (got.error().code() == static_cast<uint8_t>(net_errc::bad_address)) {
        result = got.error();
        return;
      }
      last_error = caf::to_string(got.error());
      if (auto& ctx = got.error().context(); ctx.match_elements<std::string>())
        last_error = ctx.get_as<std::string>(0);
    }
    result = make_net_error(net_errc::no_free_port,
                            "no free port in \"" + spec.ports
                                + "\" (last: " + last_error + ")");
  });
  return result;
}

} // namespace tb::net
