// RDP server benchmark on loopback: the real rdp_server over a 1024x768
// frame buffer that a "guest" thread animates, with N lightweight clients
// in this process. Each client replays a recorded RDP connection sequence
// (fuzz/corpus/rdp_fuzz/session_plain_fastpath.bin: Standard RDP Security
// without encryption, 16 bpp, fast-path output) and then only reads,
// time-stamping every chunk it receives; it does not decode bitmaps.
//
//   rdp_bench <transcript> [--clients N] [--stalled M] [--seconds S]
//             [--probes P] [--fps F] [--flush-ms MS] [--xfreerdp DISPLAY]
//
// Phase 1, latency: P times, with the screen idle, the guest thread writes
// a whole new frame and reports the damage; per client, the time from the
// write to the first and to the last byte of the resulting updates (the
// last byte = the whole encoded frame is on the wire).
// Phase 2, throughput: the guest writes a new full frame F times a second
// for S seconds; per client the frames the server completed (every
// pending damage sent), update bytes, and the server loop thread's CPU.
// M stalled clients connect but never read (their socket fills up).
// --xfreerdp: one more client, a real xfreerdp (/sec:rdp /bpp:16, full
// 1024x768 window at 0,0) on that X display (an Xvfb of the same size);
// the bench reads the display's bottom-right pixel through libX11
// (dlopen'ed) in a tight loop: the frames carry a marker colour there, so
// the time from the write to the pixel changing is the latency to the
// client's pixels, and the marker changes counted are its frames per
// second.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "actors/error_text.hpp"
#include "display/rdp_server.hpp"
#include "net/event_loop.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using tb::display::rect;

double ms_since(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

/// The animated screen: a diagonal gradient that scrolls, crossed by bars
/// that move every frame, so every pixel row changes each frame.
class animated_fb final : public tb::display::frame_source {
public:
  static constexpr uint16_t w = 1024, h = 768;
  animated_fb() : px_(size_t{w} * h) { draw(0); }

  uint16_t width() const override { return w; }
  uint16_t height() const override { return h; }
  void read(const rect& r, std::span<uint32_t> out) const override {
    std::lock_guard lock{mtx_};
    for (int y = 0; y < r.h; ++y)
      std::memcpy(&out[size_t(y) * r.w], &px_[size_t(r.y + y) * w + r.x],
                  size_t(r.w) * 4);
  }
  void draw(uint32_t frame) {
    std::lock_guard lock{mtx_};
    for (uint32_t y = 0; y < h; ++y)
      for (uint32_t x = 0; x < w; ++x) {
        uint32_t g = (x + y + frame * 4) & 0xFF;
        bool bar = ((x + frame * 16) / 32) % 4 == 0;
        px_[size_t(y) * w + x] =
            bar ? 0xFFFFFF : (g << 16) | ((255 - g) << 8) | (frame & 0xFF);
      }
    // The marker: a 32x32 block whose colour (exact at 16 bpp) changes
    // with every frame.
    uint32_t m = marker(frame);
    for (uint32_t y = h - 32; y < h; ++y)
      for (uint32_t x = w - 32; x < w; ++x)
        px_[size_t(y) * w + x] = m;
  }
  static uint32_t marker(uint32_t frame) {
    uint32_t r = (frame * 8) & 0xF8, g = ((frame >> 5) * 4 + 0x40) & 0xFC;
    uint32_t b = ((frame >> 11) * 8 + 0x80) & 0xF8;
    return r << 16 | g << 8 | b;
  }

private:
  mutable std::mutex mtx_;
  std::vector<uint32_t> px_;
};

class null_input final : public tb::display::input_sink {
public:
  void key(uint8_t, bool, bool, bool) override {}
  void unicode_key(uint16_t, bool) override {}
  void pointer(uint16_t, uint16_t, uint8_t, int, int) override {}
  void sync_locks(uint32_t) override {}
};

struct chunk {
  clock_type::time_point at;
  size_t bytes;
};

/// One client socket; records what arrives (when reading).
struct client {
  int fd = -1;
  bool reads = true;
  std::thread thread;
  std::vector<chunk> chunks;
  /// When a bitmap rectangle reaching the bottom-right corner arrived: the
  /// session sends a frame top to bottom, so that is the frame complete.
  std::vector<clock_type::time_point> frames;
  size_t total = 0;
  std::vector<uint8_t> pending; ///< bytes of an incomplete PDU
};

uint16_t le16(const uint8_t* p) {
  return uint16_t(p[0] | p[1] << 8);
}

/// Walks the fast-path updates of one output PDU body for bitmap
/// rectangles that end at the bottom-right pixel.
bool completes_frame(const uint8_t* p, size_t n) {
  bool done = false;
  while (n >= 3) {
    uint8_t hdr = p[0];
    size_t at = 1;
    if ((hdr >> 6) & 0x2)
      ++at; // compressionFlags
    if (n < at + 2)
      break;
    size_t size = le16(p + at);
    at += 2;
    if (n < at + size)
      break;
    const uint8_t* u = p + at;
    if ((hdr & 0x0F) == 0x1 && size >= 4) { // bitmap
      size_t rects = le16(u + 2), off = 4;
      for (size_t r = 0; r < rects && off + 18 <= size; ++r) {
        uint16_t right = le16(u + off + 4), bottom = le16(u + off + 6);
        if (right == animated_fb::w - 1 && bottom == animated_fb::h - 1)
          done = true;
        off += 18 + le16(u + off + 16);
      }
    }
    p += at + size;
    n -= at + size;
  }
  return done;
}

/// Splits the stream into TPKT and fast-path PDUs.
void parse(client& c, clock_type::time_point at) {
  auto& b = c.pending;
  size_t pos = 0;
  while (b.size() - pos >= 3) {
    const uint8_t* p = b.data() + pos;
    size_t len, head;
    if (p[0] == 0x03) {
      if (b.size() - pos < 4)
        break;
      len = size_t(p[2]) << 8 | p[3];
      head = len;
    } else if (p[1] & 0x80) {
      len = size_t(p[1] & 0x7F) << 8 | p[2];
      head = 3;
    } else {
      len = p[1];
      head = 2;
    }
    if (len < 2 || b.size() - pos < len)
      break;
    if (p[0] != 0x03 && completes_frame(p + head, len - head))
      c.frames.push_back(at);
    pos += len;
  }
  b.erase(b.begin(), b.begin() + pos);
}

int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void read_loop(client& c) {
  std::vector<uint8_t> buf(256 * 1024);
  c.chunks.reserve(1 << 20);
  for (;;) {
    ssize_t n = ::recv(c.fd, buf.data(), buf.size(), 0);
    if (n <= 0)
      return;
    auto at = clock_type::now();
    c.chunks.push_back({at, size_t(n)});
    c.total += size_t(n);
    c.pending.insert(c.pending.end(), buf.begin(), buf.begin() + n);
    parse(c, at);
  }
}

/// The bits of libX11 the pixel observer needs, loaded at run time (the
/// bench links no X library).
struct xlib {
  void* so = nullptr;
  Display* (*open)(const char*) = nullptr;
  XImage* (*get_image)(Display*, Drawable, int, int, unsigned, unsigned,
                       unsigned long, int) = nullptr;
  Display* dpy = nullptr;

  bool load(const std::string& display) {
    so = dlopen("libX11.so.6", RTLD_NOW);
    if (!so)
      return false;
    open = reinterpret_cast<decltype(open)>(dlsym(so, "XOpenDisplay"));
    get_image = reinterpret_cast<decltype(get_image)>(dlsym(so, "XGetImage"));
    if (!open || !get_image)
      return false;
    dpy = open(display.c_str());
    return dpy != nullptr;
  }
  /// The root window's pixel at (x, y) as 0xRRGGBB.
  uint32_t pixel(int x, int y) {
    XImage* img =
        get_image(dpy, DefaultRootWindow(dpy), x, y, 1, 1, AllPlanes, ZPixmap);
    if (!img)
      return 0xFFFFFFFF;
    uint32_t v = img->f.get_pixel(img, 0, 0) & 0xFFFFFF;
    img->f.destroy_image(img);
    return v;
  }
};

/// The 16 bpp colour a client shows for 0xRRGGBB (5-6-5, bits repeated).
uint32_t as_565(uint32_t c) {
  uint32_t r = (c >> 19) & 0x1F, g = (c >> 10) & 0x3F, b = (c >> 3) & 0x1F;
  r = (r << 3) | (r >> 2);
  g = (g << 2) | (g >> 4);
  b = (b << 3) | (b >> 2);
  return r << 16 | g << 8 | b;
}

/// Colours equal up to the rounding a client's 5/6-bit expansion does.
bool near(uint32_t a, uint32_t b) {
  for (int sh : {0, 8, 16})
    if (std::abs(int((a >> sh) & 0xFF) - int((b >> sh) & 0xFF)) > 6)
      return false;
  return true;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, size_t(p / 100.0 * (v.size() - 1) + 0.5));
  return v[i];
}

double thread_cpu_ms(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double process_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: rdp_bench <transcript> [--clients N] "
                 "[--stalled M] [--seconds S] [--probes P] [--fps F]\n");
    return 2;
  }
  int n_clients = 1, n_stalled = 0, probes = 30;
  double seconds = 5, fps = 60;
  std::string xdisplay;
  int flush_ms = 5; // rdp_server_config's default
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    double v = std::atof(argv[i + 1]);
    if (a == "--clients")
      n_clients = int(v);
    else if (a == "--stalled")
      n_stalled = int(v);
    else if (a == "--seconds")
      seconds = v;
    else if (a == "--probes")
      probes = int(v);
    else if (a == "--fps")
      fps = v;
    else if (a == "--flush-ms")
      flush_ms = int(v);
    else if (a == "--xfreerdp")
      xdisplay = argv[i + 1];
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::vector<uint8_t> transcript{std::istreambuf_iterator<char>(in),
                                  std::istreambuf_iterator<char>()};
  if (transcript.size() < 1000) {
    std::fprintf(stderr, "cannot read the transcript %s\n", argv[1]);
    return 1;
  }

  animated_fb fb;
  null_input input;
  auto loop = tb::net::event_loop::start();
  if (!loop)
    return 1;
  std::mutex log_mtx;
  std::vector<std::string> log;
  tb::display::rdp_server_config cfg;
  cfg.listen.addresses = {"127.0.0.1"};
  cfg.listen.ports = "0";
  cfg.enable_tls = false;
  cfg.allow_unencrypted = true;  // what the recorded client offers
  cfg.allow_rdp_security = true; // xfreerdp /sec:rdp
  cfg.flush_period = std::chrono::milliseconds(flush_ms);
  cfg.log = [&](const std::string& s) {
    std::lock_guard lock{log_mtx};
    log.push_back(s);
  };
  caf::expected<std::shared_ptr<tb::display::rdp_server>> srv =
      std::shared_ptr<tb::display::rdp_server>{};
  (*loop)->call(
      [&] { srv = tb::display::rdp_server::start(**loop, cfg, fb, input); });
  if (!srv) {
    std::fprintf(stderr, "%s\n", tb::error_text(srv.error()).c_str());
    return 1;
  }
  clockid_t loop_cpu{};
  (*loop)->call([&] { pthread_getcpuclockid(pthread_self(), &loop_cpu); });
  uint16_t port = (*srv)->port();

  std::vector<client> clients(size_t(n_clients + n_stalled));
  for (size_t i = 0; i < clients.size(); ++i) {
    auto& c = clients[i];
    c.reads = int(i) < n_clients;
    c.fd = connect_to(port);
    if (!c.reads) { // a small receive buffer fills at once
      int small = 16 * 1024;
      ::setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    }
    if (::send(c.fd, transcript.data(), transcript.size(), 0)
        != ssize_t(transcript.size())) {
      std::perror("send");
      return 1;
    }
    if (c.reads)
      c.thread = std::thread{[&c] { read_loop(c); }};
  }
  pid_t viewer = -1;
  xlib x;
  if (!xdisplay.empty()) {
    if (!x.load(xdisplay)) {
      std::fprintf(stderr, "cannot open X display %s\n", xdisplay.c_str());
      return 1;
    }
    viewer = fork();
    if (viewer == 0) {
      setenv("DISPLAY", xdisplay.c_str(), 1);
      std::string v = "/v:127.0.0.1:" + std::to_string(port);
      execlp("xfreerdp", "xfreerdp", v.c_str(), "/sec:rdp", "/u:bench", "/p:x",
             "/bpp:16", "/size:1024x768", "-decorations", "/log-level:ERROR",
             static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  size_t expected = clients.size() + (viewer > 0 ? 1 : 0);
  // Everyone active and the first full frame delivered.
  auto deadline = clock_type::now() + std::chrono::seconds(20);
  while (clock_type::now() < deadline) {
    std::lock_guard lock{log_mtx};
    size_t active = std::count_if(log.begin(), log.end(), [](auto& l) {
      return l.find(" active: ") != std::string::npos;
    });
    if (active >= expected)
      break;
  }
  std::this_thread::sleep_for(
      std::chrono::milliseconds(viewer > 0 ? 2000 : 500));
  // The observer thread: polls the marker pixel, records every change.
  std::atomic<bool> observing{viewer > 0};
  std::vector<std::pair<clock_type::time_point, uint32_t>> seen;
  std::thread observer;
  if (viewer > 0)
    observer = std::thread{[&] {
      uint32_t last = 0xFFFFFFFF;
      seen.reserve(1 << 16);
      while (observing) {
        uint32_t v = x.pixel(animated_fb::w - 8, animated_fb::h - 8);
        if (v != last) {
          seen.emplace_back(clock_type::now(), v);
          last = v;
        }
        // 0.25 ms between polls: fine enough, and leaves the CPU to the
        // client and the server being measured.
        std::this_thread::sleep_for(std::chrono::microseconds(250));
      }
    }};

  // Phase 1: latency probes on an idle screen.
  uint32_t frame = 1;
  std::vector<clock_type::time_point> probe_at;
  std::vector<uint32_t> probe_marker;
  for (int p = 0; p < probes; ++p) {
    probe_marker.push_back(as_565(animated_fb::marker(frame)));
    fb.draw(frame++);
    probe_at.push_back(clock_type::now());
    (*srv)->notify_damage({0, 0, animated_fb::w, animated_fb::h});
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
  auto phase2_at = clock_type::now();
  std::vector<double> first_ms, last_ms;
  for (auto& c : clients) {
    if (!c.reads)
      continue;
    for (size_t p = 0; p < probe_at.size(); ++p) {
      auto from = probe_at[p];
      auto to = p + 1 < probe_at.size() ? probe_at[p + 1] : phase2_at;
      for (auto& ch : c.chunks)
        if (ch.at >= from && ch.at < to) {
          first_ms.push_back(ms_since(from, ch.at));
          break;
        }
      for (auto& f : c.frames)
        if (f >= from && f < to) {
          last_ms.push_back(ms_since(from, f));
          break;
        }
    }
  }

  // Phase 2: animation at `fps` for `seconds`.
  std::vector<size_t> bytes_before;
  for (auto& c : clients)
    bytes_before.push_back(c.total);
  double cpu0 = thread_cpu_ms(loop_cpu), pcpu0 = process_cpu_ms();
  auto start = clock_type::now();
  auto period = std::chrono::duration<double>(1.0 / fps);
  auto next = start;
  uint32_t written = 0;
  double guest_ms = 0;
  while (clock_type::now() - start < std::chrono::duration<double>(seconds)) {
    auto t = clock_type::now();
    fb.draw(frame++);
    guest_ms += ms_since(t, clock_type::now());
    (*srv)->notify_damage({0, 0, animated_fb::w, animated_fb::h});
    ++written;
    next += std::chrono::duration_cast<clock_type::duration>(period);
    std::this_thread::sleep_until(next);
  }
  double elapsed = ms_since(start, clock_type::now()) / 1e3;
  observing = false;
  if (observer.joinable())
    observer.join();
  double cpu = thread_cpu_ms(loop_cpu) - cpu0;
  double pcpu = process_cpu_ms() - pcpu0 - guest_ms;
  auto end_at = clock_type::now();
  std::vector<size_t> bytes_during;
  for (size_t i = 0; i < clients.size(); ++i)
    bytes_during.push_back(clients[i].total - bytes_before[i]);
  // Frames each client completed during phase 2, read after the readers
  // stopped (below).

  // The viewer's figures: per probe the first time its pixel showed the
  // probe's marker; in phase 2 the marker changes it showed.
  std::vector<double> pixel_ms;
  size_t pixel_frames = 0;
  if (viewer > 0) {
    for (size_t p = 0; p < probe_at.size(); ++p)
      for (auto& [t, v] : seen)
        if (t >= probe_at[p] && near(v, probe_marker[p])) {
          pixel_ms.push_back(ms_since(probe_at[p], t));
          break;
        }
    for (auto& [t, v] : seen)
      if (t >= start && t < end_at)
        ++pixel_frames;
    if (std::getenv("RDP_BENCH_DEBUG"))
      for (size_t i = 0; i < seen.size() && i < 12; ++i)
        std::printf("seen %06x (probe 0 wants %06x)\n", seen[i].second,
                    probe_marker.empty() ? 0 : probe_marker[0]);
    kill(viewer, SIGTERM);
    waitpid(viewer, nullptr, 0);
  }
  // Disconnect; the server logs each session's frame and byte counts.
  for (auto& c : clients)
    ::shutdown(c.fd, SHUT_RDWR);
  for (auto& c : clients) {
    if (c.thread.joinable())
      c.thread.join();
    ::close(c.fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  (*srv)->stop();
  (*loop)->stop();

  std::regex stats{
      R"(disconnected: (\d+) frames, (\d+) update PDUs, (\d+) update bytes)"};
  std::vector<double> frames;
  double update_bytes = 0;
  {
    std::lock_guard lock{log_mtx};
    for (auto& l : log) {
      std::smatch m;
      if (std::regex_search(l, m, stats)) {
        frames.push_back(std::stod(m[1]));
        update_bytes += std::stod(m[3]);
      }
    }
  }
  // Session frame counts include the start-up frame and the probes; the
  // throughput phase dominates. Reading clients first (accept order).
  double sum_frames = 0, min_fps = n_clients ? 1e9 : 0, max_fps = 0,
         reader_frames = 0;
  size_t readers = 0;
  for (size_t i = 0; i < frames.size(); ++i)
    sum_frames += frames[i];
  std::printf("clients %d (+%d stalled), 1024x768, 16 bpp interleaved RLE, "
              "guest frames written %u in %.2f s (%.1f/s)\n",
              n_clients, n_stalled, written, elapsed, written / elapsed);
  std::printf("latency write->first byte p50 %.1f ms p95 %.1f ms; "
              "write->last byte p50 %.1f ms p95 %.1f ms (%zu samples)\n",
              percentile(first_ms, 50), percentile(first_ms, 95),
              percentile(last_ms, 50), percentile(last_ms, 95), last_ms.size());
  // fps per reading client: complete frames it received in phase 2.
  double per_frame = sum_frames > 0 ? update_bytes / sum_frames : 0;
  for (size_t i = 0; i < clients.size(); ++i) {
    if (!clients[i].reads)
      continue;
    size_t got = 0;
    for (auto& f : clients[i].frames)
      if (f >= start && f < end_at)
        ++got;
    double f = got / elapsed;
    min_fps = std::min(min_fps, f);
    max_fps = std::max(max_fps, f);
    reader_frames += f;
    ++readers;
  }
  std::printf("fps per reading client: min %.1f max %.1f mean %.1f; "
              "%.0f KB per frame\n",
              min_fps, max_fps, readers ? reader_frames / readers : 0,
              per_frame / 1024);
  if (viewer > 0)
    std::printf("xfreerdp (X pixel): write->pixel p50 %.1f ms p95 %.1f ms "
                "(%zu of %zu probes seen); %.1f frames/s shown\n",
                percentile(pixel_ms, 50), percentile(pixel_ms, 95),
                pixel_ms.size(), probe_at.size(), pixel_frames / elapsed);
  if (n_stalled) {
    size_t stalled_bytes = 0;
    for (size_t i = 0; i < clients.size(); ++i)
      if (!clients[i].reads)
        stalled_bytes += bytes_during[i];
    std::printf("stalled clients received %zu bytes in phase 2 (socket "
                "full)\n",
                stalled_bytes);
  }
  std::printf("server loop thread CPU %.0f ms in %.2f s = %.0f%% of a core "
              "(%.2f ms per guest frame); whole process minus guest %.0f ms\n",
              cpu, elapsed, cpu / elapsed / 10, cpu / written, pcpu);
  return 0;
}
