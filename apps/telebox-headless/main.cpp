// telebox-headless: one VM in the foreground (VBoxHeadless equivalent).
#include <csignal>
#include <cstdio>

#include "actors/error_text.hpp"
#include "headless.hpp"

int main(int argc, char** argv) {
  // A teleport peer or an RDP client that goes away mid-write must fail
  // that write (EPIPE), not end the VM's process.
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  auto opts = tb::headless::parse_options(args);
  if (!opts) {
    std::fprintf(stderr, "Error: %s\n\n%s",
                 tb::error_text(opts.error()).c_str(),
                 tb::headless::usage().c_str());
    return 2;
  }
  if (opts->help) {
    std::printf("%s", tb::headless::usage().c_str());
    return 0;
  }
  return tb::headless::run(*opts);
}
