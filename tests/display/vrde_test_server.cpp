// start_vrde over a plain-memory 640x480 frame buffer, for the VRDE
// end-to-end tests with real clients. The left half of the screen is pure
// red, the right half pure green; a frame_tracker (no dirty log: it diffs
// everything) serves it. Prints the VBoxHeadless status line, then
// "listening on port N", every log line prefixed "log: " and one line per
// input event: "scancodes 1e" / "mouse dx dy buttons=b".
// Options: --ports SPEC, --address A, --seconds N (default 90),
// --auth null|simple|pam, --user NAME --hash SHA256HEX (VBoxAuthSimple
// extradata), --multicon, --reusecon, --disable-display, --disable-input,
// --security negotiate|rdp|tls, --folder DIR (machine folder),
// --redirect HOST[:PORT] (on SIGUSR1: redirect_clients(HOST, PORT), then
// print "redirect: N redirected, M disconnected").
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/error_text.hpp"
#include "display/vrde_server.hpp"

namespace {

std::mutex out_mtx;

void say(const std::string& s) {
  std::lock_guard lock{out_mtx};
  std::printf("%s\n", s.c_str());
  std::fflush(stdout);
}

class printing_input final : public tb::display::vm_input {
public:
  void put_scancodes(std::span<const uint8_t> b) override {
    std::string s = "scancodes";
    char hex[4];
    for (auto v : b) {
      std::snprintf(hex, sizeof(hex), " %02x", v);
      s += hex;
    }
    say(s);
  }
  void mouse_event(int dx, int dy, uint8_t buttons) override {
    say("mouse " + std::to_string(dx) + " " + std::to_string(dy)
        + " buttons=" + std::to_string(buttons));
  }
};

volatile std::sig_atomic_t stop_flag = 0;
volatile std::sig_atomic_t redirect_flag = 0;

} // namespace

int main(int argc, char** argv) {
  using namespace tb::display;
  tb::settings::vrde_settings vs;
  vs.enabled = true;
  vs.properties["TCP/Address"] = "127.0.0.1";
  vs.properties["TCP/Ports"] = "0";
  std::map<std::string, std::string> extradata;
  std::string user, folder;
  std::string library = "VBoxAuth";
  int seconds = 90;
  std::string redirect_host;
  uint16_t redirect_port = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string{argv[++i]} : ""; };
    if (a == "--ports")
      vs.properties["TCP/Ports"] = next();
    else if (a == "--address")
      vs.properties["TCP/Address"] = next();
    else if (a == "--seconds")
      seconds = std::stoi(next());
    else if (a == "--auth") {
      auto t = next();
      vs.auth_type = t == "null" ? "Null" : "External";
      library = t == "simple" ? "VBoxAuthSimple" : "VBoxAuth";
    } else if (a == "--user")
      user = next();
    else if (a == "--hash")
      extradata["VBoxAuthSimple/users/" + user] = next();
    else if (a == "--multicon")
      vs.multi_con = true;
    else if (a == "--reusecon")
      vs.reuse_con = true;
    else if (a == "--disable-display")
      vs.properties["Client/DisableDisplay"] = "1";
    else if (a == "--disable-input")
      extradata["VRDE/Feature/Client/DisableInput"] = "1";
    else if (a == "--security")
      vs.properties["Security/Method"] = next();
    else if (a == "--folder")
      folder = next();
    else if (a == "--redirect") {
      redirect_host = next();
      if (auto c = redirect_host.rfind(':'); c != std::string::npos) {
        redirect_port =
            static_cast<uint16_t>(std::stoi(redirect_host.substr(c + 1)));
        redirect_host.resize(c);
      }
    } else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  // "0" would become 3389 under VirtualBox's rule; the test wants any port.
  bool any_port = vs.properties["TCP/Ports"] == "0";
  auto ed = [extradata](const std::string& k) -> std::optional<std::string> {
    auto it = extradata.find(k);
    if (it == extradata.end())
      return std::nullopt;
    return it->second;
  };
  auto cfg = make_vrde_config(vs, ed, library, folder);
  if (!cfg) {
    std::fprintf(stderr, "%s\n", tb::error_text(cfg.error()).c_str());
    return 1;
  }
  if (any_port)
    cfg->ports = "0";
  std::vector<uint8_t> mem(640 * 480 * 4);
  for (int y = 0; y < 480; ++y)
    for (int x = 0; x < 640; ++x) {
      uint32_t v = x < 320 ? 0xFF0000 : 0x00FF00;
      std::memcpy(mem.data() + (y * 640 + x) * 4, &v, 4);
    }
  frame_tracker fb{mem, {}};
  fb.set_mode({640, 480, 32, 0, 0});
  printing_input input;
  auto srv = start_vrde(*cfg, fb, input,
                        [](const std::string& s) { say("log: " + s); });
  if (!srv) {
    say("VRDE server failed to start.");
    std::fprintf(stderr, "%s\n", tb::error_text(srv.error()).c_str());
    return 1;
  }
  say((*srv)->status_line());
  say("listening on port " + std::to_string((*srv)->port()));
  std::signal(SIGTERM, [](int) { stop_flag = 1; });
  std::signal(SIGINT, [](int) { stop_flag = 1; });
  std::signal(SIGUSR1, [](int) { redirect_flag = 1; });
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  size_t last = 0;
  while (!stop_flag && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (redirect_flag && !redirect_host.empty()) {
      redirect_flag = 0;
      auto r = (*srv)->redirect_clients(redirect_host, redirect_port);
      if (r)
        say("redirect: " + std::to_string(r->redirected) + " redirected, "
            + std::to_string(r->disconnected) + " disconnected");
      else
        say("redirect: " + tb::error_text(r.error()));
    }
    auto conns = (*srv)->connections();
    if (conns.size() != last) {
      last = conns.size();
      std::string s = "connections " + std::to_string(last);
      for (auto& c : conns)
        s += " [" + c.user + "@" + c.client_ip + " " + c.encryption + "]";
      say(s);
    }
  }
  (*srv)->stop();
  return 0;
}
