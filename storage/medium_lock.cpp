// flock-based medium lock with an xattr owner record (see medium_lock.hpp).
#include "storage/medium_lock.hpp"

#include <cerrno>
#include <thread>

#include <sys/file.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "storage/errors.hpp"

namespace tb::storage {

namespace {

constexpr const char* owner_attr = "user.telebox.owner";

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0)
    return "?";
  return buf;
}

std::string field(const std::string& rec, const std::string& key) {
  auto pos = rec.find(key + "=");
  if (pos == std::string::npos)
    return {};
  pos += key.size() + 1;
  auto end = rec.find('\n', pos);
  return rec.substr(pos, end == std::string::npos ? end : end - pos);
}

std::string describe_holder(const std::string& path) {
  lock_owner owner;
  if (!read_lock_owner(path, owner) || owner.vm.empty())
    return "medium " + path + " is locked by another process";
  std::string text = "medium " + path + " is locked by VM " + owner.vm;
  if (owner.pid > 0)
    text += " (pid " + std::to_string(owner.pid) + " on " + owner.host + ")";
  return text;
}

} // namespace

caf::error lock_medium(int fd, const std::string& path,
                       const std::string& owner, std::chrono::milliseconds wait,
                       lock_kind kind) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  int op = kind == lock_kind::exclusive ? LOCK_EX : LOCK_SH;
  while (::flock(fd, op | LOCK_NB) != 0) {
    if (errno == EINTR)
      continue;
    if (errno != EWOULDBLOCK)
      return make_io_error("locking " + path, errno);
    if (std::chrono::steady_clock::now() >= deadline)
      return make_storage_error(storage_errc::locked, describe_holder(path));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (kind == lock_kind::shared)
    return {}; // Readers leave the writer's record alone.
  std::string rec = "vm=" + owner + "\npid=" + std::to_string(::getpid())
                    + "\nhost=" + host_name() + "\n";
  // A file system without user xattrs still gets the lock, only a vaguer
  // message for the next opener.
  (void)::fsetxattr(fd, owner_attr, rec.data(), rec.size(), 0);
  return {};
}

void unlock_medium(int fd) {
  (void)::fremovexattr(fd, owner_attr);
  ::flock(fd, LOCK_UN);
}

bool read_lock_owner(const std::string& path, lock_owner& out) {
  char buf[1024];
  auto n = ::getxattr(path.c_str(), owner_attr, buf, sizeof(buf));
  if (n <= 0)
    return false;
  std::string rec(buf, static_cast<size_t>(n));
  out.vm = field(rec, "vm");
  out.host = field(rec, "host");
  try {
    out.pid = std::stoi(field(rec, "pid"));
  } catch (...) {
    out.pid = 0;
  }
  return true;
}

} // namespace tb::storage
