// What the teleport engine needs from a VM: its RAM, dirty tracking, pause,
// and every device's and vCPU's saved state. The VM process implements it
// over the machine (vmm/); tests implement it over plain memory.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "cluster/teleport_auth.hpp"

namespace tb::cluster {

/// One contiguous range of guest RAM and where it is mapped here.
struct ram_region {
  uint64_t gpa = 0;
  std::span<uint8_t> host;
};

/// One named piece of saved state ("vcpu0", "uart0", "vm", ...).
struct state_blob {
  std::string name;
  std::vector<uint8_t> bytes;
};

class teleport_vm {
public:
  virtual ~teleport_vm() = default;

  virtual hardware_fingerprint fingerprint() const = 0;
  virtual std::vector<ram_region> ram() = 0;

  /// Starts dirty logging on every RAM region (pages written after this
  /// call show up in the next fetch_dirty()).
  virtual caf::error start_dirty_log() = 0;
  /// Pages written since the last call, one bit per 4 KiB page, for
  /// region `index` of ram(); clears the log for that region.
  virtual caf::expected<std::vector<uint64_t>> fetch_dirty(size_t index) = 0;
  /// Pages of region `index` that may hold data, one bit per page; the
  /// others read as zero without being touched (empty: all may).
  virtual std::vector<uint64_t> populated(size_t /*index*/) { return {}; }
  /// Target: pages of region `index` that held data before the teleport
  /// began, same form as populated(); the rest read as zero.
  virtual std::vector<uint64_t> initial_data(size_t index) {
    return populated(index);
  }
  /// Target: [offset, offset + len) of region `index` becomes zero (it may
  /// free the memory instead of writing it).
  virtual void zero(size_t index, uint64_t offset, uint64_t len) {
    auto r = ram()[index].host.subspan(offset, len);
    std::fill(r.begin(), r.end(), uint8_t{0});
  }
  virtual void stop_dirty_log() = 0;

  /// Pauses the VM (a VM that was paused already stays so: pause()
  /// succeeds and was_paused() says so).
  virtual caf::error pause() = 0;
  virtual caf::error resume() = 0;
  /// Whether the VM was paused before the teleport: the target then stays
  /// paused too (VirtualBox's "hand-over-paused").
  virtual bool was_paused() const { return false; }

  /// Every device's, every vCPU's and the VM-wide state. Only while paused.
  virtual caf::expected<std::vector<state_blob>> save_state() = 0;
  /// Restores what save_state() produced on the source. Only while paused.
  virtual caf::error load_state(const std::vector<state_blob>& blobs) = 0;

  /// Source: flushes its disks and releases their locks at the switch-over.
  virtual caf::error release_media() = 0;
  /// Source: takes its disk locks back after a failed switch-over.
  virtual caf::error reacquire_media() = 0;
  /// Target: takes the disk locks the source released.
  virtual caf::error acquire_media() = 0;
};

} // namespace tb::cluster
