// Test helper: spawn a process with pipes, collect its output, bound its time.
#include "tests/support/process.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace tb::test {

namespace {

std::vector<std::string>
merged_env(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> all;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos)
      all[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (auto& [k, v] : extra)
    all[k] = v;
  std::vector<std::string> out;
  for (auto& [k, v] : all)
    out.push_back(k + "=" + v);
  return out;
}

void child(const std::vector<std::string>& argv,
           const std::vector<std::string>& env, int in, int out, int err) {
  ::dup2(in, 0);
  ::dup2(out, 1);
  ::dup2(err, 2);
  std::vector<char*> av, ev;
  for (auto& a : argv)
    av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  for (auto& e : env)
    ev.push_back(const_cast<char*>(e.c_str()));
  ev.push_back(nullptr);
  ::execve(av[0], av.data(), ev.data());
  ::_exit(127);
}

} // namespace

process_result run_process(const std::vector<std::string>& argv,
                           const std::map<std::string, std::string>& env,
                           const std::string& input, int timeout_s) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC)
      || ::pipe2(err, O_CLOEXEC))
    return {};
  auto envv = merged_env(env);
  pid_t pid = ::fork();
  if (pid == 0)
    child(argv, envv, in[0], out[1], err[1]);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (!input.empty()) [[maybe_unused]]
    auto n = ::write(in[1], input.data(), input.size());
  ::close(in[1]);
  process_result r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int open_fds = 2;
  while (open_fds > 0 && std::chrono::steady_clock::now() < deadline) {
    if (::poll(fds, 2, 100) <= 0)
      continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
        continue;
      char buf[4096];
      auto n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  if (open_fds > 0)
    ::kill(pid, SIGKILL);
  for (auto& f : fds)
    if (f.fd >= 0)
      ::close(f.fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

temp_folder::temp_folder() {
  const char* base = ::getenv("TMPDIR");
  std::string tmpl = std::string{base ? base : "/tmp"} + "/telebox-test-XXXXXX";
  path_ = ::mkdtemp(tmpl.data()) ? tmpl : std::string{};
}

temp_folder::~temp_folder() {
  std::error_code ec;
  if (!path_.empty())
    std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace tb::test
