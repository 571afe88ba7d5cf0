// The VM process's log, VirtualBox style: <machine folder>/Logs/VBox.log,
// older runs rotated to VBox.log.1 .. VBox.log.<history>, each line stamped
// with the time since the process started (HH:MM:SS.uuuuuu).
#pragma once

#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include <caf/expected.hpp>

namespace tb::vmm {

/// Rotates `<dir>/<name>` to `<name>.1` ... `<name>.<history>` (the oldest
/// falls off), creating `dir` if needed.
caf::error rotate_logs(const std::string& dir, const std::string& name,
                       unsigned history);

class vm_log {
public:
  /// Rotates and opens `<dir>/VBox.log`.
  static caf::expected<std::unique_ptr<vm_log>> open(const std::string& dir,
                                                     unsigned history);
  ~vm_log();

  /// Appends one stamped line; safe from any thread.
  void line(const std::string& text);
  const std::string& path() const { return path_; }

private:
  vm_log() = default;
  std::mutex mtx_;
  std::FILE* file_ = nullptr;
  std::string path_;
  std::chrono::steady_clock::time_point start_;
};

} // namespace tb::vmm
