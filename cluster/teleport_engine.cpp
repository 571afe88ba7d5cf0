// Teleport phases: source (pre-copy, switch-over, hand-over) and target.
#include "cluster/teleport_engine.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "actors/error_text.hpp"
#include "cluster/teleport_wire.hpp"

namespace tb::cluster {

namespace {

using clock_type = std::chrono::steady_clock;

constexpr size_t flush_threshold = 4 << 20; // bytes buffered per write
constexpr size_t batch_pages = 256;

caf::error fail(teleport_errc code, std::string text) {
  return caf::make_error(code, std::move(text));
}

bool test_bit(const std::vector<uint64_t>& bits, size_t i) {
  return i / 64 < bits.size() && (bits[i / 64] >> (i % 64)) & 1;
}

size_t count_bits(const std::vector<uint64_t>& bits) {
  size_t n = 0;
  for (auto w : bits)
    n += static_cast<size_t>(__builtin_popcountll(w));
  return n;
}

/// Buffers records and writes them to the channel in large chunks.
struct page_sender {
  tls_channel& ch;
  teleport_stats& stats;
  bool compress = false;
  std::vector<uint8_t> buf;

  caf::error flush() {
    if (buf.empty())
      return caf::none;
    auto err = ch.write_all(buf);
    stats.bytes_sent += buf.size();
    buf.clear();
    return err;
  }

  caf::error add(uint64_t gpa, std::span<const uint8_t> pages) {
    encode_pages(buf, gpa, pages, compress);
    stats.pages_sent += pages.size() / page_size;
    return buf.size() >= flush_threshold ? flush() : caf::none;
  }

  /// Sends the pages of `r` whose bit is set in `dirty` (all when null).
  /// With `populated`, pages without their bit go as zero pages unread.
  caf::error send_region(const ram_region& r,
                         const std::vector<uint64_t>* dirty,
                         const std::vector<uint64_t>* populated = nullptr) {
    size_t n = r.host.size() / page_size;
    for (size_t i = 0; i < n;) {
      if (dirty && !test_bit(*dirty, i)) {
        ++i;
        continue;
      }
      if (populated && !test_bit(*populated, i)) {
        size_t j = i + 1;
        while (j < n && !test_bit(*populated, j))
          ++j;
        encode_zero_pages(buf, r.gpa + i * page_size, j - i);
        stats.pages_sent += j - i;
        if (buf.size() >= flush_threshold)
          if (auto err = flush())
            return err;
        i = j;
        continue;
      }
      size_t j = i + 1;
      while (j < n && j - i < batch_pages && (!dirty || test_bit(*dirty, j))
             && (!populated || test_bit(*populated, j)))
        ++j;
      if (auto err = add(r.gpa + i * page_size,
                         r.host.subspan(i * page_size, (j - i) * page_size)))
        return err;
      i = j;
    }
    return caf::none;
  }

  /// Ends a pre-copy round. With `sync` it waits until the target has
  /// applied the round: the rate measured is then end to end, and the
  /// pause never waits for a backlog in the socket buffers.
  caf::error end_round(bool sync) {
    encode_record(buf, record_type::end_of_ram, {}, sync ? 1 : 0);
    if (auto err = flush())
      return err;
    if (!sync)
      return caf::none;
    auto ack = read_ack(ch);
    return ack ? caf::error{} : ack.error();
  }
};

/// Dirty bitmaps of every region, and how many pages they name.
struct dirty_set {
  std::vector<std::vector<uint64_t>> maps;
  size_t pages = 0;
};

caf::expected<dirty_set> collect_dirty(teleport_vm& vm, size_t regions) {
  dirty_set d;
  for (size_t i = 0; i < regions; ++i) {
    auto bits = vm.fetch_dirty(i);
    if (!bits)
      return bits.error();
    d.pages += count_bits(*bits);
    d.maps.push_back(std::move(*bits));
  }
  return d;
}

caf::error send_dirty(page_sender& s, const std::vector<ram_region>& regions,
                      const dirty_set& d, bool sync) {
  for (size_t i = 0; i < regions.size(); ++i)
    if (auto err = s.send_region(regions[i], &d.maps[i]))
      return err;
  return s.end_round(sync);
}

caf::error send_state(page_sender& s, const std::vector<state_blob>& blobs) {
  for (const auto& b : blobs) {
    std::vector<uint8_t> payload(b.name.begin(), b.name.end());
    payload.push_back(0);
    payload.insert(payload.end(), b.bytes.begin(), b.bytes.end());
    encode_record(s.buf, record_type::device_state, payload);
  }
  encode_record(s.buf, record_type::end, {});
  return s.flush();
}

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

/// CPU time of the calling thread.
double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/// Notes how long each step of the switch-over took.
struct timeline {
  std::string& text;
  clock_type::time_point last = clock_type::now();
  double last_cpu = thread_cpu_ms();
  /// "<what> <wall> ms", plus this thread's CPU time for the longer steps
  /// (far less than the wall time: the host was busy elsewhere).
  void step(const char* what) {
    auto now = clock_type::now();
    auto cpu = thread_cpu_ms();
    auto wall = std::chrono::duration<double, std::milli>(now - last).count();
    char buf[96];
    int n = std::snprintf(buf, sizeof buf, "%s%s %.1f ms",
                          text.empty() ? "" : ", ", what, wall);
    if (wall > 20)
      std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n),
                    " (%.0f ms CPU)", cpu - last_cpu);
    text += buf;
    last = now;
    last_cpu = cpu;
  }
};

/// Pre-copy: everything once, then dirty rounds until the rest fits.
caf::error precopy(page_sender& s, teleport_vm& vm,
                   const std::vector<ram_region>& regions,
                   const teleport_options& opts,
                   const teleport_progress& progress) {
  auto t0 = clock_type::now();
  timeline tl{s.stats.timeline};
  for (size_t i = 0; i < regions.size(); ++i) {
    // Memory the guest never touched is not even read.
    auto pop = vm.populated(i);
    if (auto err =
            s.send_region(regions[i], nullptr, pop.empty() ? nullptr : &pop))
      return err;
  }
  tl.step("first pass sent");
  if (auto err = s.end_round(true))
    return err;
  tl.step("target caught up");
  double pages_per_s = s.stats.pages_sent / std::max(seconds_since(t0), 1e-6);
  s.stats.bandwidth_mib_s = pages_per_s * page_size / (1 << 20);
  // Compression pays only when the link, not the CPU, is the bottleneck.
  s.compress = s.stats.bandwidth_mib_s < 300;
  progress(50, "pre-copy");
  // Rounds go on while they shrink the dirty set: the switch-over then
  // sends only what one short round dirtied. --maxdowntime bounds when a
  // set that stopped shrinking is good enough.
  double fits_ms = opts.max_downtime.count() / 2.0;
  double goal_ms = std::min(fits_ms, 2.0);
  double prev = 1e300;
  unsigned stalled = 0;
  for (s.stats.rounds = 1; s.stats.rounds < opts.max_rounds; ++s.stats.rounds) {
    auto d = collect_dirty(vm, regions.size());
    if (!d)
      return d.error();
    double est_ms = d->pages / pages_per_s * 1000.0;
    stalled = static_cast<double>(d->pages) >= 0.9 * prev ? stalled + 1 : 0;
    prev = static_cast<double>(d->pages);
    if (est_ms <= goal_ms || (est_ms <= fits_ms && stalled >= 2))
      return send_dirty(s, regions, *d, true);
    auto t = clock_type::now();
    auto before = s.stats.pages_sent;
    if (auto err = send_dirty(s, regions, *d, true))
      return err;
    auto sent = s.stats.pages_sent - before;
    if (sent > 64)
      pages_per_s = sent / std::max(seconds_since(t), 1e-6);
  }
  return caf::none;
}

/// Pause, last pages, state; then the media and the hand-over.
caf::error switch_over(page_sender& s, teleport_vm& vm,
                       const std::vector<ram_region>& regions,
                       clock_type::time_point& paused_at) {
  timeline tl{s.stats.timeline};
  if (auto err = vm.pause())
    return err;
  paused_at = clock_type::now();
  tl.step("pause");
  auto d = collect_dirty(vm, regions.size());
  if (!d)
    return d.error();
  tl.step("dirty log");
  auto before = s.stats.pages_sent;
  if (auto err = send_dirty(s, regions, *d, false))
    return err;
  s.stats.final_pages = s.stats.pages_sent - before;
  tl.step("last pages");
  auto blobs = vm.save_state();
  if (!blobs)
    return blobs.error();
  tl.step("save state");
  if (auto err = send_state(s, *blobs))
    return err;
  auto loaded = read_ack(s.ch);
  tl.step("target loads");
  return loaded ? caf::error{} : loaded.error();
}

/// Gives the VM to the target. `sent` becomes true once the hand-over line
/// may have reached the target: from then on the target may be running it.
caf::error hand_over(tls_channel& ch, teleport_vm& vm, std::string& text,
                     bool& sent) {
  timeline tl{text};
  if (auto err = vm.release_media())
    return err;
  if (auto err = ch.write_line("lock-media"))
    return err;
  auto locked = read_ack(ch);
  if (!locked)
    return locked.error();
  tl.step("media");
  sent = true; // Even a failed write may have delivered the line.
  if (auto err = ch.write_line(vm.was_paused() ? "hand-over-paused"
                                               : "hand-over-resume"))
    return err;
  auto resumed = read_ack(ch);
  tl.step("target resumes");
  return resumed ? caf::error{} : resumed.error();
}

/// The error of a hand-over whose outcome is unknown: the source stays
/// paused rather than risk running next to the target (both would write
/// the shared disks).
caf::error unknown_hand_over(const caf::error& err) {
  return fail(teleport_errc::hand_over_unknown,
              "the connection broke during the hand-over (" + error_text(err)
                  + "); the VM may be running on the target, so it stays "
                    "paused here: resume it only if it does not run there");
}

} // namespace

caf::expected<teleport_stats> teleport_out(tls_channel& ch, teleport_vm& vm,
                                           const teleport_options& opts,
                                           const teleport_progress& progress) {
  auto start = clock_type::now();
  teleport_stats stats;
  if (auto err = source_authenticate(ch, opts.password))
    return err;
  if (auto err = send_fingerprint(ch, vm.fingerprint()))
    return err;
  if (auto err = ch.write_line("load"))
    return err;
  if (auto ack = read_ack(ch); !ack)
    return ack.error();
  progress(10, "memory");
  auto regions = vm.ram();
  if (auto err = vm.start_dirty_log())
    return err;
  page_sender s{ch, stats, false, {}};
  clock_type::time_point paused_at{};
  auto err = precopy(s, vm, regions, opts, progress);
  if (!err)
    err = switch_over(s, vm, regions, paused_at);
  bool released = false, handed = false;
  if (!err) {
    progress(90, "hand-over");
    err = hand_over(ch, vm, stats.timeline, handed);
    released = true;
  }
  vm.stop_dirty_log();
  if (err && handed)
    return unknown_hand_over(err);
  if (err) {
    // Nothing was handed over: the source runs on as if nothing happened.
    if (released)
      (void)vm.reacquire_media();
    if (paused_at != clock_type::time_point{} && !vm.was_paused())
      (void)vm.resume();
    return err;
  }
  auto end = clock_type::now();
  stats.downtime =
      std::chrono::duration_cast<std::chrono::microseconds>(end - paused_at);
  stats.total =
      std::chrono::duration_cast<std::chrono::microseconds>(end - start);
  progress(100, "done");
  return stats;
}

namespace {

/// The target's pages that may be non-zero: those with data before the
/// teleport (what the VM's loader wrote; initial_data()) and those written by
/// it since. A zero record only has to clear these: all others read as
/// zero already, and not touching them keeps memory the target reserved
/// in advance from being freed and faulted in again.
struct target_pages {
  std::vector<uint64_t> bits;
  bool all = false; ///< initial_data() could not say: every page may.

  void set(size_t first, size_t count) {
    for (size_t p = first; p < first + count; ++p)
      bits[p / 64] |= uint64_t{1} << (p % 64);
  }
  bool test(size_t p) const { return all || test_bit(bits, p); }
  void clear(size_t p) {
    if (p / 64 < bits.size())
      bits[p / 64] &= ~(uint64_t{1} << (p % 64));
  }
};

std::vector<target_pages> initial_pages(teleport_vm& vm,
                                        const std::vector<ram_region>& r) {
  std::vector<target_pages> out(r.size());
  for (size_t i = 0; i < r.size(); ++i) {
    out[i].bits = vm.initial_data(i);
    out[i].all = out[i].bits.empty();
    out[i].bits.resize((r[i].host.size() / page_size + 63) / 64, 0);
  }
  return out;
}

// Zeroes the pages of [first, first + count) that may hold data, in runs.
void zero_written(teleport_vm& vm, size_t index, target_pages& pages,
                  size_t first, size_t count) {
  for (size_t p = first; p < first + count;) {
    if (!pages.test(p)) {
      ++p;
      continue;
    }
    size_t q = p;
    while (q < first + count && pages.test(q))
      pages.clear(q++);
    vm.zero(index, p * page_size, (q - p) * page_size);
    p = q;
  }
}

caf::error apply_pages(const record_view& r,
                       const std::vector<ram_region>& regions,
                       std::vector<target_pages>& pages, teleport_vm& vm) {
  auto rp = parse_ram_pages(r.payload);
  if (!rp)
    return rp.error();
  auto bytes = size_t{rp->count} * page_size;
  for (size_t i = 0; i < regions.size(); ++i) {
    const auto& reg = regions[i];
    if (rp->gpa < reg.gpa || rp->gpa - reg.gpa > reg.host.size()
        || bytes > reg.host.size() - (rp->gpa - reg.gpa))
      continue;
    size_t first = (rp->gpa - reg.gpa) / page_size;
    if (rp->encoding == page_encoding::zero) {
      zero_written(vm, i, pages[i], first, rp->count);
      return caf::none;
    }
    pages[i].set(first, rp->count);
    return expand_pages(*rp, reg.host.subspan(rp->gpa - reg.gpa, bytes));
  }
  return fail(teleport_errc::mismatch,
              "the source sent memory outside the target's RAM");
}

caf::error take_blob(const record_view& r, std::vector<state_blob>& blobs) {
  auto nul = std::find(r.payload.begin(), r.payload.end(), uint8_t{0});
  if (nul == r.payload.end())
    return fail(teleport_errc::malformed, "state record without a name");
  blobs.push_back(state_blob{std::string(r.payload.begin(), nul),
                             std::vector<uint8_t>(nul + 1, r.payload.end())});
  return caf::none;
}

/// Where the target's receiving time goes: waiting for and decrypting the
/// stream, and writing pages into guest memory.
struct receive_times {
  double read_ms = 0, apply_ms = 0, apply_cpu_ms = 0;
  uint64_t bytes = 0;

  std::string text() const {
    char buf[128];
    std::snprintf(buf, sizeof buf,
                  "received %.0f MiB: reading %.1f ms, applying %.1f ms "
                  "(%.1f ms CPU)",
                  bytes / 1048576.0, read_ms, apply_ms, apply_cpu_ms);
    return buf;
  }
};

double ms_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

caf::error receive_state(tls_channel& ch, teleport_vm& vm,
                         std::vector<state_blob>& blobs, receive_times& t) {
  auto regions = vm.ram();
  auto pages = initial_pages(vm, regions);
  record_decoder dec;
  for (;;) {
    // TLS decrypts straight into the decoder's buffer, and pages go from
    // there into guest memory: one copy.
    auto t0 = clock_type::now();
    auto n = ch.read_some(dec.prepare(1 << 20));
    if (!n)
      return n.error();
    if (*n == 0)
      return fail(teleport_errc::io_error, "the teleport source went away");
    auto t1 = clock_type::now();
    t.read_ms += ms_between(t0, t1);
    t.bytes += *n;
    if (auto err = dec.commit(*n))
      return err;
    auto cpu0 = thread_cpu_ms();
    while (auto r = dec.next_view()) {
      caf::error err;
      if (r->type == record_type::ram_pages)
        err = apply_pages(*r, regions, pages, vm);
      else if (r->type == record_type::end)
        return caf::none;
      else if (r->type == record_type::end_of_ram)
        err = (r->flags & 1) ? ch.write_line("ACK") : caf::error{};
      else
        err = take_blob(*r, blobs);
      if (err)
        return err;
    }
    t.apply_ms += ms_between(t1, clock_type::now());
    t.apply_cpu_ms += thread_cpu_ms() - cpu0;
  }
}

caf::error expect_line(tls_channel& ch, const std::string& want) {
  auto line = ch.read_line();
  if (!line)
    return line.error();
  if (*line == want)
    return caf::none;
  if (*line == "cancel")
    return fail(teleport_errc::cancelled, "the teleport source cancelled");
  return fail(teleport_errc::malformed,
              "expected '" + want + "' from the teleport source");
}

} // namespace

caf::error teleport_in(tls_channel& ch, teleport_vm& vm,
                       const std::string& stored_password_hash,
                       bool* resumed_paused, std::string* timeline) {
  if (auto err = target_authenticate(ch, stored_password_hash))
    return err;
  if (auto err = check_fingerprint(ch, vm.fingerprint()))
    return err;
  if (auto err = expect_line(ch, "load"))
    return err;
  if (auto err = ch.write_line("ACK"))
    return err;
  std::vector<state_blob> blobs;
  receive_times times;
  auto err = receive_state(ch, vm, blobs, times);
  if (timeline)
    *timeline = times.text();
  if (!err)
    err = vm.load_state(blobs);
  if (err) {
    (void)ch.write_line("NACK=-1;" + error_text(err));
    return err;
  }
  if (auto e = ch.write_line("ACK"))
    return e;
  if (auto e = expect_line(ch, "lock-media"))
    return e;
  if (auto e = vm.acquire_media()) {
    (void)ch.write_line("NACK=-115;cannot lock the media");
    return e;
  }
  if (auto e = ch.write_line("ACK"))
    return e;
  auto line = ch.read_line();
  if (!line)
    return line.error();
  bool paused = *line == "hand-over-paused";
  if (!paused && *line != "hand-over-resume")
    return fail(teleport_errc::malformed, "expected the hand-over");
  if (resumed_paused)
    *resumed_paused = paused;
  if (!paused)
    if (auto e = vm.resume())
      return e;
  return ch.write_line("ACK");
}

} // namespace tb::cluster
