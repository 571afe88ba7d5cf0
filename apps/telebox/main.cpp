// telebox: the command line, VBoxManage's syntax with another name. Every
// command runs in the host service (started on demand); this process only
// forwards the command line and prints what comes back.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/error_text.hpp"
#include "actors/runtime.hpp"
#include "cluster/host_client.hpp"
#include "settings/paths.hpp"

namespace {

constexpr const char* version_text = "0.1.0_telebox";

void print_usage() {
  std::printf(
      "Usage: telebox [-q|--nologo] <command> [<options>]\n\n"
      "Commands (VBoxManage syntax):\n"
      "  list vms|runningvms|ostypes|hdds|dvds|systemproperties\n"
      "  showvminfo <vm> [--machinereadable]\n"
      "  createvm --name <name> [--ostype <type>] [--register]"
      " [--basefolder <path>] [--uuid <uuid>]\n"
      "  registervm <file> | unregistervm <vm> [--delete]\n"
      "  modifyvm <vm> <options>      (see README.md)\n"
      "  createmedium|createhd [disk|dvd|floppy] --filename <file>"
      " --size <MB> [--format VDI|RAW] [--variant Standard|Fixed]\n"
      "  closemedium [disk|dvd|floppy] <uuid|file> [--delete]\n"
      "  storagectl <vm> --name <name> ...\n"
      "  storageattach <vm> --storagectl <name> --port <n> --device <n>"
      " --type hdd|dvddrive --medium <file|uuid|none>\n"
      "  setextradata|getextradata <vm|global> <key>|enumerate [<value>]\n"
      "  setproperty machinefolder|vrdeauthlibrary <value>|default\n"
      "  startvm <vm> [--type headless]\n"
      "  controlvm <vm> pause|resume|reset|poweroff|acpipowerbutton|...\n"
      "  internalcommands passwordhash <password>\n"
      "  watch [--count <n>]           print host service events\n");
}

/// Arguments that name "stdin" as a file make this process read stdin.
bool wants_stdin(const std::vector<std::string>& args) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    const auto& a = args[i];
    if ((a == "--teleporterpasswordfile" || a == "--teleporter-password-file"
         || a == "--passwordfile" || a == "--password-file")
        && args[i + 1] == "stdin")
      return true;
  }
  return false;
}

std::string current_dir() {
  char buf[4096];
  return ::getcwd(buf, sizeof(buf)) ? std::string{buf} : std::string{"/"};
}

std::atomic<bool> interrupted{false};

int watch(caf::actor_system& sys, tb::host::api_actor api, long count) {
  caf::scoped_actor self{sys};
  auto listener = self->spawn(
      [](tb::host::event_listener_actor::pointer,
         caf::actor printer) -> tb::host::event_listener_actor::behavior_type {
        return {[printer](const tb::host::host_event& ev) {
          caf::anon_send(printer, ev);
        }};
      },
      caf::actor_cast<caf::actor>(self));
  bool ok = false;
  self->request(api, std::chrono::seconds(10), tb::host::watch_atom_v, listener)
      .receive([&](bool r) { ok = r; },
               [&](caf::error& e) {
                 std::fprintf(stderr, "telebox: error: %s\n",
                              tb::error_text(e).c_str());
               });
  if (!ok)
    return 1;
  std::signal(SIGINT, [](int) { interrupted = true; });
  self->monitor(api);
  long seen = 0;
  while (!interrupted && (count <= 0 || seen < count)) {
    self->receive(
        [&](const tb::host::host_event& ev) {
          std::printf("%s {%s} \"%s\" %s\n", ev.kind.c_str(), ev.uuid.c_str(),
                      ev.name.c_str(), ev.detail.c_str());
          std::fflush(stdout);
          ++seen;
        },
        [&](const caf::down_msg&) {
          std::fprintf(stderr, "telebox: error: the host service went away\n");
          interrupted = true;
        },
        caf::after(std::chrono::milliseconds(200)) >> [] {});
  }
  caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
  return 0;
}

/// Asks the host service on the client's behalf and answers `caller` with
/// the reply, or with an error if the service goes away first (a pending
/// request alone would wait forever for a dead peer).
caf::behavior relay_impl(caf::event_based_actor* self, tb::host::api_actor api,
                         tb::host::cli_request req, caf::actor caller) {
  auto answer = [self, caller](tb::host::cli_reply r) {
    self->send(caller, std::move(r));
    self->quit();
  };
  self->monitor(api);
  self->set_down_handler([answer](caf::down_msg&) {
    answer({1, {}, "telebox: error: the host service went away\n"});
  });
  self->request(api, caf::infinite, tb::host::exec_atom_v, std::move(req))
      .then([answer](tb::host::cli_reply& r) { answer(std::move(r)); },
            [answer](caf::error& e) {
              answer({1, {}, "telebox: error: " + tb::error_text(e) + "\n"});
            });
  return {};
}

int execute(caf::actor_system& sys, tb::host::api_actor api,
            tb::host::cli_request req) {
  caf::scoped_actor self{sys};
  sys.spawn(relay_impl, api, std::move(req), caf::actor_cast<caf::actor>(self));
  int code = 1;
  self->receive([&](tb::host::cli_reply& r) {
    std::fwrite(r.out.data(), 1, r.out.size(), stdout);
    std::fwrite(r.err.data(), 1, r.err.size(), stderr);
    code = r.exit_code;
  });
  return code;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  while (!args.empty() && (args[0] == "-q" || args[0] == "--nologo"))
    args.erase(args.begin());
  if (args.empty() || args[0] == "help" || args[0] == "--help"
      || args[0] == "-h") {
    print_usage();
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version" || args[0] == "-v") {
    std::printf("%s\n", version_text);
    return 0;
  }
  auto folder = tb::settings::global_folder();
  if (!folder) {
    std::fprintf(stderr, "telebox: error: %s\n",
                 tb::error_text(folder.error()).c_str());
    return 1;
  }
  tb::host::cli_request req{args, current_dir(), {}};
  if (wants_stdin(args))
    req.input.assign(std::istreambuf_iterator<char>(std::cin),
                     std::istreambuf_iterator<char>());
  caf::actor_system_config cfg;
  tb::actors::configure(cfg);
  caf::actor_system sys{cfg};
  auto api = tb::cluster::connect_host_service(sys, *folder,
                                               tb::cluster::autostart::yes);
  if (!api) {
    std::fprintf(stderr, "telebox: error: %s\n",
                 tb::error_text(api.error()).c_str());
    return 1;
  }
  if (args[0] == "watch") {
    long count = 0;
    if (args.size() == 3 && args[1] == "--count")
      count = std::strtol(args[2].c_str(), nullptr, 10);
    return watch(sys, *api, count);
  }
  return execute(sys, *api, std::move(req));
}
