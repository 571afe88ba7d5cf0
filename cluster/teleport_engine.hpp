// The teleport phases over one TLS channel: handshake, pre-copy rounds with
// dirty logging, the switch-over with every device's and vCPU's state, and
// the media hand-over. Runs on a dedicated thread (the RAM stream never
// passes through actor mailboxes); actors start it and read its progress.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "cluster/teleport_vm.hpp"
#include "cluster/tls_channel.hpp"

namespace tb::cluster {

struct teleport_options {
  std::string password;                        ///< Plain, as the user gave it.
  std::chrono::milliseconds max_downtime{250}; ///< VirtualBox's default.
  unsigned max_rounds = 30; ///< Pre-copy rounds before forcing the switch.
};

/// What happened, for the progress line and the benchmark.
struct teleport_stats {
  unsigned rounds = 0;
  uint64_t pages_sent = 0;
  uint64_t bytes_sent = 0;
  double bandwidth_mib_s = 0;
  std::chrono::microseconds downtime{0}; ///< Pause to target's "resumed".
  std::chrono::microseconds total{0};
  uint64_t final_pages = 0; ///< Sent while paused.
  /// Where the downtime went, e.g. "pause 0.2 ms, last pages 1.0 ms, ...".
  std::string timeline;
};

/// Progress in percent (0..100) with a short phase name.
using teleport_progress = std::function<void(int percent, const char* phase)>;

/// Source side. On success the target runs the VM and the caller powers the
/// source off; on any error before the hand-over the source VM runs on,
/// unchanged. If the connection breaks once the hand-over line went out,
/// nobody can tell whether the target runs the VM: the source then stays
/// paused (teleport_errc::hand_over_unknown) instead of risking two
/// running copies.
caf::expected<teleport_stats> teleport_out(tls_channel& ch, teleport_vm& vm,
                                           const teleport_options& opts,
                                           const teleport_progress& progress);

/// Target side: receives one teleport into `vm` (which is paused and was
/// never started). On success the VM runs (or stays paused if the source
/// was paused); on error `vm` must be discarded and rebuilt. `timeline`,
/// when given, gets where the receiving time went (for the log).
caf::error teleport_in(tls_channel& ch, teleport_vm& vm,
                       const std::string& stored_password_hash,
                       bool* resumed_paused = nullptr,
                       std::string* timeline = nullptr);

} // namespace tb::cluster
