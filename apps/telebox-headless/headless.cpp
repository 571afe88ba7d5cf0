// The headless front end: settings lookup, logs, machine start, signals,
// and the wait for the guest to power off.
#include "headless.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/error_text.hpp"
#include "actors/messages/all.hpp"
#include "actors/runtime.hpp"
#include "cluster/vm_link.hpp"
#include "control_vrde.hpp"
#include "display/vrde_config.hpp"
#include "display/vrde_server.hpp"
#include "settings/paths.hpp"
#include "teleport_session.hpp"
#include "vm_screen.hpp"
#include "vmm/host_check.hpp"
#include "vmm/machine_actor.hpp"
#include "vmm/vm_log.hpp"

namespace tb::headless {

namespace {

using namespace std::chrono_literals;

constexpr const char* version = "0.1.0";

/// COM1 sinks: Logs/serial.log and, with --serial-stdout, stdout.
struct serial_sink {
  int file = -1;
  bool to_stdout = false;
  void write(std::span<const uint8_t> bytes) const {
    if (file >= 0)
      (void)::write(file, bytes.data(), bytes.size());
    if (to_stdout)
      (void)::write(STDOUT_FILENO, bytes.data(), bytes.size());
  }
};

/// What the listener saw; the main thread waits on `wake`.
struct run_result {
  std::mutex mtx;
  std::string state;
  int wake = -1; ///< eventfd
};

vmm::state_listener_actor::behavior_type
listener_impl(vmm::state_listener_actor::pointer,
              std::shared_ptr<run_result> res,
              std::function<void(const vmm::state_change&)> report) {
  return {
      [res, report](const vmm::state_change& ev) {
        if (report)
          report(ev);
        std::lock_guard<std::mutex> guard{res->mtx};
        res->state = ev.state;
        uint64_t one = 1;
        (void)::write(res->wake, &one, sizeof one);
      },
  };
}

/// Blocks the signals the main thread takes through a signalfd; done before
/// any thread starts so every thread inherits the mask.
int block_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return signalfd(-1, &set, SFD_CLOEXEC);
}

int fail(const std::string& msg) {
  std::fprintf(stderr, "Error: %s\n", msg.c_str());
  return 1;
}

std::string current_state(run_result& res) {
  std::lock_guard<std::mutex> guard{res.mtx};
  return res.state;
}

bool terminal(const std::string& s) {
  return s == "poweroff" || s == "aborted" || s == "teleported";
}

/// Everything one run holds, in destruction order (actors before logs).
class session {
public:
  explicit session(const options& o) : opts_(o) {}

  int run();

private:
  int prepare();
  int start_vrde();
  int start();
  void wait();
  int run_target();
  void log(const std::string& line) {
    if (log_)
      log_->line(line);
  }
  vmm::machine_status request_status(caf::scoped_actor& self);
  cluster::control_handler control_handler();
  void put_scancodes(caf::scoped_actor& self, const host::cli_request& req,
                     host::cli_reply& out);
  host::cli_reply control_vrde(const host::cli_request& req);

  options opts_;
  std::optional<settings::global_config> global_;
  std::optional<settings::machine_config> cfg_;
  vmm::machine_spec spec_;
  std::vector<std::string> warnings_;
  std::unique_ptr<vmm::vm_log> log_;
  serial_sink serial_;
  int sigfd_ = -1;
  std::shared_ptr<run_result> res_ = std::make_shared<run_result>();
  std::shared_ptr<vmm::engine> eng_;
  std::optional<caf::actor_system_config> sys_cfg_;
  std::optional<caf::actor_system> sys_;
  vmm::machine_actor machine_;
  bool target_ = false; ///< Waits for an incoming teleport (teleport_*.cpp).
  std::function<caf::expected<vmm::machine_actor>()> build_target_;
  vmm::state_listener_actor listener_;
  std::optional<cluster::vm_link> link_;
  // The screen outlives the server that reads it; both outlive the actors
  // (destroyed after sys_, whose reset joins every vCPU thread).
  vm_screen screen_;
  std::unique_ptr<display::vrde_server> vrde_;
  std::shared_ptr<std::atomic<int>> vrde_port_ =
      std::make_shared<std::atomic<int>>(-1);
  std::optional<vrde_control> vrde_control_; ///< controlvm vrde* state
};

int session::prepare() {
  auto folder = settings::global_folder();
  if (!folder)
    return fail(error_text(folder.error()));
  auto global = settings::global_config::load(*folder);
  if (!global)
    return fail(error_text(global.error()));
  global_ = std::move(*global);
  auto cfg = find_machine(*global_, opts_.vm);
  if (!cfg)
    return fail(error_text(cfg.error()));
  cfg_ = std::move(*cfg);
  auto spec = spec_from_settings(*cfg_, *global_, &warnings_);
  if (!spec)
    return fail(error_text(spec.error()));
  spec_ = std::move(*spec);
  auto logs = (std::filesystem::path{cfg_->folder()} / "Logs").string();
  auto log = vmm::vm_log::open(logs, global_->properties().log_history_count);
  if (!log)
    return fail(error_text(log.error()));
  log_ = std::move(*log);
  auto serial_path = logs + "/serial.log";
  serial_.file = ::open(serial_path.c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (serial_.file < 0)
    return fail("cannot write " + serial_path + ": " + std::strerror(errno));
  serial_.to_stdout = opts_.serial_stdout;
  return 0;
}

/// Creates the RDP server (listening when --vrde or the settings enable
/// it, idle otherwise so `controlvm vrde on` can start it) and prints
/// VBoxHeadless's status line.
int session::start_vrde() {
  auto vrde = cfg_->hardware().vrde;
  if (opts_.vrde == "on" || opts_.vrde == "off")
    vrde.enabled = opts_.vrde == "on";
  // A copy: the server's authentication threads read it.
  auto extra = std::make_shared<std::map<std::string, std::string>>();
  for (auto& [k, v] : cfg_->extradata_all())
    (*extra)[k] = v;
  auto lookup = [extra](const std::string& key) -> std::optional<std::string> {
    auto it = extra->find(key);
    if (it == extra->end())
      return std::nullopt;
    return it->second;
  };
  vrde_control_.emplace(vrde, lookup, global_->properties().vrde_auth_library,
                        cfg_->folder());
  auto cfg = vrde_control_->config();
  if (!cfg && vrde.enabled)
    return fail(error_text(cfg.error()));
  if (!cfg) { // off: the VM runs; controlvm vrde on names the problem
    log("VRDE: " + error_text(cfg.error()));
    return 0;
  }
  auto log_fn = [this](const std::string& l) { log(l); };
  auto srv = display::start_vrde(*cfg, screen_, screen_, log_fn);
  if (!srv) {
    log("VRDE: " + error_text(srv.error()));
    std::fprintf(stderr, "Error: %s\n", error_text(srv.error()).c_str());
    std::printf("VRDE server failed to start.\n");
    // Idle, so a later controlvm vrde|vrdeport can try again.
    cfg->enabled = false;
    srv = display::start_vrde(*cfg, screen_, screen_, log_fn);
    if (!srv)
      return fail(error_text(srv.error()));
    vrde_ = std::move(*srv);
    vrde_port_->store(0);
    return 0;
  }
  vrde_ = std::move(*srv);
  vrde_port_->store(vrde_->port());
  if (vrde.enabled) {
    auto status = vrde_->status_line();
    log(status);
    std::printf("%s\n", status.c_str());
  }
  return 0;
}

/// controlvm vrde|vrdeport|vrdeproperty; the new port goes to the host
/// service at once (showvminfo's vrdeport).
host::cli_reply session::control_vrde(const host::cli_request& req) {
  if (!vrde_ || !vrde_control_) {
    auto cfg =
        vrde_control_
            ? vrde_control_->config()
            : caf::expected<display::vrde_config>{display::vrde_config{}};
    auto why = cfg ? std::string{"the VRDE server is not available"}
                   : error_text(cfg.error());
    return {1, {}, "VBoxManage: error: " + why + "\n"};
  }
  auto out = vrde_control_->handle(*vrde_, req.argv);
  vrde_port_->store(vrde_->port());
  auto status = vrde_->status_line();
  log("VRDE: controlvm " + req.argv[2] + ": " + status);
  if (link_)
    link_->report(current_state(*res_), vrde_port_->load());
  return out;
}

int session::start() {
  auto host = vmm::detect_host();
  log(std::string{"telebox VM process "} + version + " for '" + spec_.name
      + "' {" + spec_.uuid + "}, pid " + std::to_string(::getpid()));
  log("Host: " + host.cpu_model + ", " + std::to_string(host.cpus)
      + " CPUs, Linux " + host.kernel);
  if (auto warn = vmm::host_warning(host); !warn.empty()) {
    std::fprintf(stderr, "Warning: %s\n", warn.c_str());
    log("Warning: " + warn);
  }
  auto eng = vmm::open_kvm_engine();
  if (!eng) {
    log("Error: " + error_text(eng.error()));
    return fail(error_text(eng.error()));
  }
  eng_ = std::shared_ptr<vmm::engine>{std::move(*eng)};
  log("KVM API " + std::to_string(eng_->info().api_version) + ", max "
      + std::to_string(eng_->info().max_vcpus) + " vCPUs"
      + (eng_->info().pvm ? ", PVM (software virtualization)" : ""));
  // Building the machine (VM, memslots: each waits for an SRCU grace
  // period) overlaps with starting the actor system.
  vmm::machine_options mo;
  mo.start_paused = opts_.start_paused;
  // A teleport target is built paused and without its disks, which the
  // source still holds (teleport_target.cpp).
  target_ = teleport_target_enabled(*cfg_);
  auto build_spec = spec_;
  if (target_) {
    mo.start_paused = true;
    build_spec.disks.clear();
  }
  mo.log = [this](const std::string& line) { log(line); };
  mo.serial_out = [s = serial_](std::span<const uint8_t> b) { s.write(b); };
  if (vrde_)
    mo.display_mode = [scr = &screen_](vmm::machine* m,
                                       const devices::display_mode& mode) {
      scr->on_mode(m, mode);
    };
  auto relay = vmm::make_event_relay();
  auto make_system = [this] {
    sys_cfg_.emplace();
    if (opts_.host_service) {
      actors::configure(*sys_cfg_);
    } else {
      // No middleman: nothing in a lone VM process talks over the network.
      actors::register_message_types(*sys_cfg_);
      sys_cfg_->set("scheduler.policy", caf::atom("sharing"));
      sys_cfg_->set("scheduler.max-threads", 2);
    }
    sys_.emplace(*sys_cfg_);
  };
  // Disks need their storage actors at build time; without disks the build
  // overlaps with the actor system's start.
  if (!spec_.disks.empty()) {
    make_system();
    mo.sys = &*sys_;
  }
  auto built = std::async(std::launch::async, [this, relay, mo, build_spec] {
    return vmm::machine::build(*eng_, build_spec,
                               vmm::make_machine_hooks(relay, mo));
  });
  if (!sys_)
    make_system();
  res_->wake = eventfd(0, EFD_CLOEXEC);
  std::function<void(const vmm::state_change&)> report;
  if (opts_.host_service) {
    auto folder = global_->folder();
    auto link =
        cluster::vm_link::attach(*sys_, folder, spec_.uuid, control_handler());
    if (!link) {
      built.wait();
      return fail(error_text(link.error()));
    }
    link_ = std::move(*link);
    report = [link = *link_, port = vrde_port_](const vmm::state_change& ev) {
      link.report(ev.state, port->load());
    };
  }
  listener_ = sys_->spawn(listener_impl, res_, report);
  auto m = built.get();
  if (!m) {
    log("Error: " + error_text(m.error()));
    return fail(error_text(m.error()));
  }
  if (target_) {
    build_target_ = [this, mo,
                     build_spec]() -> caf::expected<vmm::machine_actor> {
      return vmm::start_machine(*sys_, eng_, build_spec, mo);
    };
  } else {
    mo.listeners.push_back(listener_);
  }
  machine_ =
      vmm::spawn_machine(*sys_, eng_, build_spec, std::move(*m), mo, relay);
  return 0;
}

vmm::machine_status session::request_status(caf::scoped_actor& self) {
  vmm::machine_status st;
  self->request(machine_, 5s, vmm::status_atom_v)
      .receive([&](vmm::machine_status& s) { st = std::move(s); },
               [](caf::error&) {});
  return st;
}

/// controlvm <vm> keyboardputscancode <hex> [<hex> ...]
void session::put_scancodes(caf::scoped_actor& self,
                            const host::cli_request& req,
                            host::cli_reply& out) {
  vmm::scancodes codes;
  for (size_t i = 3; i < req.argv.size(); ++i) {
    const auto& a = req.argv[i];
    char* end = nullptr;
    auto v = std::strtoul(a.c_str(), &end, 16);
    if (a.empty() || a.size() > 2 || *end || v > 0xff) {
      out.exit_code = 1;
      out.err = "VBoxManage: error: Error: '" + a + "' is not a hex byte!\n";
      return;
    }
    codes.bytes.push_back(static_cast<uint8_t>(v));
  }
  if (codes.bytes.empty()) {
    out.exit_code = 2;
    out.err = "VBoxManage: error: Missing argument to 'keyboardputscancode'\n";
    return;
  }
  self->request(machine_, 10s, vmm::keys_atom_v, codes)
      .receive([](bool) {},
               [&](caf::error& e) {
                 out.exit_code = 1;
                 out.err = "VBoxManage: error: " + error_text(e) + "\n";
               });
}

cluster::control_handler session::control_handler() {
  // controlvm verbs, answered synchronously on the control actor's thread.
  return [this](const host::cli_request& req) {
    host::cli_reply out;
    auto verb = req.argv.size() > 2 ? req.argv[2] : "";
    caf::scoped_actor self{*sys_};
    auto ask = [&](auto atom) {
      self->request(machine_, 30s, atom)
          .receive([](vmm::machine_status&) {},
                   [&](caf::error& e) {
                     out.exit_code = 1;
                     out.err = "VBoxManage: error: " + error_text(e) + "\n";
                   });
    };
    if (verb == "pause")
      ask(vmm::pause_atom_v);
    else if (verb == "resume")
      ask(vmm::resume_atom_v);
    else if (verb == "reset")
      ask(vmm::reset_atom_v);
    else if (verb == "poweroff")
      ask(vmm::poweroff_atom_v);
    else if (verb == "acpipowerbutton")
      ask(vmm::acpi_button_atom_v);
    else if (verb == "keyboardputscancode")
      put_scancodes(self, req, out);
    else if (verb == "teleport")
      out = teleport_source({&*sys_, machine_,
                             cluster::fingerprint_of(cfg_->hardware()),
                             [this](const std::string& l) { log(l); },
                             vrde_.get()},
                            req);
    else if (vrde_control::handles(verb))
      out = control_vrde(req);
    else {
      out.exit_code = 1;
      out.err = "VBoxManage: error: controlvm " + verb
                + " is not supported by telebox yet\n";
    }
    return out;
  };
}

void session::wait() {
  pollfd fds[2] = {{sigfd_, POLLIN, 0}, {res_->wake, POLLIN, 0}};
  bool asked = false;
  while (!terminal(current_state(*res_))) {
    if (::poll(fds, 2, -1) < 0 && errno != EINTR)
      break;
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si{};
      (void)::read(sigfd_, &si, sizeof si);
      log(std::string{"Got signal "} + strsignal(si.ssi_signo)
          + ", powering off");
      if (!asked) {
        asked = true;
        caf::anon_send(machine_, vmm::poweroff_atom_v);
      }
    }
    if (fds[1].revents & POLLIN) {
      uint64_t n;
      (void)::read(res_->wake, &n, sizeof n);
    }
  }
}

/// Waits for the teleport that brings this VM here (teleport_target.cpp);
/// then the machine that arrived is the session's and reports as usual.
int session::run_target() {
  teleport_target_context ctx;
  ctx.sys = &*sys_;
  ctx.teleporter = cfg_->teleporter();
  ctx.fingerprint = cluster::fingerprint_of(cfg_->hardware());
  ctx.disks = spec_.disks;
  ctx.build = build_target_;
  ctx.discard = [this](vmm::machine_actor m) {
    caf::scoped_actor self{*sys_};
    self->request(m, 30s, vmm::poweroff_atom_v)
        .receive([](vmm::machine_status&) {}, [](caf::error&) {});
    caf::anon_send_exit(m, caf::exit_reason::user_shutdown);
  };
  ctx.log = [this](const std::string& l) { log(l); };
  ctx.stop_fd = sigfd_;
  if (link_) // VirtualBox's state while a target waits.
    link_->report("teleportingin", vrde_port_->load());
  auto arrived = run_teleport_target(ctx, machine_);
  if (!arrived) {
    machine_ = nullptr;
    if (link_)
      link_->close();
    caf::anon_send_exit(listener_, caf::exit_reason::user_shutdown);
    listener_ = nullptr;
    sys_.reset();
    return fail(error_text(arrived.error()));
  }
  machine_ = std::move(*arrived);
  caf::scoped_actor self{*sys_};
  self->request(machine_, 5s, vmm::listen_atom_v, listener_)
      .receive([](bool) {}, [](caf::error&) {});
  auto st = request_status(self);
  {
    std::lock_guard<std::mutex> guard{res_->mtx};
    res_->state = st.state;
  }
  if (link_)
    link_->report(st.state, vrde_port_->load());
  return 0;
}

int session::run() {
  sigfd_ = block_signals();
  std::printf("telebox Headless Interface %s\n"
              "Copyright (C) the telebox authors\n\n",
              version);
  std::fflush(stdout);
  if (int rc = prepare())
    return rc;
  for (auto& w : warnings_) {
    std::fprintf(stderr, "Warning: %s\n", w.c_str());
    log("Warning: " + w);
  }
  if (int rc = start_vrde())
    return rc;
  if (int rc = start()) {
    sys_.reset();
    return rc;
  }
  if (target_)
    if (int rc = run_target())
      return rc;
  std::printf("VM '%s' has been successfully started.\n", spec_.name.c_str());
  std::fflush(stdout);
  wait();
  auto state = current_state(*res_);
  {
    caf::scoped_actor self{*sys_};
    auto st = request_status(self);
    log("Exiting: VM state " + st.state
        + (st.detail.empty() ? "" : " (" + st.detail + ")"));
  }
  if (link_)
    link_->close();
  caf::anon_send_exit(machine_, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(listener_, caf::exit_reason::user_shutdown);
  machine_ = nullptr;
  listener_ = nullptr;
  sys_.reset(); // Joins every detached actor: no vCPU thread outlives this.
  vrde_.reset();
  log("All VM threads joined");
  return state == "poweroff" || state == "teleported" ? 0 : 1;
}

} // namespace

int run(const options& opts) {
  session s{opts};
  return s.run();
}

} // namespace tb::headless
