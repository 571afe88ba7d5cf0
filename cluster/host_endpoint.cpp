// Endpoint file of the host service.
#include "cluster/host_endpoint.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/host_errors.hpp"

namespace tb::cluster {

std::string endpoint_path(const std::string& folder) {
  return folder + "/teleboxd.endpoint";
}

caf::expected<host_endpoint> read_endpoint(const std::string& folder) {
  auto path = endpoint_path(folder);
  std::ifstream in(path);
  if (!in)
    return make_host_error(host_errc::not_running,
                           "no host service endpoint at " + path);
  host_endpoint ep;
  std::string magic;
  if (!(in >> magic >> ep.port >> ep.secret >> ep.pid) || magic != "teleboxd1"
      || ep.secret.size() != 64)
    return make_host_error(host_errc::not_running,
                           "malformed host service endpoint " + path);
  return ep;
}

caf::error write_endpoint(const std::string& folder, const host_endpoint& ep) {
  auto path = endpoint_path(folder);
  auto tmp = path + "-tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return make_host_error(host_errc::io_error, "cannot write " + tmp);
  std::ostringstream text;
  text << "teleboxd1 " << ep.port << ' ' << ep.secret << ' ' << ep.pid << '\n';
  auto s = text.str();
  bool ok = ::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size())
            && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return make_host_error(host_errc::io_error, "cannot write " + path);
  }
  return caf::none;
}

void remove_endpoint(const std::string& folder, int32_t pid) {
  auto ep = read_endpoint(folder);
  if (ep && ep->pid == pid)
    ::unlink(endpoint_path(folder).c_str());
}

std::string make_secret() {
  unsigned char raw[32] = {};
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    [[maybe_unused]] auto n = ::read(fd, raw, sizeof(raw));
    ::close(fd);
  }
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (auto b : raw) {
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

bool secrets_equal(const std::string& a, const std::string& b) {
  if (a.size() != b.size())
    return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

} // namespace tb::cluster

namespace tb::cluster {

std::string to_string(host_errc x) {
  switch (x) {
  case host_errc::not_running:
    return "not_running";
  case host_errc::io_error:
    return "io_error";
  case host_errc::denied:
    return "denied";
  case host_errc::vm_failed:
    return "vm_failed";
  case host_errc::not_found:
    return "not_found";
  }
  return "unknown";
}

} // namespace tb::cluster
