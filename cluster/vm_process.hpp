// Starting and reaping VM processes (one telebox-headless per running VM).
#pragma once

#include <string>

#include <sys/types.h>

#include <caf/expected.hpp>

namespace tb::cluster {

/// Starts `headless_path --startvm <uuid> --host-service` detached from the
/// terminal, with its output appended to `log_path`. Returns its pid.
caf::expected<pid_t> spawn_vm_process(const std::string& headless_path,
                                      const std::string& uuid,
                                      const std::string& log_path);

/// Exit status of `pid` if it has ended (reaped now), else nullopt-like -1.
/// Returns the raw wait status, or -1 while the process still runs.
int reap_vm_process(pid_t pid);

/// The last `max_bytes` of a log file, for error messages.
std::string tail_of_file(const std::string& path, size_t max_bytes);

} // namespace tb::cluster
