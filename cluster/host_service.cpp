// The host service core: one actor serialises every registry access, so two
// clients changing one machine never lose an update; a separate gate is the
// only published actor and hands out the API for the right secret.
#include "cluster/host_service.hpp"

#include <filesystem>
#include <map>
#include <set>

#include <sys/stat.h>
#include <sys/wait.h>

#include <caf/all.hpp>

#include "actors/error_text.hpp"
#include "cluster/commands.hpp"
#include "cluster/host_endpoint.hpp"
#include "cluster/host_errors.hpp"
#include "cluster/registry.hpp"
#include "cluster/vm_process.hpp"

namespace tb::cluster {

namespace {

// Process-local atoms; they never cross a process boundary.
using tick_atom = caf::atom_constant<caf::atom("tbtick")>;
using vm_timeout_atom = caf::atom_constant<caf::atom("tbvmtmo")>;
using refuse_atom = caf::atom_constant<caf::atom("tbrefuse")>;

constexpr auto tick_interval = std::chrono::milliseconds(200);
constexpr auto vm_start_timeout = std::chrono::seconds(60);
constexpr auto failed_login_delay = std::chrono::seconds(1);

/// One VM process the service started (or that attached to it).
struct vm_process {
  pid_t pid = 0;
  std::string name;
  std::string log_path;
  host::vm_control_actor control;
  caf::response_promise start_promise; ///< Pending `startvm` reply.
  bool start_pending = false;
};

struct host_state {
  host_service_config cfg;
  std::unique_ptr<registry> reg;
  std::set<caf::node_id> authed_nodes;
  std::set<caf::actor_addr> clients;
  std::vector<host::event_listener_actor> listeners;
  std::map<std::string, vm_process> vms; ///< By braced UUID.
  std::map<caf::node_id, int> failed_logins;
  std::map<uint64_t, caf::typed_response_promise<host::api_actor>> refusals;
  uint64_t next_refusal = 0;
  caf::actor_clock::time_point idle_since;
  static inline const char* name = "host_service";
};

using host_ptr = caf::stateful_actor<host_state>*;

int64_t wall_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void broadcast(host_ptr self, const host::host_event& ev) {
  for (auto& l : self->state.listeners)
    self->send(l, ev);
}

bool authorized(host_ptr self) {
  auto& sender = self->current_sender();
  if (!sender)
    return false;
  auto node = sender->node();
  return node == self->node() || self->state.authed_nodes.count(node) > 0;
}

/// Every requester counts as a client until it goes down, so the service
/// stays while a watcher listens or a command runs.
void note_client(host_ptr self) {
  auto& sender = self->current_sender();
  if (!sender)
    return;
  // Any request restarts the idle period, even one from a client that is
  // gone before the next tick looks.
  self->state.idle_since = self->clock().now();
  if (self->state.clients.insert(sender->address()).second)
    self->monitor(sender);
}

host::cli_reply failure(std::string text, int code = 1) {
  return host::cli_reply{code, {}, "telebox: error: " + std::move(text) + "\n"};
}

void set_vm_state(host_ptr self, const std::string& uuid, const std::string& st,
                  int32_t vrde_port, int32_t pid) {
  auto rs = self->state.reg->state(uuid);
  rs.state = st;
  rs.since_ns = wall_clock_ns();
  rs.vrde_port = vrde_port;
  rs.pid = pid;
  self->state.reg->set_state(uuid, rs);
  auto* m = self->state.reg->find(uuid);
  broadcast(self, host::host_event{"state", uuid.substr(1, 36),
                                   m ? m->name() : std::string{}, st});
}

/// `startvm <vm> [--type headless]`: answered once the VM reports running.
caf::result<host::cli_reply> start_vm(host_ptr self, host::cli_request& req) {
  std::string vm, type = "headless";
  auto& a = req.argv;
  for (size_t i = 1; i < a.size(); ++i) {
    if ((a[i] == "--type" || a[i] == "-type") && i + 1 < a.size())
      type = a[++i];
    else if (a[i].rfind("--type=", 0) == 0)
      type = a[i].substr(7);
    else if (a[i] == "-E" || a[i] == "--putenv")
      return failure("startvm: option " + a[i] + " is not supported yet");
    else if (vm.empty() && a[i].rfind("-", 0) != 0)
      vm = a[i];
    else
      return failure("startvm: unknown option '" + a[i] + "'", 2);
  }
  if (vm.empty())
    return failure("startvm: missing the machine name or UUID", 2);
  if (type != "headless")
    return failure("startvm: --type " + type
                   + " is not supported (telebox runs VMs headless only)");
  auto* m = self->state.reg->find(vm);
  if (!m)
    return failure("Could not find a registered machine named '" + vm + "'");
  auto uuid = m->uuid();
  if (self->state.reg->is_running(uuid) || self->state.vms.count(uuid))
    return failure("The machine '" + m->name()
                   + "' is already locked by a session (or being locked or "
                     "unlocked)");
  auto logs = m->folder() + "/Logs";
  std::filesystem::create_directories(logs);
  auto log_path = logs + "/telebox-headless.out";
  auto pid = spawn_vm_process(self->state.cfg.headless_path, uuid, log_path);
  if (!pid)
    return failure(error_text(pid.error()));
  auto& proc = self->state.vms[uuid];
  proc.pid = *pid;
  proc.name = m->name();
  proc.log_path = log_path;
  proc.start_pending = true;
  proc.start_promise = self->make_response_promise();
  set_vm_state(self, uuid, "starting", -1, *pid);
  self->delayed_send(self, vm_start_timeout, vm_timeout_atom::value, uuid);
  return proc.start_promise;
}

void finish_start(vm_process& proc, host::cli_reply reply) {
  if (!proc.start_pending)
    return;
  proc.start_pending = false;
  proc.start_promise.deliver(std::move(reply));
}

host::cli_reply started_reply(const std::string& name) {
  return host::cli_reply{0,
                         "Waiting for VM \"" + name + "\" to power on...\nVM \""
                             + name + "\" has been successfully started.\n",
                         {}};
}

/// VirtualBox keeps what `controlvm vrde|vrdeport|vrdeproperty` changed in
/// the machine's settings; the VM process applied it, the settings file is
/// ours, so the same change goes through `modifyvm` (which allows the VRDE
/// options while the machine runs).
void persist_runtime_change(host_ptr self, const host::cli_request& req,
                            host::cli_reply& reply) {
  const auto& verb = req.argv[2];
  if ((verb != "vrde" && verb != "vrdeport" && verb != "vrdeproperty")
      || req.argv.size() != 4)
    return;
  std::vector<std::string> argv{"modifyvm", req.argv[1], "--" + verb,
                                req.argv[3]};
  auto out =
      run_command(*self->state.reg, argv, command_context{req.cwd, req.input});
  for (auto& ev : out.events)
    broadcast(self, ev);
  if (out.exit_code != 0)
    reply.err += "VBoxManage: warning: the running VM took the change, but "
                 "saving it to the settings failed:\n"
                 + out.err;
}

/// A source whose teleport succeeded ends in state "teleported". Its own
/// report of that may still be in flight when the process exits (and is
/// reaped), so the successful reply to the teleport request counts too.
void note_teleported(host_ptr self, const std::string& vm) {
  auto* m = self->state.reg->find(vm);
  if (!m)
    return;
  auto it = self->state.vms.find(m->uuid());
  int32_t pid = it != self->state.vms.end() ? it->second.pid : 0;
  set_vm_state(self, m->uuid(), "teleported", -1, pid);
}

/// `controlvm <vm> <verb> ...`: forwarded to the VM process.
caf::result<host::cli_reply> control_vm(host_ptr self, host::cli_request& req) {
  if (req.argv.size() < 3)
    return failure("controlvm: usage: controlvm <vm> <command> [args]", 2);
  auto* m = self->state.reg->find(req.argv[1]);
  if (!m)
    return failure("Could not find a registered machine named '" + req.argv[1]
                   + "'");
  auto it = self->state.vms.find(m->uuid());
  // A VM process that teleported away or powered off may take a moment to
  // exit; its control actor is gone already, and a request to it would
  // wait for the whole timeout.
  auto state = self->state.reg->state(m->uuid()).state;
  bool ended =
      state == "teleported" || state == "poweroff" || state == "aborted";
  if (it == self->state.vms.end() || !it->second.control || ended)
    return failure("Machine '" + m->name() + "' is not currently running");
  auto rp = self->make_response_promise<host::cli_reply>();
  self->request(it->second.control, std::chrono::seconds(120),
                host::control_atom::value, req)
      .then(
          [self, rp, req](host::cli_reply& r) mutable {
            if (r.exit_code == 0 && req.argv[2] == "teleport")
              note_teleported(self, req.argv[1]);
            else if (r.exit_code == 0)
              persist_runtime_change(self, req, r);
            rp.deliver(std::move(r));
          },
          [rp](caf::error& e) mutable {
            rp.deliver(failure("controlvm: " + error_text(e)));
          });
  return rp;
}

host::cli_reply run_locally(host_ptr self, const host::cli_request& req) {
  auto out = run_command(*self->state.reg, req.argv,
                         command_context{req.cwd, req.input});
  for (auto& ev : out.events)
    broadcast(self, ev);
  return host::cli_reply{out.exit_code, std::move(out.out), std::move(out.err)};
}

caf::result<host::cli_reply> exec(host_ptr self, host::cli_request& req) {
  if (!authorized(self))
    return caf::make_error(host_errc::denied, std::string{"not authenticated"});
  note_client(self);
  if (req.argv.empty())
    return failure("no command given", 2);
  const auto& verb = req.argv[0];
  if (verb == "startvm")
    return start_vm(self, req);
  if (verb == "controlvm")
    return control_vm(self, req);
  return run_locally(self, req);
}

void vm_ended(host_ptr self, const std::string& uuid, int status) {
  auto it = self->state.vms.find(uuid);
  if (it == self->state.vms.end())
    return;
  auto& proc = it->second;
  bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  auto prior = self->state.reg->state(uuid).state;
  if (proc.start_pending) {
    auto tail = tail_of_file(proc.log_path, 2000);
    finish_start(proc, failure("The VM session for '" + proc.name
                               + "' ended before the VM powered on:\n" + tail));
  }
  // A teleported source ends in VirtualBox's terminal state "teleported";
  // anything else that exits cleanly was powered off.
  std::string final_state = "poweroff";
  if (clean && prior == "teleported")
    final_state = prior;
  else if (!clean && prior != "poweroff")
    final_state = "aborted";
  self->state.vms.erase(it);
  set_vm_state(self, uuid, final_state, -1, 0);
}

void tick(host_ptr self) {
  std::vector<std::pair<std::string, int>> ended;
  for (auto& [uuid, proc] : self->state.vms) {
    int status = reap_vm_process(proc.pid);
    if (status >= 0)
      ended.emplace_back(uuid, status);
  }
  for (auto& [uuid, status] : ended)
    vm_ended(self, uuid, status);
  auto& st = self->state;
  auto now = self->clock().now();
  if (!st.clients.empty() || !st.vms.empty() || !st.listeners.empty())
    st.idle_since = now;
  else if (now - st.idle_since >= st.cfg.idle_exit)
    self->quit();
  self->delayed_send(self, tick_interval, tick_atom::value);
}

caf::result<host::api_actor> hello(host_ptr self, const std::string& secret) {
  auto sender = self->current_sender();
  auto node = sender ? sender->node() : caf::node_id{};
  if (!secrets_equal(secret, self->state.cfg.secret)) {
    // Throttle guessing: every failure from a node costs it one more second.
    auto& fails = self->state.failed_logins[node];
    ++fails;
    auto rp = self->make_response_promise<host::api_actor>();
    auto id = self->state.next_refusal++;
    self->state.refusals.emplace(id, rp);
    self->delayed_send(self, failed_login_delay * fails, refuse_atom::value,
                       id);
    return rp;
  }
  self->state.authed_nodes.insert(node);
  note_client(self);
  return caf::actor_cast<host::api_actor>(self);
}

caf::behavior host_impl(host_ptr self, host_service_config cfg, registry* reg) {
  self->state.cfg = std::move(cfg);
  self->state.reg.reset(reg);
  self->state.idle_since = self->clock().now();
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    st.clients.erase(dm.source);
    auto& ls = st.listeners;
    ls.erase(
        std::remove_if(ls.begin(), ls.end(),
                       [&](const auto& l) { return l.address() == dm.source; }),
        ls.end());
  });
  self->send(self, tick_atom::value);
  return {
      [=](host::hello_atom, const std::string& secret) {
        return hello(self, secret);
      },
      [=](refuse_atom, uint64_t id) {
        // Delivers a throttled login failure.
        auto it = self->state.refusals.find(id);
        if (it == self->state.refusals.end())
          return;
        it->second.deliver(caf::make_error(
            host_errc::denied, std::string{"wrong host service secret"}));
        self->state.refusals.erase(it);
      },
      [=](host::exec_atom, host::cli_request& req) { return exec(self, req); },
      [=](host::watch_atom,
          host::event_listener_actor& l) -> caf::result<bool> {
        if (!authorized(self))
          return caf::make_error(host_errc::denied,
                                 std::string{"not authenticated"});
        note_client(self);
        self->monitor(l);
        self->state.listeners.push_back(std::move(l));
        return true;
      },
      [=](host::vm_attach_atom, const std::string& uuid, int32_t pid,
          host::vm_control_actor& ctl) -> caf::result<bool> {
        if (!authorized(self))
          return caf::make_error(host_errc::denied,
                                 std::string{"not authenticated"});
        auto braced = uuid.front() == '{' ? uuid : "{" + uuid + "}";
        auto* m = self->state.reg->find(braced);
        if (!m)
          return caf::make_error(host_errc::not_found,
                                 "unknown machine " + uuid);
        auto& proc = self->state.vms[braced];
        proc.pid = proc.pid ? proc.pid : pid;
        proc.name = m->name();
        proc.control = std::move(ctl);
        return true;
      },
      [=](host::vm_status_atom, host::vm_status& st) {
        if (!authorized(self))
          return;
        auto braced = st.uuid.front() == '{' ? st.uuid : "{" + st.uuid + "}";
        set_vm_state(self, braced, st.state, st.vrde_port, st.pid);
        auto it = self->state.vms.find(braced);
        // Started: running, paused (--start-paused) or, for a teleport
        // target, waiting for the incoming teleport.
        if (it != self->state.vms.end()
            && (st.state == "running" || st.state == "paused"
                || st.state == "teleportingin"))
          finish_start(it->second, started_reply(it->second.name));
      },
      [=](vm_timeout_atom, const std::string& uuid) {
        auto it = self->state.vms.find(uuid);
        if (it != self->state.vms.end() && it->second.start_pending)
          finish_start(it->second, failure("VM '" + it->second.name
                                           + "' did not power on within 60 s"));
      },
      [=](tick_atom) { tick(self); },
  };
}

caf::behavior gate_impl(caf::event_based_actor* self, caf::actor core) {
  return {
      [=](host::hello_atom h, std::string& secret) {
        // Delegation keeps the client as sender, so the core sees who asked.
        return self->delegate(core, h, std::move(secret));
      },
  };
}

} // namespace

host_service_handles spawn_host_service(caf::actor_system& sys,
                                        host_service_config cfg,
                                        std::unique_ptr<registry> reg) {
  auto core = sys.spawn(host_impl, std::move(cfg), reg.release());
  auto gate = sys.spawn(gate_impl, core);
  return {caf::actor_cast<host::gate_actor>(gate), core};
}

} // namespace tb::cluster
