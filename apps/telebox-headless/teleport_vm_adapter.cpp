// A running machine as the teleport engine sees it.
#include "teleport_vm_adapter.hpp"

#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/error_text.hpp"

namespace tb::headless {

namespace {

using namespace std::chrono_literals;

constexpr auto request_timeout = 30s;
/// How long the target waits for the source's disk locks to go.
constexpr auto lock_wait = 5000ms;

} // namespace

caf::expected<std::unique_ptr<machine_teleport_vm>>
machine_teleport_vm::lend(caf::actor_system& sys, vmm::machine_actor actor,
                          cluster::hardware_fingerprint fp,
                          std::vector<vmm::disk_spec> deferred_disks) {
  caf::scoped_actor self{sys};
  caf::expected<std::unique_ptr<machine_teleport_vm>> out{caf::error{}};
  self->request(actor, request_timeout, vmm::teleport_atom_v, true)
      .receive(
          [&](vmm::machine_lease& lease) {
            std::unique_ptr<machine_teleport_vm> vm{
                new machine_teleport_vm(sys, actor, lease.m)};
            vm->fp_ = std::move(fp);
            vm->deferred_ = std::move(deferred_disks);
            out = std::move(vm);
          },
          [&](caf::error& e) { out = std::move(e); });
  return out;
}

machine_teleport_vm::~machine_teleport_vm() {
  if (logging_)
    stop_dirty_log();
  caf::scoped_actor self{sys_};
  self->request(actor_, request_timeout, vmm::teleport_atom_v, false)
      .receive([](vmm::machine_lease&) {}, [](caf::error&) {});
}

std::vector<cluster::ram_region> machine_teleport_vm::ram() {
  std::vector<cluster::ram_region> out;
  for (auto& r : m_->state_regions())
    out.push_back(cluster::ram_region{r.key, r.host});
  return out;
}

caf::error machine_teleport_vm::start_dirty_log() {
  auto err = m_->set_dirty_logging(true);
  logging_ = !err;
  return err;
}

caf::expected<std::vector<uint64_t>>
machine_teleport_vm::fetch_dirty(size_t index) {
  return m_->fetch_dirty(index);
}

void machine_teleport_vm::stop_dirty_log() {
  (void)m_->set_dirty_logging(false);
  logging_ = false;
}

caf::error machine_teleport_vm::ask_status(bool pause) {
  caf::scoped_actor self{sys_};
  caf::error err;
  auto on_error = [&](caf::error& e) { err = std::move(e); };
  if (pause)
    self->request(actor_, request_timeout, vmm::pause_atom_v)
        .receive([](vmm::machine_status&) {}, on_error);
  else
    self->request(actor_, request_timeout, vmm::resume_atom_v)
        .receive([](vmm::machine_status&) {}, on_error);
  return err;
}

caf::error machine_teleport_vm::pause() {
  caf::scoped_actor self{sys_};
  std::string state;
  self->request(actor_, request_timeout, vmm::status_atom_v)
      .receive([&](vmm::machine_status& st) { state = st.state; },
               [](caf::error&) {});
  was_paused_ = state == "paused";
  return was_paused_ ? caf::error{} : ask_status(true);
}

caf::error machine_teleport_vm::resume() {
  return ask_status(false);
}

caf::expected<std::vector<cluster::state_blob>>
machine_teleport_vm::save_state() {
  // Drained here, off the machine actor: the disks' completions need the
  // actor system's workers while this waits.
  if (auto err = m_->quiesce_disks(10s))
    return err;
  caf::scoped_actor self{sys_};
  caf::expected<std::vector<cluster::state_blob>> out{caf::error{}};
  self->request(actor_, request_timeout, vmm::save_state_atom_v)
      .receive(
          [&](vmm::machine_snapshot& snap) {
            std::vector<cluster::state_blob> blobs;
            for (size_t i = 0; i < snap.names.size(); ++i)
              blobs.push_back(cluster::state_blob{std::move(snap.names[i]),
                                                  std::move(snap.blobs[i])});
            out = std::move(blobs);
          },
          [&](caf::error& e) { out = std::move(e); });
  return out;
}

caf::error
machine_teleport_vm::load_state(const std::vector<cluster::state_blob>& b) {
  vmm::machine_snapshot snap;
  for (auto& blob : b) {
    snap.names.push_back(blob.name);
    snap.blobs.push_back(blob.bytes);
  }
  caf::scoped_actor self{sys_};
  caf::error err;
  self->request(actor_, request_timeout, vmm::load_state_atom_v,
                std::move(snap))
      .receive([](vmm::machine_status&) {},
               [&](caf::error& e) { err = std::move(e); });
  return err;
}

caf::error machine_teleport_vm::release_media() {
  auto err = m_->release_disks();
  released_ = !err;
  return err;
}

caf::error machine_teleport_vm::reacquire_media() {
  released_ = false;
  return m_->reacquire_disks(lock_wait);
}

caf::error machine_teleport_vm::acquire_media() {
  if (!deferred_.empty())
    if (auto err = m_->attach_disks(deferred_, lock_wait))
      return err;
  // Requests the guest queued that the source's device had not yet seen.
  m_->kick_disks();
  return caf::none;
}

} // namespace tb::headless
