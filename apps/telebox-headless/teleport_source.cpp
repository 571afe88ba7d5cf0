// `controlvm <vm> teleport`: connect, TLS, the teleport engine over the
// running machine, then hand the VM over (state "teleported").
#include <chrono>

#include <sys/socket.h>
#include <sys/time.h>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/error_text.hpp"
#include "background_priority.hpp"
#include "cluster/teleport_engine.hpp"
#include "cluster/teleport_net.hpp"
#include "cluster/teleport_request.hpp"
#include "cluster/teleport_wire.hpp"
#include "display/vrde_server.hpp"
#include "teleport_session.hpp"
#include "teleport_vm_adapter.hpp"

namespace tb::headless {

namespace {

using namespace std::chrono_literals;

/// A silent peer fails the teleport after this long (the source runs on).
constexpr auto stall_timeout = 15s;

/// VBoxManage's progress: "0%...10%...20%...", one step per 10 %.
struct progress_line {
  std::string text;
  int next = 0;
  void to(int percent) {
    while (next <= percent && next <= 100) {
      text += std::to_string(next) + (next == 100 ? "%" : "%...");
      next += 10;
    }
  }
};

void set_stall_timeout(int fd) {
  timeval tv{};
  tv.tv_sec =
      std::chrono::duration_cast<std::chrono::seconds>(stall_timeout).count();
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

host::cli_reply failed(const progress_line& p, const std::string& why) {
  std::string err = p.text.empty() ? "" : p.text + "\n";
  return {1, {}, err + "VBoxManage: error: " + why + "\n"};
}

std::string ms(std::chrono::microseconds us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", us.count() / 1000.0);
  return buf;
}

/// The machine actor stops the VM for good: it runs elsewhere now.
void hand_over(const teleport_source_context& ctx) {
  caf::scoped_actor self{*ctx.sys};
  self->request(ctx.machine, 30s, vmm::teleported_atom_v)
      .receive([](vmm::machine_status&) {},
               [&](caf::error& e) {
                 ctx.log("Teleport: stopping the source failed: "
                         + error_text(e));
               });
}

/// RDP clients follow the VM: those that can are sent to `host` (the
/// target's VRDE port is not known here, so they dial the port they used),
/// the others are disconnected cleanly.
void redirect_rdp(const teleport_source_context& ctx, const std::string& host) {
  if (!ctx.vrde || ctx.vrde->connections().empty())
    return;
  auto r = ctx.vrde->redirect_clients(host, 0);
  if (!r) {
    ctx.log("Teleport: RDP clients not redirected: " + error_text(r.error()));
    return;
  }
  ctx.log("Teleport: " + std::to_string(r->redirected)
          + " RDP client(s) redirected to " + host + ", "
          + std::to_string(r->disconnected) + " disconnected");
}

} // namespace

host::cli_reply teleport_source(const teleport_source_context& ctx,
                                const host::cli_request& req) {
  std::vector<std::string> args(req.argv.begin() + 3, req.argv.end());
  auto tr = cluster::parse_teleport_request(args, req.cwd, req.input);
  if (!tr)
    return {2, {}, "VBoxManage: error: " + error_text(tr.error()) + "\n"};
  progress_line progress;
  ctx.log("Teleport: to " + tr->host + ":" + std::to_string(tr->port)
          + ", max downtime " + std::to_string(tr->max_downtime.count())
          + " ms");
  auto connect_timeout = tr->timeout.count() > 0 ? tr->timeout : 10000ms;
  auto fd = cluster::connect_teleport(tr->host, tr->port, connect_timeout);
  if (!fd)
    return failed(progress, "Teleporter: " + error_text(fd.error()));
  set_stall_timeout(*fd);
  auto ch = cluster::tls_channel::connect(*fd);
  if (!ch)
    return failed(progress, "Teleporter: " + error_text(ch.error()));
  auto vm = machine_teleport_vm::lend(*ctx.sys, ctx.machine, ctx.fingerprint);
  if (!vm)
    return failed(progress, error_text(vm.error()));
  cluster::teleport_options opts;
  opts.password = tr->password;
  opts.max_downtime = tr->max_downtime;
  progress.to(0);
  auto stats = run_in_background([&] {
    return cluster::teleport_out(
        *ch, **vm, opts, [&](int pct, const char* phase) {
          progress.to(pct);
          ctx.log("Teleport: " + std::to_string(pct) + "% (" + phase + ")");
        });
  });
  if (!stats) {
    ch->abort();
    vm->reset(); // Ends the lease: the VM runs on (or stays paused) as before.
    auto why = error_text(stats.error());
    if (why.rfind("TLS: ", 0) == 0)
      why = "the connection to the target was lost (" + why + ")";
    if (stats.error() == cluster::teleport_errc::hand_over_unknown)
      ctx.log("Teleport: " + why);
    else
      ctx.log("Teleport failed, the VM keeps running here: " + why);
    return failed(progress, "Teleportation failed: " + why);
  }
  ctx.log("Teleport: done in " + ms(stats->total) + ", downtime "
          + ms(stats->downtime) + ", " + std::to_string(stats->rounds)
          + " rounds, " + std::to_string(stats->pages_sent) + " pages, "
          + std::to_string(stats->bytes_sent >> 10) + " KiB sent; "
          + std::to_string(stats->final_pages) + " pages while paused ("
          + stats->timeline + ")");
  redirect_rdp(ctx, tr->host);
  hand_over(ctx);
  vm->reset();
  std::string out = "Teleported in " + ms(stats->total) + " (downtime "
                    + ms(stats->downtime) + ")\n";
  return {0, out, progress.text + "\n"};
}

} // namespace tb::headless
