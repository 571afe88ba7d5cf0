// libuv stream implementation.
#include <uv.h>

#include "net/tcp_internal.hpp"

namespace tb::net {

struct uv_tcp_stream;

namespace {

struct write_req {
  uv_write_t req;
  std::vector<uint8_t> data;
  std::shared_ptr<uv_tcp_stream> owner;
};

std::string address_text(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = {};
  uint16_t port = 0;
  if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    uv_ip6_name(a, host, sizeof(host));
    port = ntohs(a->sin6_port);
    return std::string{"["} + host + "]:" + std::to_string(port);
  }
  auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
  uv_ip4_name(a, host, sizeof(host));
  port = ntohs(a->sin_port);
  return std::string{host} + ":" + std::to_string(port);
}

} // namespace

struct uv_tcp_stream final : tcp_stream,
                             std::enable_shared_from_this<uv_tcp_stream> {
  event_loop& loop;
  uv_tcp_t* handle = new uv_tcp_t{};
  data_fn on_data;
  close_fn on_close;
  size_t queued = 0;
  bool is_closed = false;
  bool close_requested = false;
  bool write_shut = false; ///< shutdown_write(): FIN queued, reads dropped
  bool fin_sent = false;
  uint64_t stop_id = 0;
  std::string peer_text;
  std::shared_ptr<uv_tcp_stream> self; // alive until the handle is closed
  std::vector<uint8_t> read_buf = std::vector<uint8_t>(64 * 1024);

  explicit uv_tcp_stream(event_loop& l) : loop(l) {}

  void start(data_fn d, close_fn c) override {
    on_data = std::move(d);
    on_close = std::move(c);
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(handle),
        [](uv_handle_t* h, size_t, uv_buf_t* buf) {
          auto* s = static_cast<uv_tcp_stream*>(h->data);
          *buf = uv_buf_init(reinterpret_cast<char*>(s->read_buf.data()),
                             static_cast<unsigned>(s->read_buf.size()));
        },
        [](uv_stream_t* h, ssize_t n, const uv_buf_t* buf) {
          auto* s = static_cast<uv_tcp_stream*>(h->data);
          if (n < 0) {
            s->shutdown_now();
            return;
          }
          if (n > 0 && s->on_data && !s->close_requested && !s->write_shut)
            s->on_data({reinterpret_cast<const uint8_t*>(buf->base),
                        static_cast<size_t>(n)});
        });
  }

  void write(std::vector<uint8_t> bytes) override {
    if (is_closed || close_requested || write_shut || bytes.empty())
      return;
    auto* w = new write_req{{}, std::move(bytes), shared_from_this()};
    w->req.data = w;
    queued += w->data.size();
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(w->data.data()),
                               static_cast<unsigned>(w->data.size()));
    int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(handle), &buf, 1,
                      [](uv_write_t* req, int status) {
                        auto* w = static_cast<write_req*>(req->data);
                        auto owner = std::move(w->owner);
                        owner->queued -= w->data.size();
                        delete w;
                        if (status < 0)
                          owner->shutdown_now();
                        else if (owner->close_requested && owner->queued == 0)
                          owner->shutdown_now();
                        else if (owner->write_shut && owner->queued == 0)
                          owner->send_fin();
                      });
    if (rc != 0) {
      queued -= w->data.size();
      delete w;
      shutdown_now();
    }
  }

  size_t queued_bytes() const override { return queued; }

  void close() override {
    if (is_closed)
      return;
    close_requested = true;
    if (queued == 0)
      shutdown_now();
  }

  bool closed() const override { return is_closed || close_requested; }

  void shutdown_write() override {
    if (is_closed || close_requested || write_shut)
      return;
    write_shut = true;
    if (queued == 0)
      send_fin();
  }

  void send_fin() {
    if (fin_sent || is_closed)
      return;
    fin_sent = true;
    auto* req = new uv_shutdown_t{};
    req->data = new std::shared_ptr<uv_tcp_stream>(shared_from_this());
    int rc =
        uv_shutdown(req, reinterpret_cast<uv_stream_t*>(handle),
                    [](uv_shutdown_t* r, int status) {
                      auto* owner =
                          static_cast<std::shared_ptr<uv_tcp_stream>*>(r->data);
                      if (status < 0 && status != UV_ECANCELED)
                        (*owner)->shutdown_now();
                      delete owner;
                      delete r;
                    });
    if (rc != 0) {
      delete static_cast<std::shared_ptr<uv_tcp_stream>*>(req->data);
      delete req;
      shutdown_now();
    }
  }
  std::string peer() const override { return peer_text; }

  void shutdown_now() {
    if (is_closed)
      return;
    is_closed = true;
    loop.cancel_on_stop(stop_id);
    uv_read_stop(reinterpret_cast<uv_stream_t*>(handle));
    uv_close(reinterpret_cast<uv_handle_t*>(handle), [](uv_handle_t* h) {
      auto* s = static_cast<uv_tcp_stream*>(h->data);
      auto keep = std::move(s->self);
      delete reinterpret_cast<uv_tcp_t*>(h);
      if (keep->on_close) {
        auto fn = std::move(keep->on_close);
        fn();
      }
      keep->on_data = nullptr;
    });
  }
};

tcp_stream_ptr accept_stream(event_loop& loop, void* server) {
  auto s = std::make_shared<uv_tcp_stream>(loop);
  auto* uvl = static_cast<uv_loop_t*>(loop.native());
  uv_tcp_init(uvl, s->handle);
  s->handle->data = s.get();
  s->self = s;
  if (uv_accept(static_cast<uv_stream_t*>(server),
                reinterpret_cast<uv_stream_t*>(s->handle))
      != 0) {
    s->shutdown_now();
    return nullptr;
  }
  uv_tcp_nodelay(s->handle, 1);
  sockaddr_storage ss{};
  int len = sizeof(ss);
  if (uv_tcp_getpeername(s->handle, reinterpret_cast<sockaddr*>(&ss), &len)
      == 0)
    s->peer_text = address_text(ss);
  std::weak_ptr<uv_tcp_stream> weak = s;
  s->stop_id = loop.on_stop([weak] {
    if (auto p = weak.lock())
      p->shutdown_now();
  });
  return s;
}

} // namespace tb::net
