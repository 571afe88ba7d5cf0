// VM process spawning and reaping for the host service.
#include "cluster/vm_process.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster/host_errors.hpp"

namespace tb::cluster {

caf::expected<pid_t> spawn_vm_process(const std::string& headless_path,
                                      const std::string& uuid,
                                      const std::string& log_path) {
  if (::access(headless_path.c_str(), X_OK) != 0)
    return make_host_error(host_errc::vm_failed,
                           "VM front end " + headless_path + " is missing");
  pid_t pid = ::fork();
  if (pid < 0)
    return make_host_error(host_errc::vm_failed,
                           std::string{"fork failed: "} + std::strerror(errno));
  if (pid > 0)
    return pid;
  ::setsid();
  int null_fd = ::open("/dev/null", O_RDWR);
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  ::dup2(null_fd, 0);
  ::dup2(log_fd >= 0 ? log_fd : null_fd, 1);
  ::dup2(log_fd >= 0 ? log_fd : null_fd, 2);
  for (int fd = 3; fd < 1024; ++fd)
    ::close(fd);
  ::execl(headless_path.c_str(), "telebox-headless", "--startvm", uuid.c_str(),
          "--host-service", static_cast<char*>(nullptr));
  ::_exit(127);
}

int reap_vm_process(pid_t pid) {
  int status = 0;
  auto r = ::waitpid(pid, &status, WNOHANG);
  if (r == pid)
    return status;
  if (r < 0 && errno == ECHILD)
    return 0;
  return -1;
}

std::string tail_of_file(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  if (text.size() > max_bytes)
    text = text.substr(text.size() - max_bytes);
  return text;
}

} // namespace tb::cluster
