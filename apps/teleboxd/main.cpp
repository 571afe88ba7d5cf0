// teleboxd: the per-user host service (VBoxSVC's role). Started by the first
// `telebox` command, gone a few seconds after the last client leaves while no
// VM runs. Listens only on 127.0.0.1, on an ephemeral port.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/error_text.hpp"
#include "actors/runtime.hpp"
#include "cluster/host_client.hpp"
#include "cluster/host_endpoint.hpp"
#include "cluster/host_service.hpp"
#include "cluster/registry.hpp"
#include "settings/paths.hpp"

namespace {

/// One service per global folder: an exclusive lock on teleboxd.lock.
bool take_service_lock(const std::string& folder) {
  auto path = folder + "/teleboxd.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  return fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0; // fd stays open
}

std::chrono::milliseconds idle_exit_from_env() {
  if (const char* v = ::getenv("TELEBOX_IDLE_EXIT_MS"))
    return std::chrono::milliseconds(std::strtol(v, nullptr, 10));
  return std::chrono::milliseconds(5000);
}

/// Turns SIGTERM/SIGINT into an orderly stop of the service core.
void watch_signals(caf::actor core) {
  std::thread([core] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    sigwait(&set, &sig);
    caf::anon_send_exit(core, caf::exit_reason::user_shutdown);
  }).detach();
}

int run(const std::string& folder) {
  auto reg = tb::cluster::registry::open(folder);
  if (!reg) {
    std::fprintf(stderr, "teleboxd: %s\n", tb::error_text(reg.error()).c_str());
    return 1;
  }
  caf::actor_system_config cfg;
  tb::actors::configure(cfg);
  caf::actor_system sys{cfg};
  tb::cluster::host_service_config hcfg;
  hcfg.folder = folder;
  hcfg.secret = tb::cluster::make_secret();
  hcfg.idle_exit = idle_exit_from_env();
  hcfg.headless_path = tb::cluster::executable_dir() + "/telebox-headless";
  auto handles = tb::cluster::spawn_host_service(sys, hcfg, std::move(*reg));
  auto port = sys.middleman().publish(handles.gate, 0, "127.0.0.1", true);
  if (!port) {
    std::fprintf(stderr, "teleboxd: cannot listen on 127.0.0.1: %s\n",
                 tb::error_text(port.error()).c_str());
    caf::anon_send_exit(handles.core, caf::exit_reason::user_shutdown);
    return 1;
  }
  auto pid = static_cast<int32_t>(::getpid());
  if (auto err =
          tb::cluster::write_endpoint(folder, {*port, hcfg.secret, pid})) {
    std::fprintf(stderr, "teleboxd: %s\n", tb::error_text(err).c_str());
    caf::anon_send_exit(handles.core, caf::exit_reason::user_shutdown);
    return 1;
  }
  std::fprintf(stderr, "teleboxd %d: serving %s on 127.0.0.1:%u\n", pid,
               folder.c_str(), static_cast<unsigned>(*port));
  watch_signals(handles.core);
  caf::scoped_actor self{sys};
  self->wait_for(handles.core);
  tb::cluster::remove_endpoint(folder, pid);
  sys.middleman().unpublish(handles.gate, *port);
  caf::anon_send_exit(handles.gate, caf::exit_reason::user_shutdown);
  std::fprintf(stderr, "teleboxd %d: idle, exiting\n", pid);
  return 0;
}

} // namespace

int main() {
  // Block the stop signals in every thread; one thread sigwaits for them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  auto folder = tb::settings::global_folder();
  if (!folder) {
    std::fprintf(stderr, "teleboxd: %s\n",
                 tb::error_text(folder.error()).c_str());
    return 1;
  }
  if (!take_service_lock(*folder))
    return 0; // Another teleboxd already serves this folder.
  return run(*folder);
}
