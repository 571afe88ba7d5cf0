// The teleport phases end to end over real TLS between two in-process VMs
// made of plain memory, with a writer dirtying pages during pre-copy.
#include <atomic>
#include <csignal>
#include <functional>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include <sys/socket.h>

#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "cluster/teleport_engine.hpp"
#include "cluster/teleport_wire.hpp"
#include "settings/hash.hpp"

namespace tb::cluster {
namespace {

/// A VM that is only memory, a dirty bitmap and a few state blobs.
class memory_vm final : public teleport_vm {
public:
  explicit memory_vm(size_t mib) : mem_(mib << 20) {
    hw_.memory_mb = static_cast<uint32_t>(mib);
  }

  hardware_fingerprint fingerprint() const override {
    return fingerprint_of(hw_);
  }
  std::vector<ram_region> ram() override { return {{0, mem_}}; }
  caf::error start_dirty_log() override {
    std::lock_guard<std::mutex> g{mtx_};
    logging_ = true;
    dirty_.assign(mem_.size() / 4096 / 64 + 1, 0);
    return caf::none;
  }
  caf::expected<std::vector<uint64_t>> fetch_dirty(size_t) override {
    std::lock_guard<std::mutex> g{mtx_};
    auto out = dirty_;
    std::fill(dirty_.begin(), dirty_.end(), 0);
    return out;
  }
  void stop_dirty_log() override { logging_ = false; }
  caf::error pause() override {
    std::lock_guard<std::mutex> g{mtx_};
    paused_ = true;
    return caf::none;
  }
  caf::error resume() override {
    {
      std::lock_guard<std::mutex> g{mtx_};
      paused_ = false;
    }
    if (on_resume)
      on_resume();
    return caf::none;
  }
  caf::expected<std::vector<state_blob>> save_state() override {
    return std::vector<state_blob>{{"uart0", {1, 2, 3}}, {"vcpu0", {9}}};
  }
  caf::error load_state(const std::vector<state_blob>& b) override {
    loaded_ = b;
    return caf::none;
  }
  caf::error release_media() override { return caf::none; }
  caf::error reacquire_media() override { return caf::none; }
  caf::error acquire_media() override { return caf::none; }

  /// The guest: writes one byte of a random page unless paused.
  bool write_random(std::mt19937& rng) {
    std::lock_guard<std::mutex> g{mtx_};
    if (paused_)
      return false;
    size_t page = rng() % (mem_.size() / 4096);
    mem_[page * 4096 + rng() % 4096] = static_cast<uint8_t>(rng() | 1);
    if (logging_)
      dirty_[page / 64] |= uint64_t{1} << (page % 64);
    return true;
  }

  std::vector<uint8_t> mem_;
  settings::hardware_settings hw_;
  std::vector<state_blob> loaded_;
  bool paused_ = false;
  std::function<void()> on_resume; ///< Runs after resume().

private:
  std::mutex mtx_;
  std::vector<uint64_t> dirty_;
  bool logging_ = false;
};

struct outcome {
  caf::expected<teleport_stats> source{caf::error{}};
  caf::error target;
};

int target_fd = -1; ///< The target's end of the last teleport().

outcome teleport(memory_vm& src, memory_vm& dst, const std::string& pw,
                 const std::string& target_pw) {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  target_fd = fds[0];
  auto id = tls_identity::self_signed();
  auto target = std::async(std::launch::async, [&]() -> caf::error {
    auto ch = tls_channel::accept(fds[0], *id);
    if (!ch)
      return ch.error();
    return teleport_in(*ch, dst, settings::teleporter_password_hash(target_pw));
  });
  outcome o;
  auto ch = tls_channel::connect(fds[1]);
  teleport_options opts;
  opts.password = pw;
  if (ch)
    o.source = teleport_out(*ch, src, opts, [](int, const char*) {});
  o.target = target.get();
  return o;
}

TEST(teleport_engine, memory_and_state_arrive_while_the_guest_writes) {
  memory_vm src{64}, dst{64};
  std::mt19937 rng(1); // fixed seed: reproducible pattern
  for (size_t i = 0; i < src.mem_.size(); i += 4096 * 5)
    src.mem_[i] = static_cast<uint8_t>(rng());
  std::atomic<bool> stop{false};
  std::thread guest([&] {
    std::mt19937 r(2);
    // About 100k page writes per second: a busy guest, not a saturating one.
    while (!stop) {
      for (int i = 0; i < 10; ++i)
        src.write_random(r);
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  });
  auto o = teleport(src, dst, "pw", "pw");
  stop = true;
  guest.join();
  ASSERT_TRUE(o.source) << error_text(o.source.error());
  EXPECT_FALSE(o.target) << error_text(o.target);
  EXPECT_TRUE(src.mem_ == dst.mem_);
  ASSERT_EQ(dst.loaded_.size(), 2u);
  EXPECT_EQ(dst.loaded_[0].name, "uart0");
  EXPECT_EQ(dst.loaded_[0].bytes, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_GE(o.source->rounds, 1u);
}

TEST(teleport_engine, wrong_password_leaves_the_source_running) {
  memory_vm src{4}, dst{4};
  auto o = teleport(src, dst, "wrong", "right");
  EXPECT_FALSE(o.source);
  EXPECT_FALSE(src.paused_);
  EXPECT_TRUE(o.target);
}

TEST(teleport_engine, memory_mismatch_is_refused_before_any_state_moves) {
  memory_vm src{8}, dst{4};
  auto o = teleport(src, dst, "pw", "pw");
  ASSERT_FALSE(o.source);
  EXPECT_NE(error_text(o.source.error()).find("memory"), std::string::npos);
  EXPECT_FALSE(src.paused_);
  EXPECT_TRUE(dst.loaded_.empty());
}

// The connection dies right after the target resumed, before its last
// acknowledgement: the target runs the VM, and the source must not.
TEST(teleport_engine, a_broken_hand_over_leaves_the_source_paused) {
  std::signal(SIGPIPE, SIG_IGN); // As the VM process: writes fail instead.
  memory_vm src{8}, dst{8};
  dst.on_resume = [] { ::shutdown(target_fd, SHUT_RDWR); };
  auto o = teleport(src, dst, "pw", "pw");
  ASSERT_FALSE(o.source);
  EXPECT_EQ(o.source.error(), teleport_errc::hand_over_unknown);
  EXPECT_NE(error_text(o.source.error()).find("stays paused"),
            std::string::npos)
      << error_text(o.source.error());
  EXPECT_TRUE(src.paused_);
  EXPECT_FALSE(dst.paused_);
}

} // namespace
} // namespace tb::cluster
