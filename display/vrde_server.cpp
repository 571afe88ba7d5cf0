#include "display/vrde_server.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <list>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actors/error_text.hpp"
#include "display/auth_pam.hpp"
#include "display/auth_simple.hpp"
#include "display/auth_throttle.hpp"
#include "display/rdp/client_info.hpp"
#include "display/rdp/redirection.hpp"
#include "display/rdp/tls_layer.hpp"
#include "display/rdp_server.hpp"
#include "display/rdp_session.hpp"
#include "display/vrde_errors.hpp"
#include "net/event_loop.hpp"

namespace tb::display {

namespace {

/// How long redirect_clients waits for the clients to leave.
constexpr std::chrono::seconds redirect_wait{5};

/// The guest's screens. telebox's Bochs display has one.
constexpr uint32_t monitor_count = 1;

caf::expected<std::string> read_text(const std::string& path,
                                     const std::string& what) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return make_vrde_error(vrde_errc::tls_failed,
                           "cannot read the VRDE " + what + " " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

caf::error write_private(const std::string& path, const std::string& text,
                         mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return make_vrde_error(vrde_errc::tls_failed, "cannot create " + path + ": "
                                                      + std::strerror(errno));
  ::fchmod(fd, mode);
  bool ok = ::write(fd, text.data(), text.size())
            == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok)
    return make_vrde_error(vrde_errc::tls_failed, "cannot write " + path);
  return {};
}

/// The configured PEM pair, or the one kept in the machine folder
/// (generated on first use).
caf::expected<std::shared_ptr<const rdp::tls_context>>
load_tls(const vrde_config& cfg, const vrde_server::log_fn& log) {
  std::string cert_pem, key_pem;
  if (!cfg.server_certificate.empty()) {
    auto c = read_text(cfg.server_certificate, "server certificate");
    if (!c)
      return c.error();
    auto k = read_text(cfg.server_private_key, "server private key");
    if (!k)
      return k.error();
    cert_pem = *c;
    key_pem = *k;
    if (!cfg.ca_certificate.empty()) {
      auto ca = read_text(cfg.ca_certificate, "CA certificate");
      if (!ca)
        return ca.error();
      cert_pem += "\n" + *ca; // sent as the chain; clients are not verified
    }
  } else if (!cfg.machine_folder.empty()) {
    auto cert_path = cfg.machine_folder + "/vrde-cert.pem";
    auto key_path = cfg.machine_folder + "/vrde-key.pem";
    if (::access(cert_path.c_str(), R_OK) == 0
        && ::access(key_path.c_str(), R_OK) == 0) {
      auto c = read_text(cert_path, "server certificate");
      auto k = read_text(key_path, "server private key");
      if (!c)
        return c.error();
      if (!k)
        return k.error();
      cert_pem = *c;
      key_pem = *k;
    } else {
      auto pair = rdp::tls_context::generate_pem();
      if (!pair)
        return pair.error();
      cert_pem = pair->first;
      key_pem = pair->second;
      if (auto err = write_private(key_path, key_pem, 0600))
        return err;
      if (auto err = write_private(cert_path, cert_pem, 0644))
        return err;
      if (log)
        log("VRDE: generated a self-signed TLS certificate " + cert_path);
    }
  } else {
    return rdp::tls_context::generate();
  }
  auto ctx = rdp::tls_context::from_pem(cert_pem, key_pem);
  std::fill(key_pem.begin(), key_pem.end(), '\0');
  if (!ctx)
    return make_vrde_error(vrde_errc::tls_failed,
                           "VRDE TLS certificate: " + error_text(ctx.error()));
  return ctx;
}

const char* auth_type_name(vrde_auth_type t) {
  switch (t) {
  case vrde_auth_type::null:
    return "Null";
  case vrde_auth_type::external:
    return "External";
  case vrde_auth_type::guest:
    return "Guest";
  }
  return "Null";
}

/// State of one running RDP server (a restart makes a new one), touched on
/// the loop thread only except where noted.
struct instance {
  vrde_config cfg;
  std::shared_ptr<rdp_server> server; // set on the loop thread at start
  std::list<uint64_t> admitted;       // logged-on clients, oldest first
  std::map<uint64_t, vrde_connection> info;
};

} // namespace

struct vrde_server::impl {
  tracked_frame_source& fb;
  vm_input& input;
  log_fn log;
  input_router router;
  auth_throttle throttle;
  std::unique_ptr<net::event_loop> loop;

  mutable std::mutex mtx; // guards the fields below (API threads)
  vrde_config cfg;
  std::shared_ptr<instance> current;
  int port = -1;

  // Authentication workers (PAM blocks; the loop must not).
  std::mutex work_mtx;
  std::condition_variable work_cv;
  bool stopping = false;
  struct worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::list<worker> workers;

  impl(vrde_config c, tracked_frame_source& f, vm_input& in, log_fn l)
      : fb(f), input(in), log(std::move(l)), router(in, c.client.disable_input),
        cfg(std::move(c)) {}

  void say(const std::string& s) const {
    if (log)
      log(s);
  }

  /// Any failure leaves port() at 0 ("failed to start").
  caf::error start_locked() {
    auto err = try_start();
    if (err)
      port = 0;
    return err;
  }

  caf::error try_start() {
    if (cfg.auth_type == vrde_auth_type::guest)
      return make_vrde_error(vrde_errc::unsupported,
                             "VRDE guest authentication is not supported "
                             "(use --vrdeauthtype null or external)");
    rdp_server_config rc;
    rc.listen.ports = cfg.ports;
    if (!cfg.address.empty())
      rc.listen.addresses = {cfg.address};
    rc.allow_rdp_security = cfg.security != vrde_security::tls;
    rc.enable_tls = cfg.security != vrde_security::rdp;
    if (rc.enable_tls) {
      auto tls = load_tls(cfg, log);
      if (!tls)
        return tls.error();
      rc.tls_context = *tls;
    }
    rc.display_disabled = cfg.client.disable_display;
    rc.log = log;
    auto inst = std::make_shared<instance>();
    inst->cfg = cfg;
    std::weak_ptr<instance> weak = inst;
    rc.authenticate_deferred = [this, weak](uint64_t id,
                                            const std::string& peer,
                                            const rdp::client_info& ci) {
      if (auto i = weak.lock())
        on_logon(i, id, peer, ci);
    };
    rc.on_disconnect = [weak](uint64_t id) {
      if (auto i = weak.lock()) {
        i->admitted.remove(id);
        i->info.erase(id);
      }
    };
    rc.collect_damage = [this] { return fb.collect_damage(); };
    router.set_disabled(cfg.client.disable_input);
    caf::expected<std::shared_ptr<rdp_server>> srv =
        std::shared_ptr<rdp_server>{};
    bool ran = loop->call([&] {
      srv = rdp_server::start(*loop, rc, fb, router);
      if (srv)
        inst->server = *srv;
    });
    if (!ran)
      return make_vrde_error(vrde_errc::start_failed,
                             "VRDE server: the event loop is not running");
    if (!srv) {
      return make_vrde_error(vrde_errc::start_failed,
                             "VRDE server failed to start on TCP/Ports "
                                 + cfg.ports + ": " + error_text(srv.error()));
    }
    current = inst;
    port = (*srv)->port();
    return {};
  }

  void stop_locked() {
    if (current) {
      current->server->stop();
      current.reset();
    }
    port = -1;
  }

  /// Loop thread: a client sent its logon data.
  void on_logon(const std::shared_ptr<instance>& inst, uint64_t id,
                const std::string& peer, const rdp::client_info& ci) {
    auto server = inst->server;
    if (ci.screen && *ci.screen >= monitor_count) {
      say("VRDE: client " + peer + " asked for screen "
          + std::to_string(*ci.screen + 1) + " but the VM has "
          + std::to_string(monitor_count) + "; refused");
      server->complete_authentication(id, false,
                                      rdp_error_info::server_denied_connection);
      return;
    }
    say("AUTH: User: [" + ci.user + "]. Domain: [" + ci.domain
        + "]. Authentication type: [" + auth_type_name(inst->cfg.auth_type)
        + "]");
    if (inst->cfg.auth_type == vrde_auth_type::null) {
      admit(inst, id, peer, ci, true);
      return;
    }
    std::weak_ptr<instance> weak = inst;
    auto host = peer_host(peer);
    auto delay = throttle.delay(host);
    std::string user = ci.user;
    std::string domain = ci.domain;
    std::string password = ci.password;
    std::lock_guard lock{work_mtx};
    reap_workers();
    if (stopping)
      return;
    auto done = std::make_shared<std::atomic<bool>>(false);
    workers.push_back(
        worker{std::thread{[this, weak, id, peer, host, delay, user, domain,
                            password, done, lib = inst->cfg.auth_library,
                            extradata = inst->cfg.extradata]() mutable {
                 struct mark_done {
                   std::atomic<bool>& d;
                   ~mark_done() { d = true; }
                 } guard{*done};
                 {
                   std::unique_lock wl{work_mtx};
                   if (work_cv.wait_for(wl, delay, [this] { return stopping; }))
                     return;
                 }
                 bool ok = lib == vrde_auth_library::simple
                               ? simple_authenticate(extradata, user, password)
                               : pam_authenticate_user(user, password);
                 std::fill(password.begin(), password.end(), '\0');
                 if (ok)
                   throttle.record_success(host);
                 else
                   throttle.record_failure(host);
                 loop->post([this, weak, id, peer, user, domain, ok] {
                   auto inst = weak.lock();
                   if (!inst)
                     return;
                   rdp::client_info ci;
                   ci.user = user;
                   ci.domain = domain;
                   admit(inst, id, peer, ci, ok);
                 });
               }},
               done});
  }

  /// Loop thread: the credentials were judged; now the multi-connection
  /// rules (after authentication, so a bad client cannot kick a good one).
  void admit(const std::shared_ptr<instance>& inst, uint64_t id,
             const std::string& peer, const rdp::client_info& ci, bool ok) {
    auto& server = inst->server;
    if (!ok) {
      say("VRDE: authentication of user [" + ci.user + "] from " + peer
          + " failed");
      server->complete_authentication(id, false,
                                      rdp_error_info::server_denied_connection);
      return;
    }
    if (!inst->cfg.multi_con && !inst->admitted.empty()) {
      if (!inst->cfg.reuse_con) {
        say("VRDE: client " + peer
            + " refused: another client is connected and multiple "
              "connections are off");
        server->complete_authentication(
            id, false, rdp_error_info::server_denied_connection);
        return;
      }
      for (auto old : inst->admitted) {
        say("VRDE: disconnecting the previous client for " + peer
            + " (single connection reuse)");
        server->disconnect(old,
                           rdp_error_info::disconnected_by_other_connection);
        inst->info.erase(old);
      }
      inst->admitted.clear();
    }
    inst->admitted.push_back(id);
    vrde_connection c;
    c.user = ci.user;
    c.domain = ci.domain;
    c.client_ip = peer_host(peer);
    inst->info[id] = c;
    server->complete_authentication(id, true,
                                    rdp_error_info::server_denied_connection);
  }

  void reap_workers() { // work_mtx held; joins the finished ones
    for (auto it = workers.begin(); it != workers.end();)
      if (*it->done) {
        it->thread.join();
        it = workers.erase(it);
      } else {
        ++it;
      }
  }

  void stop_workers() {
    {
      std::lock_guard lock{work_mtx};
      stopping = true;
    }
    work_cv.notify_all();
    std::list<worker> ws;
    {
      std::lock_guard lock{work_mtx};
      ws.swap(workers);
    }
    for (auto& w : ws)
      if (w.thread.joinable())
        w.thread.join();
  }
};

vrde_server::vrde_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

vrde_server::~vrde_server() {
  stop();
}

int vrde_server::port() const {
  std::lock_guard lock{impl_->mtx};
  return impl_->port;
}

std::string vrde_server::status_line() const {
  int p = port();
  if (p > 0)
    return "VRDE server is listening on port " + std::to_string(p) + ".";
  if (p == 0)
    return "VRDE server failed to start.";
  return "VRDE server is inactive.";
}

caf::error vrde_server::set_enabled(bool on) {
  std::lock_guard lock{impl_->mtx};
  impl_->cfg.enabled = on;
  if (!on) {
    impl_->stop_locked();
    return {};
  }
  if (impl_->current)
    return {};
  return impl_->start_locked();
}

caf::error vrde_server::reconfigure(vrde_config cfg) {
  std::lock_guard lock{impl_->mtx};
  impl_->stop_locked();
  impl_->cfg = std::move(cfg);
  if (!impl_->cfg.enabled) {
    impl_->router.set_disabled(impl_->cfg.client.disable_input);
    return {};
  }
  return impl_->start_locked();
}

caf::error vrde_server::set_ports(const std::string& ports) {
  vrde_config c = config();
  c.ports = ports.empty() || ports == "0" ? "3389" : ports;
  return reconfigure(std::move(c));
}

caf::expected<vrde_redirect_result>
vrde_server::redirect_clients(const std::string& host, uint16_t port) {
  auto units = rdp::utf16le_z(host).size() / 2 - 1;
  if (host.empty() || units > rdp::max_target_address_units)
    return make_vrde_error(vrde_errc::bad_property,
                           "VRDE redirection target \"" + host
                               + "\" must be a host name or address of 1 to "
                               + std::to_string(rdp::max_target_address_units)
                               + " characters");
  std::shared_ptr<instance> inst;
  int own_port;
  {
    std::lock_guard lock{impl_->mtx};
    inst = impl_->current;
    own_port = impl_->port;
  }
  vrde_redirect_result out;
  if (!inst)
    return out;
  rdp::redirection_target t;
  t.address = host;
  if (port != 0 && port != own_port) {
    // No client could reach the target: say goodbye instead.
    impl_->say("VRDE: the redirection target " + host + " listens on port "
               + std::to_string(port) + ", not " + std::to_string(own_port)
               + "; RDP clients cannot follow and are disconnected");
    t.address.clear();
  }
  auto n =
      inst->server->redirect_all(t, rdp_error_info::rpc_initiated_disconnect);
  out.redirected = n.first;
  out.disconnected = n.second;
  // The clients close their end once they read the PDU; stopping the
  // server (or exiting) before that would reset connections whose client
  // is still sending, and the PDU would be lost with them.
  if (!impl_->loop->in_loop_thread()) {
    auto until = std::chrono::steady_clock::now() + redirect_wait;
    while (inst->server->session_count() > 0
           && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  impl_->say("VRDE: " + std::to_string(out.redirected)
             + " client(s) redirected to " + host + ", "
             + std::to_string(out.disconnected) + " disconnected");
  return out;
}

vrde_config vrde_server::config() const {
  std::lock_guard lock{impl_->mtx};
  return impl_->cfg;
}

std::vector<vrde_connection> vrde_server::connections() const {
  std::shared_ptr<instance> inst;
  {
    std::lock_guard lock{impl_->mtx};
    inst = impl_->current;
  }
  std::vector<vrde_connection> out;
  if (!inst)
    return out;
  auto sessions = inst->server->sessions();
  impl_->loop->call([&] {
    for (auto id : inst->admitted) {
      auto it = inst->info.find(id);
      if (it == inst->info.end())
        continue;
      auto c = it->second;
      for (auto& s : sessions)
        if (s.id == id)
          c.encryption = s.tls ? "RDP5 (X.509)" : "RDP4";
      out.push_back(std::move(c));
    }
  });
  return out;
}

void vrde_server::stop() {
  if (!impl_)
    return;
  impl_->stop_workers();
  {
    std::lock_guard lock{impl_->mtx};
    impl_->stop_locked();
  }
  if (impl_->loop)
    impl_->loop->stop();
}

caf::expected<std::unique_ptr<vrde_server>>
start_vrde(vrde_config cfg, tracked_frame_source& fb, vm_input& input,
           vrde_server::log_fn log) {
  // Guest authentication is refused when the server starts listening (a
  // VM with VRDE off runs whatever its auth type).
  auto p = std::make_unique<vrde_server::impl>(std::move(cfg), fb, input,
                                               std::move(log));
  auto loop = net::event_loop::start();
  if (!loop)
    return loop.error();
  p->loop = std::move(*loop);
  std::unique_ptr<vrde_server> s{new vrde_server(std::move(p))};
  if (s->impl_->cfg.enabled) {
    std::lock_guard lock{s->impl_->mtx};
    if (auto err = s->impl_->start_locked())
      return err;
  }
  return s;
}

} // namespace tb::display
