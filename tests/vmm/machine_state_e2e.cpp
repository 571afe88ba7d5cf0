// Saved machine state on /dev/kvm with the probe guest: a running machine's
// memory and state (every device, the VM-wide state, each vCPU) moved into
// a second machine that was never started, whose guest then continues the
// ticker where the first stopped; mismatches refused naming the device;
// the teleport lease holding off power-offs; dirty logging over RAM.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "actors/messages/vmm.hpp"
#include "actors/runtime.hpp"
#include "vmm/machine_actor.hpp"

using namespace std::chrono_literals;
using namespace tb::vmm;

namespace {

struct serial_text {
  std::mutex mtx;
  std::string text;
  void add(std::span<const uint8_t> b) {
    std::lock_guard<std::mutex> guard{mtx};
    text.append(reinterpret_cast<const char*>(b.data()), b.size());
  }
  std::string get() {
    std::lock_guard<std::mutex> guard{mtx};
    return text;
  }
};

/// Sequence numbers of the complete "TK <seq> ..." lines in `text`.
std::vector<long> ticks(const std::string& text) {
  std::vector<long> out;
  static const std::regex tk{"TK (\\d+) \\d+ \\d+\n"};
  for (std::sregex_iterator it{text.begin(), text.end(), tk}, end; it != end;
       ++it)
    out.push_back(std::stol((*it)[1]));
  return out;
}

machine_spec spec(bool display = true) {
  machine_spec s;
  s.uuid = "00000000-0000-4000-8000-000000000006";
  s.name = "state";
  s.ram_bytes = 64ULL << 20;
  s.display.enabled = display;
  s.boot.kernel = {TB_PROBE_GUEST, "", "telebox.ticker=10"};
  return s;
}

class machine_state_e2e : public testing::Test {
protected:
  void SetUp() override {
    auto eng = open_kvm_engine();
    ASSERT_TRUE(eng) << tb::error_text(eng.error());
    eng_ = std::shared_ptr<engine>{std::move(*eng)};
    tb::actors::configure(cfg_);
    sys_.emplace(cfg_);
  }

  void TearDown() override {
    for (auto* m : {&a_, &b_})
      if (*m) {
        caf::scoped_actor self{*sys_};
        self->request(*m, 10s, teleport_atom_v, false)
            .receive([](machine_lease&) {}, [](caf::error&) {});
        self->request(*m, 10s, poweroff_atom_v)
            .receive([](machine_status&) {}, [](caf::error&) {});
        caf::anon_send_exit(*m, caf::exit_reason::user_shutdown);
        *m = nullptr;
      }
    sys_.reset();
  }

  machine_actor start(const machine_spec& s, serial_text& out, bool paused) {
    machine_options o;
    o.start_paused = paused;
    o.serial_out = [&out](std::span<const uint8_t> b) { out.add(b); };
    auto m = start_machine(*sys_, eng_, s, o);
    EXPECT_TRUE(m) << tb::error_text(m.error());
    return m ? *m : machine_actor{};
  }

  template <class T, class... Ts>
  caf::expected<T> ask(const machine_actor& m, Ts... xs) {
    caf::scoped_actor self{*sys_};
    caf::expected<T> out{caf::error{}};
    self->request(m, 20s, xs...)
        .receive([&](T& x) { out = std::move(x); },
                 [&](caf::error& e) { out = std::move(e); });
    return out;
  }

  bool wait_ticks(serial_text& s, size_t n, std::chrono::seconds limit = 30s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (ticks(s.get()).size() >= n)
        return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  /// Pauses `a_`, copies its memory into `b_` (with `copy`) and returns
  /// a's snapshot.
  caf::expected<machine_snapshot> move_memory(bool copy = true) {
    auto la = ask<machine_lease>(a_, teleport_atom_v, true);
    auto lb = ask<machine_lease>(b_, teleport_atom_v, true);
    if (!la || !lb)
      return la ? lb.error() : la.error();
    if (auto st = ask<machine_status>(a_, pause_atom_v); !st)
      return st.error();
    auto ra = la->m->state_regions();
    auto rb = lb->m->state_regions();
    if (!copy)
      rb.clear(), ra.clear();
    EXPECT_EQ(ra.size(), rb.size());
    for (size_t i = 0; i < ra.size() && i < rb.size(); ++i) {
      EXPECT_EQ(ra[i].key, rb[i].key) << ra[i].name;
      EXPECT_EQ(ra[i].host.size(), rb[i].host.size()) << ra[i].name;
      std::memcpy(rb[i].host.data(), ra[i].host.data(),
                  std::min(ra[i].host.size(), rb[i].host.size()));
    }
    return ask<machine_snapshot>(a_, save_state_atom_v);
  }

  std::shared_ptr<engine> eng_;
  caf::actor_system_config cfg_;
  std::optional<caf::actor_system> sys_;
  machine_actor a_, b_;
  serial_text out_a_, out_b_;
};

} // namespace

TEST_F(machine_state_e2e, the_guest_continues_in_a_second_machine) {
  a_ = start(spec(), out_a_, false);
  b_ = start(spec(), out_b_, true);
  ASSERT_TRUE(wait_ticks(out_a_, 10)) << out_a_.get();
  auto snap = move_memory();
  ASSERT_TRUE(snap) << tb::error_text(snap.error());
  EXPECT_GE(snap->names.size(), 8u); // devices, platform, vcpu0
  auto loaded = ask<machine_status>(b_, load_state_atom_v, *snap);
  ASSERT_TRUE(loaded) << tb::error_text(loaded.error());
  ASSERT_TRUE(ask<machine_status>(b_, resume_atom_v));
  ASSERT_TRUE(wait_ticks(out_b_, 5)) << out_b_.get();
  // A's last line may have been cut by the pause; b completes it.
  auto joined = ticks(out_a_.get() + out_b_.get());
  ASSERT_GT(joined.size(), 10u);
  for (size_t i = 1; i < joined.size(); ++i)
    ASSERT_EQ(joined[i], joined[i - 1] + 1)
        << "the ticker skipped from " << joined[i - 1] << " to " << joined[i];
  // The machine that gave its state away stays paused.
  auto st = ask<machine_status>(a_, status_atom_v);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state, "paused");
}

TEST_F(machine_state_e2e, a_missing_device_is_refused_by_name) {
  a_ = start(spec(true), out_a_, false);
  b_ = start(spec(false), out_b_, true);
  ASSERT_TRUE(wait_ticks(out_a_, 3)) << out_a_.get();
  auto snap = move_memory(false); // No VRAM on b: nothing to copy it to.
  ASSERT_TRUE(snap) << tb::error_text(snap.error());
  auto loaded = ask<machine_status>(b_, load_state_atom_v, *snap);
  ASSERT_FALSE(loaded);
  EXPECT_NE(tb::error_text(loaded.error()).find("'display'"), std::string::npos)
      << tb::error_text(loaded.error());
}

TEST_F(machine_state_e2e, a_garbled_blob_is_refused_by_name) {
  a_ = start(spec(), out_a_, false);
  b_ = start(spec(), out_b_, true);
  ASSERT_TRUE(wait_ticks(out_a_, 3)) << out_a_.get();
  auto snap = move_memory();
  ASSERT_TRUE(snap) << tb::error_text(snap.error());
  for (size_t i = 0; i < snap->names.size(); ++i)
    if (snap->names[i] == "cmos")
      snap->blobs[i].resize(snap->blobs[i].size() / 2);
  auto loaded = ask<machine_status>(b_, load_state_atom_v, *snap);
  ASSERT_FALSE(loaded);
  EXPECT_NE(tb::error_text(loaded.error()).find("'cmos'"), std::string::npos)
      << tb::error_text(loaded.error());
}

TEST_F(machine_state_e2e, a_lent_machine_refuses_poweroff_and_logs_dirt) {
  a_ = start(spec(), out_a_, false);
  ASSERT_TRUE(wait_ticks(out_a_, 3)) << out_a_.get();
  auto lease = ask<machine_lease>(a_, teleport_atom_v, true);
  ASSERT_TRUE(lease && lease->m);
  auto off = ask<machine_status>(a_, poweroff_atom_v);
  ASSERT_FALSE(off);
  EXPECT_NE(tb::error_text(off.error()).find("teleporting"), std::string::npos);
  auto& m = *lease->m;
  ASSERT_FALSE(m.set_dirty_logging(true));
  (void)m.fetch_dirty(0); // Starts the first round.
  ASSERT_TRUE(wait_ticks(out_a_, ticks(out_a_.get()).size() + 5));
  auto bits = m.fetch_dirty(0);
  ASSERT_TRUE(bits) << tb::error_text(bits.error());
  size_t dirty = 0;
  for (auto w : *bits)
    dirty += static_cast<size_t>(__builtin_popcountll(w));
  EXPECT_GT(dirty, 0u) << "the running guest wrote no page of low RAM";
  ASSERT_FALSE(m.set_dirty_logging(false));
  ASSERT_TRUE(ask<machine_lease>(a_, teleport_atom_v, false));
  EXPECT_TRUE(ask<machine_status>(a_, poweroff_atom_v));
}

namespace {

/// True when another open file description holds the image's lock.
bool locked_elsewhere(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
  if (!held)
    ::flock(fd, LOCK_UN);
  ::close(fd);
  return held;
}

bool eventually(const std::function<bool()>& pred) {
  auto end = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < end) {
    if (pred())
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

} // namespace

TEST_F(machine_state_e2e, disks_are_given_up_and_taken_back) {
  auto path = testing::TempDir() + "/tb-state-disk-" + std::to_string(getpid())
              + ".img";
  std::remove(path.c_str());
  if (std::FILE* f = std::fopen(path.c_str(), "w")) {
    std::fseek(f, (16 << 20) - 1, SEEK_SET);
    std::fputc(0, f);
    std::fclose(f);
  }
  auto s = spec();
  s.boot.kernel.cmdline = "telebox.disk=16 telebox.ticker=10";
  s.disks.push_back({path, false, true});
  a_ = start(s, out_a_, false);
  ASSERT_TRUE(wait_ticks(out_a_, 3)) << out_a_.get();
  ASSERT_NE(out_a_.get().find("DISK-OK"), std::string::npos) << out_a_.get();
  EXPECT_TRUE(locked_elsewhere(path));
  auto lease = ask<machine_lease>(a_, teleport_atom_v, true);
  ASSERT_TRUE(lease && lease->m);
  ASSERT_TRUE(ask<machine_status>(a_, pause_atom_v));
  auto& m = *lease->m;
  ASSERT_FALSE(m.quiesce_disks(5s));
  ASSERT_FALSE(m.release_disks());
  EXPECT_TRUE(eventually([&] { return !locked_elsewhere(path); }))
      << "the image stayed locked after release_disks";
  auto err = m.reacquire_disks(5s);
  ASSERT_FALSE(err) << tb::error_text(err);
  EXPECT_TRUE(locked_elsewhere(path));
  ASSERT_TRUE(ask<machine_status>(a_, resume_atom_v));
  ASSERT_TRUE(ask<machine_lease>(a_, teleport_atom_v, false));
  ASSERT_TRUE(wait_ticks(out_a_, ticks(out_a_.get()).size() + 3));
  EXPECT_TRUE(ask<machine_status>(a_, poweroff_atom_v));
  std::remove(path.c_str());
}
