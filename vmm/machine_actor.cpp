// Machine lifecycle as a stateful typed actor. Every transition that stops
// vCPUs waits for the executors' down messages before touching the machine,
// so no vCPU thread ever runs against freed memory or devices.
#include "vmm/machine_actor.hpp"

#include <chrono>
#include <mutex>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/error_text.hpp"
#include "vmm/errors.hpp"

namespace tb::vmm {

/// Forwards vCPU/device events to the machine actor once it exists.
struct event_relay {
  std::mutex mtx;
  machine_actor target;
};

std::shared_ptr<event_relay> make_event_relay() {
  return std::make_shared<event_relay>();
}

machine_hooks make_machine_hooks(std::shared_ptr<event_relay> relay,
                                 const machine_options& opts) {
  machine_hooks h;
  h.serial_out = opts.serial_out;
  h.log = opts.log;
  h.sys = opts.sys;
  h.display_mode = opts.display_mode;
  h.on_event = [relay](uint32_t index, const std::string& kind,
                       const std::string& detail) {
    machine_actor target;
    {
      std::lock_guard<std::mutex> guard{relay->mtx};
      target = relay->target;
    }
    if (target)
      caf::anon_send(target, vcpu_event{index, kind, detail});
  };
  return h;
}

namespace {

using namespace std::chrono_literals;

int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct machine_state {
  static inline const char* name = "machine";
  std::shared_ptr<engine> eng;
  machine_spec spec;
  machine_options opts;
  std::shared_ptr<event_relay> relay;
  std::unique_ptr<machine> m;
  std::vector<caf::actor> executors;
  std::string state = "starting";
  std::string detail;
  int64_t since_ns = 0;
  uint32_t resets = 0;
  bool busy = false; ///< A transition waits for executors.
  size_t pending_downs = 0;
  std::function<void()> after_stop;
  std::vector<state_listener_actor> listeners;
  bool teleporting = false;       ///< The machine is lent to a teleport.
  std::optional<vcpu_event> held; ///< The guest's request, held meanwhile.
};

using self_ptr = machine_actor::stateful_pointer<machine_state>;

void log(self_ptr self, const std::string& line) {
  if (self->state.opts.log)
    self->state.opts.log(line);
}

machine_status status_of(self_ptr self) {
  auto& st = self->state;
  machine_status out{st.spec.uuid, st.spec.name, st.state, st.detail,
                     st.since_ns,  st.resets,    {}};
  if (st.m)
    for (auto& core : st.m->vcpus())
      out.vcpus.push_back(vcpu_report{core->vcpu->index(),
                                      to_string(core->state.load()),
                                      core->counters.snapshot()});
  return out;
}

void set_state(self_ptr self, const std::string& state,
               const std::string& detail) {
  auto& st = self->state;
  state_change ev{st.spec.uuid, st.state, state, detail, wall_ns()};
  st.state = state;
  st.detail = detail;
  st.since_ns = ev.since_ns;
  log(self, "Changing the VM state from '" + ev.previous + "' to '" + state
                + "'" + (detail.empty() ? "" : " (" + detail + ")"));
  for (auto& l : st.listeners)
    self->send(l, ev);
}

void spawn_executors(self_ptr self, bool running) {
  auto& st = self->state;
  for (auto& core : st.m->vcpus()) {
    core->setup.start_running = running;
    auto exec = spawn_vcpu_executor(self->system(), core);
    self->monitor(exec);
    st.executors.push_back(exec);
  }
}

/// Stops every executor; `then` runs once all of them are gone.
void stop_executors(self_ptr self, std::function<void()> then) {
  auto& st = self->state;
  st.busy = true;
  st.pending_downs = st.executors.size();
  st.after_stop = std::move(then);
  for (size_t i = 0; i < st.executors.size(); ++i) {
    caf::anon_send(st.executors[i], stop_atom_v);
    st.m->vcpus()[i]->vcpu->kick();
  }
  if (st.pending_downs == 0) {
    st.busy = false;
    auto f = std::move(st.after_stop);
    f();
  }
}

void on_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto it = std::find(st.executors.begin(), st.executors.end(), dm.source);
  if (it == st.executors.end())
    return;
  st.executors.erase(it);
  if (st.pending_downs > 0 && --st.pending_downs == 0) {
    st.busy = false;
    if (st.after_stop) {
      auto f = std::move(st.after_stop);
      f();
    }
  } else if (st.pending_downs == 0 && st.state == "running") {
    // An executor died on its own (exception): the VM cannot go on.
    stop_executors(self, [self] {
      self->state.m.reset();
      set_state(self, "aborted", "a vCPU executor ended unexpectedly");
    });
  }
}

/// Sends `msg` to every executor, kicks each, and calls `done` when all
/// answered.
template <class Atom>
void broadcast(self_ptr self, Atom msg, std::function<void()> done) {
  auto& st = self->state;
  auto left = std::make_shared<size_t>(st.executors.size());
  if (*left == 0) {
    done();
    return;
  }
  for (size_t i = 0; i < st.executors.size(); ++i) {
    self->request(st.executors[i], 10s, msg)
        .then([left, done](const vcpu_report&) {
          if (--*left == 0)
            done();
        });
    st.m->vcpus()[i]->vcpu->kick();
  }
}

caf::error busy_error(self_ptr self, const char* verb) {
  return make_vmm_error(
      vmm_errc::bad_state,
      "VM '" + self->state.spec.name + "' cannot " + verb + " while it is "
          + (self->state.teleporting ? std::string{"teleporting"}
                                     : self->state.state)
          + (self->state.busy ? " (a transition is running)" : ""));
}

void power_off(self_ptr self, const std::string& why) {
  stop_executors(self, [self, why] {
    self->state.m.reset();
    set_state(self, "poweroff", why);
  });
}

void abort_vm(self_ptr self, const std::string& why) {
  log(self, "Guru meditation: " + why);
  stop_executors(self, [self, why] {
    self->state.m.reset();
    set_state(self, "aborted", why);
  });
}

void reset(self_ptr self, const std::string& why) {
  log(self, "Resetting the VM (" + why + ")");
  stop_executors(self, [self, why] {
    auto& st = self->state;
    st.m.reset();
    auto m =
        machine::build(*st.eng, st.spec, make_machine_hooks(st.relay, st.opts));
    if (!m) {
      set_state(self, "aborted", "reset failed: " + error_text(m.error()));
      return;
    }
    st.m = std::move(*m);
    ++st.resets;
    spawn_executors(self, true);
    set_state(self, "running", why);
  });
}

/// Starts a transition that stops the executors (`start`: reset or power
/// off) and answers with the status once it is over.
caf::result<machine_status> stop_and_answer(self_ptr self, const char* verb,
                                            void (*start)(self_ptr,
                                                          const std::string&),
                                            const std::string& why) {
  auto& st = self->state;
  if (st.busy || !st.m || st.teleporting)
    return busy_error(self, verb);
  auto rp = self->make_response_promise<machine_status>();
  start(self, why);
  if (!st.busy) { // Nothing to wait for: already done.
    rp.deliver(status_of(self));
    return rp;
  }
  st.after_stop = [self, rp, f = std::move(st.after_stop)]() mutable {
    f();
    rp.deliver(status_of(self));
  };
  return rp;
}

void on_event(self_ptr self, const vcpu_event& ev) {
  auto& st = self->state;
  if (st.busy || !st.m)
    return; // Already stopping; late events from other vCPUs are moot.
  if (st.teleporting && ev.kind != "stopped") {
    // A reset or power-off would free the memory the teleport reads; it
    // waits for the teleport (which may also carry the request along).
    if (!st.held)
      st.held = ev;
    return;
  }
  auto who = ev.index == UINT32_MAX ? std::string{"device"}
                                    : "vCPU " + std::to_string(ev.index);
  log(self, who + ": " + ev.kind + (ev.detail.empty() ? "" : ", " + ev.detail));
  if (ev.kind == "poweroff")
    power_off(self, ev.detail.empty() ? "guest powered off" : ev.detail);
  else if (ev.kind == "reset")
    reset(self, ev.detail.empty() ? "guest reset" : ev.detail);
  else if (ev.kind == "shutdown")
    st.spec.reset_on_triple_fault ? reset(self, ev.detail)
                                  : power_off(self, ev.detail);
  else if (ev.kind == "error")
    abort_vm(self, who + ": " + ev.detail);
}

// --- teleport -----------------------------------------------------------

void teleported(self_ptr self, const std::string& why) {
  stop_executors(self, [self, why] {
    self->state.m.reset();
    set_state(self, "teleported", why);
  });
}

caf::result<machine_lease> teleport_lease(self_ptr self, bool on) {
  auto& st = self->state;
  if (on) {
    if (st.busy || !st.m || st.teleporting
        || (st.state != "running" && st.state != "paused"))
      return busy_error(self, "teleport");
    st.teleporting = true;
    return machine_lease{st.m.get()};
  }
  st.teleporting = false;
  // A target attached its disks at the hand-over: resets rebuild them.
  if (st.m)
    st.spec = st.m->spec();
  if (auto ev = std::move(st.held)) {
    st.held.reset();
    on_event(self, *ev);
  }
  return machine_lease{};
}

std::string vcpu_name(size_t i) {
  return "vcpu" + std::to_string(i);
}

caf::result<machine_snapshot> save_state(self_ptr self) {
  auto& st = self->state;
  if (st.busy || !st.m || st.state != "paused")
    return busy_error(self, "save its state");
  auto devices = st.m->save_devices();
  if (!devices)
    return devices.error();
  auto snap = std::make_shared<machine_snapshot>();
  for (auto& [name, bytes] : *devices) {
    snap->names.push_back(name);
    snap->blobs.push_back(std::move(bytes));
  }
  auto rp = self->make_response_promise<machine_snapshot>();
  auto n = st.executors.size();
  auto vcpus = std::make_shared<std::vector<std::vector<uint8_t>>>(n);
  auto left = std::make_shared<size_t>(n);
  auto failed = std::make_shared<bool>(false);
  if (n == 0) {
    rp.deliver(std::move(*snap));
    return rp;
  }
  for (size_t i = 0; i < n; ++i) {
    self->request(st.executors[i], 10s, capture_atom_v)
        .then(
            [=](vcpu_state& vs) mutable {
              (*vcpus)[i] = encode_vcpu_state(vs);
              if (--*left == 0 && !*failed) {
                for (size_t k = 0; k < n; ++k) {
                  snap->names.push_back(vcpu_name(k));
                  snap->blobs.push_back(std::move((*vcpus)[k]));
                }
                rp.deliver(std::move(*snap));
              }
            },
            [=](caf::error& e) mutable {
              if (!*failed) {
                *failed = true;
                rp.deliver(std::move(e));
              }
            });
    st.m->vcpus()[i]->vcpu->kick();
  }
  return rp;
}

caf::result<machine_status> load_state(self_ptr self,
                                       const machine_snapshot& snap) {
  auto& st = self->state;
  if (st.busy || !st.m || st.state != "paused")
    return busy_error(self, "load a saved state");
  if (snap.names.size() != snap.blobs.size())
    return make_vmm_error(vmm_errc::bad_state, "malformed machine snapshot");
  std::vector<named_state> devices;
  std::vector<vcpu_state> vcpus(st.executors.size());
  std::vector<bool> seen(vcpus.size());
  for (size_t i = 0; i < snap.names.size(); ++i) {
    const auto& name = snap.names[i];
    if (name.rfind("vcpu", 0) != 0) {
      devices.emplace_back(name, snap.blobs[i]);
      continue;
    }
    auto idx = std::strtoul(name.c_str() + 4, nullptr, 10);
    if (name.size() == 4 || idx >= vcpus.size() || vcpu_name(idx) != name)
      return make_vmm_error(vmm_errc::bad_state,
                            "the saved state has " + name + ", this VM has "
                                + std::to_string(vcpus.size()) + " vCPUs");
    auto vs = decode_vcpu_state(snap.blobs[i]);
    if (!vs)
      return vs.error();
    vcpus[idx] = std::move(*vs);
    seen[idx] = true;
  }
  for (size_t i = 0; i < seen.size(); ++i)
    if (!seen[i])
      return make_vmm_error(vmm_errc::bad_state,
                            "the saved state has no " + vcpu_name(i));
  if (auto err = st.m->load_devices(devices))
    return err;
  auto rp = self->make_response_promise<machine_status>();
  auto left = std::make_shared<size_t>(vcpus.size());
  auto failed = std::make_shared<bool>(false);
  for (size_t i = 0; i < vcpus.size(); ++i) {
    self->request(st.executors[i], 10s, restore_atom_v, std::move(vcpus[i]))
        .then(
            [=](const vcpu_report&) mutable {
              if (--*left == 0 && !*failed)
                rp.deliver(status_of(self));
            },
            [=](caf::error& e) mutable {
              if (!*failed) {
                *failed = true;
                rp.deliver(std::move(e));
              }
            });
    st.m->vcpus()[i]->vcpu->kick();
  }
  if (vcpus.empty())
    rp.deliver(status_of(self));
  return rp;
}

/// Carries the built machine into the actor (spawn arguments are copied).
struct machine_box {
  std::unique_ptr<machine> m;
};

machine_actor::behavior_type
machine_impl(self_ptr self, std::shared_ptr<engine> eng, machine_spec spec,
             std::shared_ptr<machine_box> box, machine_options opts,
             std::shared_ptr<event_relay> relay) {
  auto& st = self->state;
  st.eng = std::move(eng);
  st.spec = std::move(spec);
  st.opts = std::move(opts);
  st.opts.sys = &self->system();
  st.relay = std::move(relay);
  st.listeners = st.opts.listeners;
  st.m = std::move(box->m);
  {
    std::lock_guard<std::mutex> guard{st.relay->mtx};
    st.relay->target = self;
  }
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
  bool paused = st.opts.start_paused;
  spawn_executors(self, !paused);
  set_state(self, paused ? "paused" : "running",
            paused ? "started paused" : "");
  return {
      [self](pause_atom) -> caf::result<machine_status> {
        auto& st = self->state;
        if (st.busy || st.state != "running")
          return busy_error(self, "pause");
        auto rp = self->make_response_promise<machine_status>();
        st.busy = true;
        broadcast(self, pause_atom_v, [self, rp]() mutable {
          self->state.busy = false;
          set_state(self, "paused", "paused by request");
          rp.deliver(status_of(self));
        });
        return rp;
      },
      [self](resume_atom) -> caf::result<machine_status> {
        auto& st = self->state;
        if (st.busy || st.state != "paused")
          return busy_error(self, "resume");
        auto rp = self->make_response_promise<machine_status>();
        st.busy = true;
        broadcast(self, resume_atom_v, [self, rp]() mutable {
          self->state.busy = false;
          set_state(self, "running", "resumed by request");
          rp.deliver(status_of(self));
        });
        return rp;
      },
      [self](reset_atom) -> caf::result<machine_status> {
        return stop_and_answer(self, "reset", reset, "reset by request");
      },
      [self](poweroff_atom) -> caf::result<machine_status> {
        return stop_and_answer(self, "power off", power_off,
                               "powered off by request");
      },
      [self](acpi_button_atom) -> caf::result<machine_status> {
        auto& st = self->state;
        if (st.busy || st.state != "running")
          return busy_error(self, "press the power button");
        if (auto err = st.m->press_power_button())
          return err;
        log(self, "ACPI power button pressed");
        return status_of(self);
      },
      [self](status_atom) -> machine_status { return status_of(self); },
      [self](listen_atom, state_listener_actor l) -> bool {
        self->state.listeners.push_back(std::move(l));
        return true;
      },
      [self](keys_atom, const scancodes& codes) -> caf::result<bool> {
        auto& st = self->state;
        if (!st.m || st.busy)
          return busy_error(self, "take keyboard input");
        if (auto err = st.m->put_scancodes(codes.bytes))
          return err;
        return true;
      },
      [self](teleport_atom, bool on) -> caf::result<machine_lease> {
        return teleport_lease(self, on);
      },
      [self](save_state_atom) -> caf::result<machine_snapshot> {
        return save_state(self);
      },
      [self](load_state_atom, const machine_snapshot& snap)
          -> caf::result<machine_status> { return load_state(self, snap); },
      [self](teleported_atom) -> caf::result<machine_status> {
        self->state.teleporting = false;
        self->state.held.reset();
        return stop_and_answer(self, "hand over", teleported,
                               "teleported to another host");
      },
      [self](const vcpu_event& ev) { on_event(self, ev); },
  };
}

} // namespace

machine_actor spawn_machine(caf::actor_system& sys, std::shared_ptr<engine> eng,
                            machine_spec spec, std::unique_ptr<machine> built,
                            machine_options opts,
                            std::shared_ptr<event_relay> relay) {
  auto box = std::make_shared<machine_box>();
  box->m = std::move(built);
  return sys.spawn(machine_impl, std::move(eng), std::move(spec),
                   std::move(box), std::move(opts), std::move(relay));
}

caf::expected<machine_actor> start_machine(caf::actor_system& sys,
                                           std::shared_ptr<engine> eng,
                                           const machine_spec& spec,
                                           machine_options opts) {
  auto relay = make_event_relay();
  opts.sys = &sys;
  auto m = machine::build(*eng, spec, make_machine_hooks(relay, opts));
  if (!m)
    return m.error();
  return spawn_machine(sys, std::move(eng), spec, std::move(*m),
                       std::move(opts), std::move(relay));
}

} // namespace tb::vmm
