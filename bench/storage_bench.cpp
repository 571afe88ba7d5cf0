// Storage benchmark driver for bench/storage.sh: converts media with the
// library's convert_medium, and drives the storage actor (or, as the
// physical limit, plain O_DIRECT threads on a raw file) at a queue depth.
//
//   storage_bench convert <src> <dst> vdi|raw [--unsafe]
//   storage_bench actor  <image> <pattern> <depth> <ops> <io-threads>
//                        [pool|messages]
//   storage_bench direct <raw>   <pattern> <depth> <ops>
//   storage_bench uring  <raw>   <pattern> <depth> <ops> [async]
// pattern: randread4k randwrite4k seqread1m seqwrite1m; io-threads 0 means
// the medium actor's default; "pool" keeps reads off io_uring. The actor
// is driven as a disk drives it: requests sent, completions by callback
// (io_done); "messages" has a requesting actor take each reply as a
// message instead. Prints
// "<pattern> depth <d>: <IOPS> IOPS <MiB/s> MiB/s".
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/error_text.hpp"
#include "actors/runtime.hpp"
#include "storage/medium_actor.hpp"
#include "storage/medium_ops.hpp"
#include "storage/uring.hpp"

namespace {

using namespace tb::storage;
using clock_type = std::chrono::steady_clock;

struct pattern {
  std::string name;
  bool write = false;
  bool random = false;
  size_t size = 4096;
};

bool parse_pattern(const std::string& s, pattern& p) {
  p.name = s;
  if (s == "randread4k")
    p = {s, false, true, 4096};
  else if (s == "randwrite4k")
    p = {s, true, true, 4096};
  else if (s == "seqread1m")
    p = {s, false, false, 1 << 20};
  else if (s == "seqwrite1m")
    p = {s, true, false, 1 << 20};
  else
    return false;
  return true;
}

// Offsets for operation i: random 4 KiB-aligned, or sequential wrapping.
struct offset_source {
  pattern pat;
  uint64_t span;
  std::mt19937_64 gen{12345};
  uint64_t next_seq = 0;
  uint64_t next() {
    if (pat.random)
      return (gen() % (span / pat.size)) * pat.size;
    uint64_t off = next_seq;
    next_seq = (next_seq + pat.size) % (span / pat.size * pat.size);
    return off;
  }
};

uint8_t* aligned_buffer(size_t size) {
  void* p = nullptr;
  if (posix_memalign(&p, 4096, size) != 0)
    std::abort();
  std::memset(p, 0x5a, size);
  return static_cast<uint8_t*>(p);
}

void report(const pattern& p, int depth, uint64_t ops, double secs) {
  double iops = ops / secs;
  std::printf("%s depth %d: %.0f IOPS %.1f MiB/s\n", p.name.c_str(), depth,
              iops, iops * p.size / (1 << 20));
}

// The end of a run on a raw file: writes made durable (inside the time),
// the figures printed, the file closed.
int finish_raw(int fd, const pattern& p, int depth, uint64_t ops,
               clock_type::time_point start) {
  if (p.write)
    ::fdatasync(fd);
  report(p, depth, ops,
         std::chrono::duration<double>(clock_type::now() - start).count());
  ::close(fd);
  return 0;
}

int run_direct(const std::string& path, const pattern& p, int depth,
               uint64_t ops) {
  int fd = ::open(path.c_str(), O_RDWR | O_DIRECT);
  if (fd < 0) {
    std::perror("open");
    return 1;
  }
  uint64_t span = static_cast<uint64_t>(::lseek(fd, 0, SEEK_END));
  std::atomic<uint64_t> issued{0};
  offset_source offsets{p, span};
  std::mutex mu;
  auto start = clock_type::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < depth; ++t)
    threads.emplace_back([&] {
      uint8_t* buf = aligned_buffer(p.size);
      while (issued.fetch_add(1) < ops) {
        uint64_t off;
        {
          std::lock_guard<std::mutex> g{mu};
          off = offsets.next();
        }
        auto n = p.write ? ::pwrite(fd, buf, p.size, off)
                         : ::pread(fd, buf, p.size, off);
        if (n != static_cast<ssize_t>(p.size))
          std::abort();
      }
      std::free(buf);
    });
  for (auto& t : threads)
    t.join();
  return finish_raw(fd, p, depth, ops, start);
}

// One thread keeping `depth` O_DIRECT requests in flight through io_uring
// on a raw file: the mechanism alone, without the actor's hops. `async`
// marks every entry IOSQE_ASYNC.
int run_uring(const std::string& path, const pattern& p, int depth,
              uint64_t ops, bool async) {
  int fd = ::open(path.c_str(), (p.write ? O_RDWR : O_RDONLY) | O_DIRECT);
  auto ring = uring::create(256);
  if (fd < 0 || !ring) {
    std::fprintf(stderr, "cannot open %s or set up io_uring\n", path.c_str());
    return 1;
  }
  uint64_t span = static_cast<uint64_t>(::lseek(fd, 0, SEEK_END));
  offset_source offsets{p, span};
  std::vector<iovec> iov(depth);
  uint64_t issued = 0, done = 0;
  auto queue = [&](int slot) {
    ++issued;
    auto tag = static_cast<uint64_t>(slot) + 1;
    uint64_t off = offsets.next();
    bool ok = p.write
                  ? (*ring)->queue_writev(fd, &iov[slot], 1, off, tag, async)
                  : (*ring)->queue_readv(fd, &iov[slot], 1, off, tag, async);
    if (!ok)
      std::abort();
  };
  auto start = clock_type::now();
  for (int i = 0; i < depth; ++i) {
    iov[i] = {aligned_buffer(p.size), p.size};
    if (issued < ops)
      queue(i);
  }
  (*ring)->submit();
  while (done < ops) {
    (*ring)->reap([&](uint64_t tag, int32_t res) {
      if (res != static_cast<int32_t>(p.size))
        std::abort();
      ++done;
      if (issued < ops)
        queue(static_cast<int>(tag - 1));
    });
    (*ring)->submit();
  }
  return finish_raw(fd, p, depth, ops, start);
}

// Keeps `depth` requests in flight against the medium actor until `ops`
// completed, then replies with the elapsed seconds.
struct driver_state {
  medium_actor medium;
  pattern pat;
  int depth;
  uint64_t ops;
  offset_source offsets;
  std::vector<uint8_t*> buffers;
  uint64_t issued = 0, done = 0;
  clock_type::time_point start;
  caf::response_promise promise;
};

void issue(caf::event_based_actor* self, std::shared_ptr<driver_state> st,
           int slot) {
  ++st->issued;
  uint64_t off = st->offsets.next();
  std::vector<io_segment> seg{{st->buffers[slot], st->pat.size}};
  auto on_done = [self, st, slot](uint64_t) {
    if (++st->done == st->ops)
      st->promise.deliver(
          std::chrono::duration<double>(clock_type::now() - st->start).count());
    else if (st->issued < st->ops)
      issue(self, st, slot);
  };
  auto on_error = [st](caf::error& e) {
    std::fprintf(stderr, "I/O error: %s\n", tb::error_text(e).c_str());
    std::exit(1);
  };
  if (st->pat.write)
    self->request(st->medium, caf::infinite, writev_request{off, seg})
        .then(on_done, on_error);
  else
    self->request(st->medium, caf::infinite, readv_request{off, seg})
        .then(on_done, on_error);
}

caf::behavior driver(caf::event_based_actor* self,
                     std::shared_ptr<driver_state> st) {
  return {[self, st](const std::string&) {
    st->promise = self->make_response_promise();
    st->start = clock_type::now();
    for (int i = 0; i < st->depth && st->issued < st->ops; ++i)
      issue(self, st, i);
    return st->promise;
  }};
}

// Keeps `depth` requests in flight with completion callbacks (io_done), as
// a disk's I/O path does: the callback, on the medium's I/O thread, sends
// the next request. No requesting actor is woken per completion.
double drive_with_callbacks(const medium_actor& medium, const pattern& p,
                            int depth, uint64_t ops, uint64_t size) {
  struct shared {
    std::mutex mu;
    offset_source offsets;
    uint64_t issued = 0, done = 0;
    std::promise<void> finished;
  } st;
  st.offsets = offset_source{p, size};
  std::vector<uint8_t*> buffers;
  for (int i = 0; i < depth; ++i)
    buffers.push_back(aligned_buffer(p.size));
  std::function<void(int)> issue = [&](int slot) {
    uint64_t off;
    {
      std::lock_guard<std::mutex> g{st.mu};
      if (st.issued == ops)
        return;
      ++st.issued;
      off = st.offsets.next();
    }
    std::vector<io_segment> seg{{buffers[slot], p.size}};
    io_done done = [&, slot](const caf::error& e, uint64_t) {
      if (e) {
        std::fprintf(stderr, "I/O error: %s\n", tb::error_text(e).c_str());
        std::exit(1);
      }
      bool last;
      {
        std::lock_guard<std::mutex> g{st.mu};
        last = ++st.done == ops;
      }
      if (last)
        st.finished.set_value();
      else
        issue(slot);
    };
    if (p.write)
      caf::anon_send(medium, writev_request{off, seg, std::move(done)});
    else
      caf::anon_send(medium, readv_request{off, seg, std::move(done)});
  };
  auto start = clock_type::now();
  auto finished = st.finished.get_future();
  for (int i = 0; i < depth; ++i)
    issue(i);
  finished.wait();
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

int run_actor(const std::string& path, const pattern& p, int depth,
              uint64_t ops, size_t threads, bool async_reads, bool callbacks) {
  caf::actor_system_config cfg;
  tb::actors::configure(cfg);
  caf::actor_system sys{cfg};
  open_options o;
  o.writable = p.write;
  o.direct = true; // cache=none, like the O_DIRECT baseline.
  o.owner = "storage_bench";
  o.async_reads = async_reads;
  auto medium =
      spawn_medium(sys, path, o, threads == 0 ? default_io_threads : threads);
  if (!medium) {
    std::fprintf(stderr, "%s\n", tb::error_text(medium.error()).c_str());
    return 1;
  }
  auto st = std::make_shared<driver_state>();
  st->medium = *medium;
  st->pat = p;
  st->depth = depth;
  st->ops = ops;
  caf::scoped_actor self{sys};
  uint64_t size = 0;
  self->request(*medium, caf::infinite, status_atom_v)
      .receive([&](const medium_status& s) { size = s.size; },
               [](caf::error&) {});
  double secs = 0;
  caf::actor d;
  if (callbacks) {
    secs = drive_with_callbacks(*medium, p, depth, ops, size);
  } else {
    st->offsets = offset_source{p, size};
    for (int i = 0; i < depth; ++i)
      st->buffers.push_back(aligned_buffer(p.size));
    d = sys.spawn(driver, st);
    self->request(d, caf::infinite, std::string{"run"})
        .receive([&](double s) { secs = s; },
                 [](caf::error& e) {
                   std::fprintf(stderr, "%s\n", tb::error_text(e).c_str());
                 });
  }
  if (p.write)
    self->request(*medium, caf::infinite, flush_atom_v)
        .receive([](uint64_t) {}, [](caf::error&) {});
  report(p, depth, ops, secs);
  if (d)
    self->send_exit(d, caf::exit_reason::user_shutdown);
  return 0;
}

int run_convert(const std::string& src, const std::string& dst,
                const std::string& fmt, bool durable) {
  medium_format f;
  if (!parse_medium_format(fmt, f)) {
    std::fprintf(stderr, "unknown format %s\n", fmt.c_str());
    return 2;
  }
  auto r = convert_medium(src, dst, f, medium_variant::standard, {}, nullptr,
                          durable);
  if (!r) {
    std::fprintf(stderr, "%s\n", tb::error_text(r.error()).c_str());
    return 1;
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  pattern p;
  if (a.size() == 4 && a[0] == "convert")
    return run_convert(a[1], a[2], a[3], true);
  if (a.size() == 5 && a[0] == "convert" && a[4] == "--unsafe")
    return run_convert(a[1], a[2], a[3], false);
  bool pool = a.size() == 7 && a[6] == "pool";
  bool messages = a.size() == 7 && a[6] == "messages";
  if ((a.size() == 6 || pool || messages) && a[0] == "actor"
      && parse_pattern(a[2], p))
    return run_actor(a[1], p, std::stoi(a[3]), std::stoull(a[4]),
                     std::stoul(a[5]), !pool, !messages);
  if (a.size() == 5 && a[0] == "direct" && parse_pattern(a[2], p))
    return run_direct(a[1], p, std::stoi(a[3]), std::stoull(a[4]));
  bool async = a.size() == 6 && a[5] == "async";
  if ((a.size() == 5 || async) && a[0] == "uring" && parse_pattern(a[2], p))
    return run_uring(a[1], p, std::stoi(a[3]), std::stoull(a[4]), async);
  std::fprintf(
      stderr,
      "usage: storage_bench convert <src> <dst> vdi|raw [--unsafe]\n"
      "       storage_bench actor <image> <pattern> <depth> <ops> "
      "<io-threads> [pool|messages]\n"
      "       storage_bench direct <raw> <pattern> <depth> <ops>\n"
      "       storage_bench uring <raw> <pattern> <depth> <ops> [async]\n");
  return 2;
}
