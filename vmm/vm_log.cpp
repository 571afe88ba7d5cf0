// VBox.log writer with VirtualBox's rotation scheme.
#include "vmm/vm_log.hpp"

#include <cerrno>
#include <ctime>
#include <filesystem>

#include "vmm/errors.hpp"

namespace tb::vmm {

namespace fs = std::filesystem;

caf::error rotate_logs(const std::string& dir, const std::string& name,
                       unsigned history) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return make_vmm_error(vmm_errc::io_error, "cannot create log folder " + dir
                                                  + ": " + ec.message());
  auto file = [&](unsigned i) {
    return fs::path{dir} / (i == 0 ? name : name + "." + std::to_string(i));
  };
  if (history == 0) {
    fs::remove(file(0), ec);
    return caf::none;
  }
  fs::remove(file(history), ec);
  for (unsigned i = history; i > 0; --i)
    if (fs::exists(file(i - 1), ec))
      fs::rename(file(i - 1), file(i), ec);
  return caf::none;
}

caf::expected<std::unique_ptr<vm_log>> vm_log::open(const std::string& dir,
                                                    unsigned history) {
  if (auto err = rotate_logs(dir, "VBox.log", history))
    return err;
  std::unique_ptr<vm_log> log{new vm_log};
  log->path_ = (fs::path{dir} / "VBox.log").string();
  log->file_ = std::fopen(log->path_.c_str(), "w");
  if (!log->file_)
    return make_errno_error(vmm_errc::io_error, "cannot write " + log->path_,
                            errno);
  log->start_ = std::chrono::steady_clock::now();
  char stamp[64];
  auto now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  log->line(std::string{"Log opened "} + stamp);
  return log;
}

vm_log::~vm_log() {
  if (file_) {
    line("Log closed");
    std::fclose(file_);
  }
}

void vm_log::line(const std::string& text) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - start_)
                .count();
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%02lld:%02lld:%02lld.%06lld ",
                static_cast<long long>(us / 3600000000LL),
                static_cast<long long>(us / 60000000LL % 60),
                static_cast<long long>(us / 1000000LL % 60),
                static_cast<long long>(us % 1000000LL));
  std::lock_guard<std::mutex> guard{mtx_};
  std::fputs(stamp, file_);
  std::fputs(text.c_str(), file_);
  std::fputc('\n', file_);
  std::fflush(file_);
}

} // namespace tb::vmm
