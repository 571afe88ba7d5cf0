// The teleport target: a machine with its teleporter enabled is built
// paused and never started; it listens on TeleporterAddress:TeleporterPort
// and takes one teleport, going back to waiting (with a fresh machine)
// after every failed one.
#include <chrono>
#include <cstdio>
#include <ctime>

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <caf/actor_system.hpp>

#include "actors/error_text.hpp"
#include "background_priority.hpp"
#include "cluster/teleport_engine.hpp"
#include "cluster/teleport_net.hpp"
#include "cluster/teleport_wire.hpp"
#include "teleport_session.hpp"
#include "teleport_vm_adapter.hpp"

namespace tb::headless {

namespace {

using namespace std::chrono_literals;

/// VirtualBox's target gives up after 5 minutes without a teleport.
constexpr auto give_up_after = 5min;
constexpr auto stall_timeout = 15s;

bool stop_requested(int fd) {
  if (fd < 0)
    return false;
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

void set_stall_timeout(int fd) {
  timeval tv{};
  tv.tv_sec =
      std::chrono::duration_cast<std::chrono::seconds>(stall_timeout).count();
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void say(const char* text) {
  std::printf("%s", text);
  std::fflush(stdout);
}

/// One incoming connection: TLS, then the teleport into `m`.
caf::error take_one(const teleport_target_context& ctx, int fd,
                    const std::shared_ptr<cluster::tls_identity>& id,
                    const vmm::machine_actor& m) {
  set_stall_timeout(fd);
  auto ch = cluster::tls_channel::accept(fd, id);
  if (!ch)
    return ch.error();
  auto vm = machine_teleport_vm::lend(*ctx.sys, m, ctx.fingerprint, ctx.disks);
  if (!vm)
    return vm.error();
  auto t0 = std::chrono::steady_clock::now();
  double cpu = 0; // Of the thread that receives, not of this one.
  std::string received;
  auto err = run_in_background([&] {
    auto cpu0 = thread_cpu_ms();
    auto e = cluster::teleport_in(*ch, **vm, ctx.teleporter.password_hash,
                                  nullptr, &received);
    cpu = thread_cpu_ms() - cpu0;
    return e;
  });
  if (err)
    ch->abort();
  char buf[96];
  std::snprintf(buf, sizeof buf,
                "Teleporter: the teleport took %.1f ms (%.1f ms CPU; ",
                std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - t0)
                    .count(),
                cpu);
  ctx.log(buf + received + ")");
  return err;
}

// Faults the waiting machine's RAM in, so that the teleport's copy does
// not pay a page fault per page (ram_reservation.hpp). Best effort.
void reserve_ram(const teleport_target_context& ctx,
                 const vmm::machine_actor& m) {
  if (auto vm = machine_teleport_vm::lend(*ctx.sys, m, ctx.fingerprint))
    (*vm)->reserve_ram();
}

} // namespace

bool teleport_target_enabled(const settings::machine_config& cfg) {
  return cfg.teleporter().enabled;
}

caf::expected<vmm::machine_actor>
run_teleport_target(const teleport_target_context& ctx,
                    vmm::machine_actor first) {
  auto& tp = ctx.teleporter;
  auto listener =
      cluster::listen_teleport(tp.address, static_cast<uint16_t>(tp.port));
  if (!listener)
    return listener.error();
  auto id = cluster::tls_identity::self_signed();
  if (!id) {
    cluster::close_listener(*listener);
    return id.error();
  }
  auto where = (tp.address.empty() ? std::string{"*"} : tp.address) + ":"
               + std::to_string(listener->port);
  ctx.log("Teleporter: waiting for an incoming teleport on " + where);
  std::printf("Waiting for an incoming teleportation on %s...\n",
              where.c_str());
  std::fflush(stdout);
  auto m = std::move(first);
  reserve_ram(ctx, m);
  auto deadline = std::chrono::steady_clock::now() + give_up_after;
  caf::expected<vmm::machine_actor> result{caf::error{}};
  for (;;) {
    if (stop_requested(ctx.stop_fd)) {
      result = caf::make_error(cluster::teleport_errc::cancelled,
                               std::string{"stopped while waiting for a "
                                           "teleport"});
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      result = caf::make_error(cluster::teleport_errc::cancelled,
                               "no teleport arrived on " + where
                                   + " within 5 minutes");
      break;
    }
    auto fd = cluster::accept_teleport(*listener, 250ms);
    if (!fd)
      continue; // Nothing yet (or a failed accept): keep waiting.
    say("0%...");
    auto err = take_one(ctx, *fd, *id, m);
    if (!err) {
      say("100%\n");
      ctx.log("Teleporter: the VM arrived and runs here");
      result = std::move(m);
      break;
    }
    auto why = error_text(err);
    ctx.log("Teleporter: incoming teleport failed: " + why);
    std::printf("\nTeleport failed: %s\n", why.c_str());
    // The failed teleport may have written memory or state: start over
    // with a machine that was never touched.
    ctx.discard(std::move(m));
    auto fresh = ctx.build();
    if (!fresh) {
      result = fresh.error();
      break;
    }
    m = std::move(*fresh);
    reserve_ram(ctx, m);
    std::printf("Waiting for an incoming teleportation on %s...\n",
                where.c_str());
    std::fflush(stdout);
  }
  cluster::close_listener(*listener);
  if (!result)
    ctx.discard(std::move(m));
  return result;
}

} // namespace tb::headless
