// A stand-alone RDP server over a synthetic 1024x768 frame buffer, for the
// end-to-end tests with real clients (xfreerdp, rdesktop). Prints
// "listening on port N" once ready and one line per input event:
//   key 0x1e down ext=0
//   unicode 0x0061 down
//   pointer 10 20 buttons=1 wheel=0
// Options: --ports SPEC (default 0 = any free), --address A (repeatable),
// --seconds N (exit after N seconds, default 120), --deny (refuse logons),
// --full-damage-ms N (damage the whole screen every N ms: load tests),
// --resize-after-ms N [--resize WxH] (mode change, default 800x600),
// --allow-unencrypted (clients offering no RC4), --no-tls (Standard RDP
// Security only), --bench-encode N (print codec
// cost per frame and exit), --max-payload N (bytes per update PDU).
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/error_text.hpp"
#include "display/rdp/bitmap_update.hpp"
#include "display/rdp/client_info.hpp"
#include "display/rdp_server.hpp"
#include "net/event_loop.hpp"

namespace {

using tb::display::rect;

/// The test pattern: 8x6 blocks of 128x128 in distinct colours, block (0,0)
/// pure red and unique, a white 1-pixel grid, and the bottom-right block
/// alternating between blue and yellow on a timer.
class test_pattern final : public tb::display::frame_source {
public:
  test_pattern() { resize(1024, 768); }

  uint16_t width() const override {
    std::lock_guard lock{mtx_};
    return w_;
  }
  uint16_t height() const override {
    std::lock_guard lock{mtx_};
    return h_;
  }
  void read(const rect& r, std::span<uint32_t> out) const override {
    std::lock_guard lock{mtx_};
    // Rows inside the frame are copied; anything outside (a read racing a
    // mode change) is black.
    unsigned inside_w = r.x < w_ ? std::min<unsigned>(r.w, w_ - r.x) : 0;
    for (unsigned y = 0; y < r.h; ++y) {
      uint32_t* dst = out.data() + size_t{y} * r.w;
      unsigned sy = r.y + y;
      unsigned n = sy < h_ ? inside_w : 0;
      if (n)
        std::memcpy(dst, px_.data() + size_t{sy} * w_ + r.x, n * 4u);
      std::fill(dst + n, dst + r.w, 0u);
    }
  }

  static uint32_t block_color(unsigned bx, unsigned by) {
    if (bx == 0 && by == 0)
      return 0xFF0000;
    static const uint32_t palette[] = {0x00FF00, 0x0000FF, 0xFFFF00, 0x00FFFF,
                                       0xFF00FF, 0x808080, 0x008000, 0x800000,
                                       0x000080, 0x808000, 0x008080, 0x800080};
    return palette[(bx + by * 8) % 12];
  }

  /// A new mode, as a guest would set it; the pattern is redrawn.
  void resize(uint16_t w, uint16_t h) {
    std::lock_guard lock{mtx_};
    w_ = w;
    h_ = h;
    px_.assign(size_t{w} * h, 0);
    for (unsigned by = 0; by * 128 < h; ++by)
      for (unsigned bx = 0; bx * 128 < w; ++bx)
        fill(bx, by, block_color(bx, by));
    fill(7, 5, phase_ ? 0xFFFF00 : 0x0000FF);
  }

  /// Toggles the animated block (bottom right of 1024x768); returns its
  /// rectangle (empty when the mode is too small for it).
  rect toggle() {
    std::lock_guard lock{mtx_};
    phase_ = !phase_;
    fill(7, 5, phase_ ? 0xFFFF00 : 0x0000FF);
    if (w_ < 1024 || h_ < 768)
      return rect{};
    return rect{7 * 128, 5 * 128, 128, 128};
  }

private:
  /// Block (bx, by): solid colour, a gradient band in its last 32 rows and
  /// a white 1-pixel grid line on its top and left (not for the red one).
  void fill(unsigned bx, unsigned by, uint32_t c) {
    for (unsigned y = by * 128; y < std::min<unsigned>(by * 128 + 128, h_); ++y)
      for (unsigned x = bx * 128; x < std::min<unsigned>(bx * 128 + 128, w_);
           ++x) {
        bool grid = (x % 128 == 0 || y % 128 == 0) && !(bx == 0 && by == 0);
        uint32_t v = grid ? 0xFFFFFF : c;
        if (!grid && (y % 128) >= 96)
          v = ((x & 0xFF) << 16) | ((y & 0xFF) << 8) | ((x + y) & 0xFF);
        px_[size_t{y} * w_ + x] = v;
      }
  }

  mutable std::mutex mtx_;
  uint16_t w_ = 0, h_ = 0;
  std::vector<uint32_t> px_;
  bool phase_ = false;
};

class stdout_sink final : public tb::display::input_sink {
public:
  void key(uint8_t code, bool down, bool ext, bool ext1) override {
    std::printf("key 0x%02x %s ext=%d ext1=%d\n", code, down ? "down" : "up",
                ext ? 1 : 0, ext1 ? 1 : 0);
    std::fflush(stdout);
  }
  void unicode_key(uint16_t code, bool down) override {
    std::printf("unicode 0x%04x %s\n", code, down ? "down" : "up");
    std::fflush(stdout);
  }
  void pointer(uint16_t x, uint16_t y, uint8_t buttons, int wheel,
               int hwheel) override {
    std::printf("pointer %u %u buttons=%u wheel=%d hwheel=%d\n", x, y, buttons,
                wheel, hwheel);
    std::fflush(stdout);
  }
  void sync_locks(uint32_t flags) override {
    std::printf("sync 0x%x\n", flags);
    std::fflush(stdout);
  }
};

} // namespace

namespace {

/// --bench-encode N: encodes the full pattern N times per depth and prints
/// the time per frame and the bytes a client would receive.
int bench(int n) {
  test_pattern fb;
  for (uint16_t bpp : {15, 16, 24, 32}) {
    tb::display::rdp::bitmap_format fmt;
    fmt.bpp = bpp;
    size_t bytes = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i)
      for (auto& p : tb::display::rdp::encode_bitmap_updates(
               fb, rect{0, 0, fb.width(), fb.height()}, fmt))
        bytes += p.size();
    std::chrono::duration<double, std::milli> dt =
        std::chrono::steady_clock::now() - t0;
    std::printf("bench %u bpp: %.2f ms per 1024x768 frame, %zu bytes "
                "(raw %zu)\n",
                bpp, dt.count() / n, bytes / n,
                size_t{1024} * 768 * ((bpp + 7) / 8));
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  tb::display::rdp_server_config cfg;
  cfg.listen.ports = "0";
  int seconds = 120;
  int full_damage_ms = 0;
  int resize_after_ms = 0;
  unsigned resize_w = 800, resize_h = 600;
  bool deny = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--ports" && i + 1 < argc)
      cfg.listen.ports = argv[++i];
    else if (a == "--address" && i + 1 < argc)
      cfg.listen.addresses.push_back(argv[++i]);
    else if (a == "--seconds" && i + 1 < argc)
      seconds = std::stoi(argv[++i]);
    else if (a == "--full-damage-ms" && i + 1 < argc)
      full_damage_ms = std::stoi(argv[++i]);
    else if (a == "--bench-encode" && i + 1 < argc)
      return bench(std::stoi(argv[++i]));
    else if (a == "--max-payload" && i + 1 < argc)
      cfg.max_update_payload = std::stoul(argv[++i]);
    else if (a == "--allow-unencrypted")
      cfg.allow_unencrypted = true;
    else if (a == "--no-tls")
      cfg.enable_tls = false;
    else if (a == "--resize-after-ms" && i + 1 < argc)
      resize_after_ms = std::stoi(argv[++i]);
    else if (a == "--resize" && i + 1 < argc
             && std::sscanf(argv[i + 1], "%ux%u", &resize_w, &resize_h) == 2)
      ++i;
    else if (a == "--deny")
      deny = true;
    else {
      std::fprintf(stderr, "rdp_test_server: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  cfg.log = [](const std::string& s) {
    std::printf("log %s\n", s.c_str());
    std::fflush(stdout);
  };
  cfg.authenticate = [deny](const tb::display::rdp::client_info& ci) {
    std::printf("logon user=\"%s\" domain=\"%s\" screen=%d\n", ci.user.c_str(),
                ci.domain.c_str(),
                ci.screen ? static_cast<int>(*ci.screen) : -1);
    std::fflush(stdout);
    return !deny;
  };
  auto loop = tb::net::event_loop::start();
  if (!loop) {
    std::fprintf(stderr, "%s\n", tb::error_text(loop.error()).c_str());
    return 1;
  }
  test_pattern fb;
  stdout_sink sink;
  auto server = tb::display::rdp_server::start(**loop, cfg, fb, sink);
  if (!server) {
    std::fprintf(stderr, "rdp_test_server: %s\n",
                 tb::error_text(server.error()).c_str());
    return 1;
  }
  std::printf("listening on port %u\n", (*server)->port());
  std::fflush(stdout);

  std::atomic<bool> done{false};
  std::thread animator([&] {
    int step = full_damage_ms > 0 ? full_damage_ms : 50;
    int per_toggle = std::max(1, 500 / step);
    auto start = std::chrono::steady_clock::now();
    bool resized = false;
    for (int n = 0; !done; ++n) {
      std::this_thread::sleep_for(std::chrono::milliseconds(step));
      if (resize_after_ms > 0 && !resized
          && std::chrono::steady_clock::now() - start
                 >= std::chrono::milliseconds(resize_after_ms)) {
        resized = true;
        fb.resize(static_cast<uint16_t>(resize_w),
                  static_cast<uint16_t>(resize_h));
        std::printf("resized to %ux%u\n", resize_w, resize_h);
        std::fflush(stdout);
        (*server)->notify_damage(rect{0, 0, fb.width(), fb.height()});
      }
      if (n % per_toggle == 0)
        if (auto r = fb.toggle(); !r.empty())
          (*server)->notify_damage(r);
      if (full_damage_ms > 0) // load: resend everything
        (*server)->notify_damage(rect{0, 0, fb.width(), fb.height()});
    }
  });
  timespec limit{seconds, 0};
  sigtimedwait(&sigs, nullptr, &limit);
  done = true;
  animator.join();
  (*server)->stop();
  (*loop)->stop();
  std::printf("stopped\n");
  return 0;
}
