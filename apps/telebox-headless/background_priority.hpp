// Runs a teleport's copy loop on its own thread at a lower scheduling
// priority. The pre-copy competes for the host's CPUs with the very vCPU it
// must not disturb; at nice 10 the copy yields to the guest (CFS weight 110
// against 1024) and still gets every idle cycle. A thread of its own,
// because an unprivileged thread cannot raise its priority back, and
// threads it would create later (a rebuilt machine's vCPUs) would inherit
// the lower one.
#pragma once

#include <optional>
#include <thread>
#include <type_traits>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace tb::headless {

/// Calls `f()` on a new thread at nice `nice_value` and returns its result.
template <class F> auto run_in_background(F&& f, int nice_value = 10) {
  std::optional<std::invoke_result_t<F&>> out;
  std::thread worker([&] {
    auto tid = static_cast<id_t>(::syscall(SYS_gettid));
    (void)::setpriority(PRIO_PROCESS, tid, nice_value); // Best effort.
    out.emplace(f());
  });
  worker.join();
  return std::move(*out);
}

} // namespace tb::headless
