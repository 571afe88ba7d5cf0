// Connecting to (and starting) the host service.
#include "cluster/host_client.hpp"

#include <chrono>
#include <climits>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/error_text.hpp"
#include "cluster/host_endpoint.hpp"
#include "cluster/host_errors.hpp"

namespace tb::cluster {

namespace {

caf::expected<host::api_actor> try_connect(caf::actor_system& sys,
                                           const std::string& folder) {
  auto ep = read_endpoint(folder);
  if (!ep)
    return ep.error();
  auto gate =
      sys.middleman().remote_actor<host::gate_actor>("127.0.0.1", ep->port);
  if (!gate)
    return make_host_error(host_errc::not_running,
                           "host service on port " + std::to_string(ep->port)
                               + " does not answer: "
                               + error_text(gate.error()));
  caf::scoped_actor self{sys};
  caf::expected<host::api_actor> result{caf::error{}};
  self->request(*gate, std::chrono::seconds(10), host::hello_atom_v, ep->secret)
      .receive([&](host::api_actor& api) { result = std::move(api); },
               [&](caf::error& err) {
                 result = make_host_error(host_errc::denied,
                                          "host service refused the client: "
                                              + error_text(err));
               });
  return result;
}

void spawn_daemon(const std::string& folder) {
  const char* override_path = ::getenv("TELEBOX_TELEBOXD");
  std::string path =
      override_path ? override_path : executable_dir() + "/teleboxd";
  pid_t pid = ::fork();
  if (pid != 0) {
    // The daemon double-forks, so this child is reaped right away.
    if (pid > 0)
      ::waitpid(pid, nullptr, 0);
    return;
  }
  ::setsid();
  if (::fork() != 0)
    ::_exit(0);
  int null_fd = ::open("/dev/null", O_RDWR);
  auto log = folder + "/teleboxd.log";
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  ::dup2(null_fd, 0);
  ::dup2(log_fd >= 0 ? log_fd : null_fd, 1);
  ::dup2(log_fd >= 0 ? log_fd : null_fd, 2);
  ::execl(path.c_str(), "teleboxd", static_cast<char*>(nullptr));
  ::_exit(127);
}

} // namespace

std::string executable_dir() {
  char buf[PATH_MAX];
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    return ".";
  std::string path(buf, static_cast<size_t>(n));
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

caf::expected<host::api_actor> connect_host_service(caf::actor_system& sys,
                                                    const std::string& folder,
                                                    autostart mode) {
  auto api = try_connect(sys, folder);
  if (api || mode == autostart::no)
    return api;
  spawn_daemon(folder);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    api = try_connect(sys, folder);
    if (api)
      return api;
  }
  return make_host_error(host_errc::not_running,
                         "could not start the host service teleboxd for "
                             + folder + " (see " + folder
                             + "/teleboxd.log): " + error_text(api.error()));
}

} // namespace tb::cluster
