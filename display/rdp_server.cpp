#include "display/rdp_server.hpp"

#include <algorithm>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <tuple>

#include "actors/error_text.hpp"
#include "display/rdp/rdp_security.hpp"
#include "display/rdp/redirection.hpp"
#include "display/rdp_session.hpp"

namespace tb::display {

namespace {

/// Cached encodings kept at most (bands of a few formats).
constexpr size_t max_cached_encodings = 4096;

/// What identifies one encoding: the rectangle and the format.
using encoding_key = std::tuple<uint16_t, uint16_t, uint16_t, uint16_t,
                                uint16_t, bool, bool, size_t>;

/// How long a redirected client gets to close its old connection.
constexpr std::chrono::seconds redirect_linger{10};

struct client {
  uint64_t id = 0;
  net::tcp_stream_ptr stream;
  std::unique_ptr<rdp_session> session;
  bool was_active = false;
  /// Redirected: the FIN is out, the client closes by itself; closed by
  /// force once this passes.
  std::optional<std::chrono::steady_clock::time_point> drain_until;
  bool repump_queued = false;
  /// Expires when the client is erased: guards work posted for it.
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  std::list<client>::iterator self;
};

class server_impl final : public rdp_server,
                          public std::enable_shared_from_this<server_impl> {
public:
  server_impl(net::event_loop& loop, rdp_server_config cfg,
              const frame_source& fb, input_sink& input)
      : loop_(loop), cfg_(std::move(cfg)), fb_(fb), input_(input) {}

  ~server_impl() override {
    // Streams outlive us in the loop until their close callbacks ran; they
    // only hold weak references, but say goodbye to the clients first.
    if (!stopped_)
      stop();
  }

  caf::error open() {
    auto key = rdp::rsa_server_key::generate(512);
    if (!key)
      return key.error();
    key_ = *key;
    if (cfg_.enable_tls && cfg_.tls_context) {
      tls_ = cfg_.tls_context;
    } else if (cfg_.enable_tls) {
      auto tls = rdp::tls_context::generate();
      if (!tls)
        return tls.error();
      tls_ = *tls;
    }
    std::weak_ptr<server_impl> weak = shared_from_this();
    auto l = net::tcp_listener::open(loop_, cfg_.listen,
                                     [weak](net::tcp_stream_ptr s) {
                                       if (auto self = weak.lock())
                                         self->accept(std::move(s));
                                     });
    if (!l)
      return l.error();
    listener_ = *l;
    loop_.every(cfg_.flush_period, [weak] {
      if (auto self = weak.lock())
        self->flush();
    });
    log("RDP server listening on port " + std::to_string(port())
        + (tls_ ? ", TLS certificate SHA-256 " + tls_->fingerprint() : ""));
    return {};
  }

  uint16_t port() const override { return listener_ ? listener_->port() : 0; }

  void notify_damage(rect r) override {
    std::lock_guard lock{mtx_};
    pending_.push_back(r);
  }

  size_t session_count() const override {
    std::lock_guard lock{mtx_};
    return count_;
  }

  std::vector<rdp_session_summary> sessions() const override {
    std::vector<rdp_session_summary> out;
    loop_.call([&] {
      for (auto& c : clients_) {
        rdp_session_summary s;
        s.id = c.id;
        s.peer = c.stream->peer();
        s.active = c.session->active();
        if (s.active) {
          s.user = c.session->client().user;
          s.domain = c.session->client().domain;
        }
        s.tls = c.session->uses_tls();
        out.push_back(std::move(s));
      }
    });
    return out;
  }

  void complete_authentication(uint64_t id, bool allowed,
                               rdp_error_info why) override {
    std::weak_ptr<server_impl> weak = shared_from_this();
    loop_.post([weak, id, allowed, why] {
      auto self = weak.lock();
      if (!self)
        return;
      auto c = self->find(id);
      if (!c)
        return;
      auto err = c->session->complete_authentication(allowed, why);
      self->after_feed(*c, err);
    });
  }

  void disconnect(uint64_t id, rdp_error_info why) override {
    std::weak_ptr<server_impl> weak = shared_from_this();
    loop_.post([weak, id, why] {
      auto self = weak.lock();
      if (!self)
        return;
      if (auto c = self->find(id)) {
        c->session->disconnect(why);
        c->stream->write(c->session->take_output());
        c->stream->close();
      }
    });
  }

  std::pair<size_t, size_t> redirect_all(const rdp::redirection_target& target,
                                         rdp_error_info why) override {
    std::pair<size_t, size_t> n{0, 0};
    loop_.call([&] {
      for (auto& c : clients_) {
        if (c.session->finished() || c.stream->closed())
          continue;
        auto t = target;
        if (t.username.empty())
          t.username = c.session->client().user;
        if (t.domain.empty())
          t.domain = c.session->client().domain;
        // Without an address a client would reconnect to us: disconnect.
        if (!t.address.empty() && c.session->redirect(t)) {
          ++n.first;
          log("RDP client " + c.stream->peer() + " redirected to "
              + target.address);
          // The client may still be sending (input, acknowledgements):
          // closing now could reset the connection before it read the
          // PDU, so only our direction ends and the client closes.
          c.stream->write(c.session->take_output());
          c.stream->shutdown_write();
          c.drain_until = std::chrono::steady_clock::now() + redirect_linger;
          continue;
        }
        ++n.second;
        c.session->disconnect(why);
        log("RDP client " + c.stream->peer()
            + " cannot be redirected; disconnected");
        c.stream->write(c.session->take_output());
        c.stream->close();
      }
    });
    return n;
  }

  void stop() override {
    stopped_ = true;
    loop_.call([this] {
      for (auto& c : clients_) {
        c.session->disconnect(rdp_error_info::rpc_initiated_disconnect);
        c.stream->write(c.session->take_output());
        c.stream->close();
      }
      if (listener_)
        listener_->close();
    });
  }

private:
  void log(const std::string& s) {
    if (cfg_.log)
      cfg_.log(s);
  }

  client* find(uint64_t id) {
    for (auto& c : clients_)
      if (c.id == id)
        return &c;
    return nullptr;
  }

  void after_feed(client& c, const caf::error& err) {
    c.stream->write(c.session->take_output());
    if (err)
      log("RDP client " + c.stream->peer() + " dropped: " + error_text(err));
    if (err || c.session->finished())
      c.stream->close();
    else
      pump(c);
  }

  void accept(net::tcp_stream_ptr s) {
    uint64_t id = ++next_id_;
    rdp_session_config sc;
    sc.display_disabled = cfg_.display_disabled;
    if (cfg_.authenticate_deferred) {
      std::weak_ptr<server_impl> weak = shared_from_this();
      std::string peer = s->peer();
      sc.authenticate_deferred = [weak, id, peer](const rdp::client_info& ci) {
        if (auto self = weak.lock())
          self->cfg_.authenticate_deferred(id, peer, ci);
      };
    }
    sc.key = key_;
    sc.allow_rdp_security = cfg_.allow_rdp_security;
    sc.tls = tls_;
    sc.allow_unencrypted = cfg_.allow_unencrypted;
    sc.max_update_payload = cfg_.max_update_payload;
    sc.authenticate = cfg_.authenticate;
    std::weak_ptr<server_impl> weak_enc = shared_from_this();
    sc.encoder = [weak_enc, this](const rect& r, const rdp::bitmap_format& f) {
      if (weak_enc.expired()) // cannot happen on the loop thread; be safe
        return encoded_updates{};
      return encode_shared(r, f);
    };
    clients_.emplace_back();
    auto it = std::prev(clients_.end());
    it->id = id;
    it->stream = s;
    it->session = std::make_unique<rdp_session>(sc, fb_, input_);
    it->self = it;
    {
      std::lock_guard lock{mtx_};
      count_ = clients_.size();
    }
    log("RDP client connected from " + s->peer());
    std::weak_ptr<server_impl> weak = shared_from_this();
    s->start(
        [weak, it](std::span<const uint8_t> bytes) {
          auto self = weak.lock();
          if (!self)
            return; // server gone; its destructor closed the stream
          auto err = it->session->feed(bytes);
          self->after_feed(*it, err);
        },
        [weak, it] {
          if (auto self = weak.lock()) {
            auto st = it->session->statistics();
            self->log("RDP client " + it->stream->peer()
                      + " disconnected: " + std::to_string(st.frames)
                      + " frames, " + std::to_string(st.update_pdus)
                      + " update PDUs, " + std::to_string(st.update_bytes)
                      + " update bytes, " + std::to_string(st.encrypted_out)
                      + " packets encrypted, " + std::to_string(st.decrypted_in)
                      + " packets decrypted");
            uint64_t gone = it->id;
            self->clients_.erase(it);
            if (self->cfg_.on_disconnect)
              self->cfg_.on_disconnect(gone);
            std::lock_guard lock{self->mtx_};
            self->count_ = self->clients_.size();
          }
        });
  }

  void pump(client& c) {
    if (!c.session->active() || c.stream->closed())
      return;
    if (!c.was_active) {
      c.was_active = true;
      log("RDP client " + c.stream->peer() + " active: user \""
          + c.session->client().user + "\", " + std::to_string(c.session->bpp())
          + " bpp, " + (c.session->uses_tls() ? "TLS, " : "RDP security, ")
          + (c.session->fastpath_output() ? "fast-path, " : "slow-path, ")
          + std::to_string(c.session->client_core().desktop_width) + "x"
          + std::to_string(c.session->client_core().desktop_height));
    }
    size_t queued = c.stream->queued_bytes();
    if (queued >= cfg_.max_queued_bytes)
      return; // this client is behind; its damage keeps merging
    // A bounded slice per pump keeps the loop free for input and other
    // clients; the next flush tick continues where this one stopped.
    c.session->encode_pending(
        std::min(cfg_.max_queued_bytes - queued, cfg_.encode_slice_bytes));
    c.stream->write(c.session->take_output());
    // More to send and room for it: continue after the loop has looked at
    // sockets again, instead of waiting for the next flush tick.
    if (c.session->has_damage() && !c.repump_queued
        && c.stream->queued_bytes() < cfg_.max_queued_bytes) {
      c.repump_queued = true;
      std::weak_ptr<server_impl> weak = shared_from_this();
      std::weak_ptr<bool> alive = c.alive;
      auto it = c.self;
      loop_.post([weak, alive, it] {
        auto self = weak.lock();
        if (!self || alive.expired())
          return; // server or client gone meanwhile
        it->repump_queued = false;
        self->pump(*it);
      });
    }
  }

  /// Loop thread: the updates for r in format f, encoded once for every
  /// session until damage touches r (sessions at the same bpp send the
  /// same bands of a frame, so N clients cost about one encoding).
  encoded_updates encode_shared(const rect& r, const rdp::bitmap_format& f) {
    encoding_key key{
        r.x,          r.y, r.w, r.h, f.bpp, f.compress, f.no_compression_header,
        f.max_payload};
    auto it = encodings_.find(key);
    if (it != encodings_.end())
      return it->second;
    if (encodings_.size() >= max_cached_encodings)
      encodings_.clear();
    auto e = std::make_shared<const std::vector<std::vector<uint8_t>>>(
        rdp::encode_bitmap_updates(fb_, r, f));
    encodings_.emplace(key, e);
    return e;
  }

  /// Loop thread: drops the encodings that `d` makes stale.
  void invalidate(const rect& d) {
    for (auto it = encodings_.begin(); it != encodings_.end();) {
      auto [x, y, w, h, b, c, n, m] = it->first;
      bool hit = x < d.x + d.w && d.x < x + w && y < d.y + d.h && d.y < y + h;
      it = hit ? encodings_.erase(it) : std::next(it);
    }
  }

  void flush() {
    auto now = std::chrono::steady_clock::now();
    for (auto& c : clients_)
      if (c.drain_until && now >= *c.drain_until)
        c.stream->close(); // a redirected client that did not leave
    std::vector<rect> damage;
    if (cfg_.collect_damage && !clients_.empty())
      damage = cfg_.collect_damage();
    {
      std::lock_guard lock{mtx_};
      damage.insert(damage.end(), pending_.begin(), pending_.end());
      pending_.clear();
    }
    // Without clients nobody collects damage, and a new mode changes every
    // pixel: cached encodings cannot be trusted then.
    if (clients_.empty() || fb_.width() != cached_w_
        || fb_.height() != cached_h_) {
      encodings_.clear();
      cached_w_ = fb_.width();
      cached_h_ = fb_.height();
    }
    for (auto& r : damage)
      invalidate(r);
    for (auto& c : clients_) {
      for (auto& r : damage)
        c.session->add_damage(r);
      pump(c);
    }
  }

  net::event_loop& loop_;
  rdp_server_config cfg_;
  const frame_source& fb_;
  input_sink& input_;
  std::shared_ptr<const rdp::rsa_server_key> key_;
  std::shared_ptr<const rdp::tls_context> tls_;
  std::shared_ptr<net::tcp_listener> listener_;
  std::list<client> clients_;                         // loop thread only
  std::map<encoding_key, encoded_updates> encodings_; // loop thread only
  uint16_t cached_w_ = 0, cached_h_ = 0; // frame size of encodings_
  mutable std::mutex mtx_;
  std::vector<rect> pending_;
  size_t count_ = 0;
  uint64_t next_id_ = 0; // loop thread only
  bool stopped_ = false;
};

} // namespace

caf::expected<std::shared_ptr<rdp_server>>
rdp_server::start(net::event_loop& loop, rdp_server_config cfg,
                  const frame_source& fb, input_sink& input) {
  auto s = std::make_shared<server_impl>(loop, std::move(cfg), fb, input);
  if (auto err = s->open())
    return err;
  return std::shared_ptr<rdp_server>{s};
}

} // namespace tb::display
