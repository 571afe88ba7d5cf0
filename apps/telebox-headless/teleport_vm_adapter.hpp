// The teleport engine's view of a running machine (cluster::teleport_vm):
// memory and dirty log straight from the machine the machine actor lends
// out, pause/resume/state through the machine actor, the disks handed over
// at the switch-over.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/messages/vmm.hpp"
#include "cluster/teleport_vm.hpp"
#include "vmm/machine.hpp"

namespace tb::headless {

class machine_teleport_vm final : public cluster::teleport_vm {
public:
  /// Lends the machine from `actor` for one teleport (refused while the VM
  /// is not running or paused). `deferred_disks`: on a target, the disks
  /// its machine was built without, attached at the hand-over.
  static caf::expected<std::unique_ptr<machine_teleport_vm>>
  lend(caf::actor_system& sys, vmm::machine_actor actor,
       cluster::hardware_fingerprint fp,
       std::vector<vmm::disk_spec> deferred_disks = {});

  /// Ends the lease (the machine actor replays a held guest request).
  ~machine_teleport_vm() override;

  cluster::hardware_fingerprint fingerprint() const override { return fp_; }
  std::vector<cluster::ram_region> ram() override;
  caf::error start_dirty_log() override;
  caf::expected<std::vector<uint64_t>> fetch_dirty(size_t index) override;
  void stop_dirty_log() override;
  std::vector<uint64_t> populated(size_t index) override {
    return m_->populated_pages(index);
  }
  std::vector<uint64_t> initial_data(size_t index) override {
    return m_->loaded_pages(index);
  }
  /// Target, while it waits: faults the machine's RAM in ahead of the
  /// teleport (vmm::machine::reserve_ram).
  void reserve_ram() { m_->reserve_ram(); }
  void zero(size_t index, uint64_t offset, uint64_t len) override {
    m_->zero_pages(index, offset, len);
  }
  caf::error pause() override;
  caf::error resume() override;
  bool was_paused() const override { return was_paused_; }
  caf::expected<std::vector<cluster::state_blob>> save_state() override;
  caf::error load_state(const std::vector<cluster::state_blob>& b) override;
  caf::error release_media() override;
  caf::error reacquire_media() override;
  caf::error acquire_media() override;

  /// Whether the source handed the disks over (release_media succeeded).
  bool media_released() const { return released_; }

private:
  machine_teleport_vm(caf::actor_system& sys, vmm::machine_actor actor,
                      vmm::machine* m)
      : sys_(sys), actor_(std::move(actor)), m_(m) {}
  caf::error ask_status(bool pause);

  caf::actor_system& sys_;
  vmm::machine_actor actor_;
  vmm::machine* m_;
  cluster::hardware_fingerprint fp_;
  std::vector<vmm::disk_spec> deferred_;
  bool logging_ = false;
  bool released_ = false;
  bool was_paused_ = false;
};

} // namespace tb::headless
