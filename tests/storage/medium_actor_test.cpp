// The storage actor: many requests in flight, completions as messages,
// results equal to what a plain model of the disk says.
#include <condition_variable>
#include <cstring>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <gtest/gtest.h>

#include "actors/runtime.hpp"
#include "storage/errors.hpp"
#include "storage/file_io.hpp"
#include "storage/medium_actor.hpp"
#include "storage_test_util.hpp"

namespace tb::storage {
namespace {

using namespace test;

constexpr uint64_t mib = 1 << 20;

struct actor_fixture : ::testing::Test {
  actor_fixture() : sys(make_config()) {}
  static caf::actor_system_config& make_config() {
    static caf::actor_system_config cfg;
    static bool done = false;
    if (!done) {
      tb::actors::configure(cfg);
      done = true;
    }
    return cfg;
  }
  caf::actor_system sys;
  scratch_dir dir;

  /// The medium at `path`, writable, with host cache on or off (direct).
  caf::expected<medium_actor> open_writable(const std::string& path,
                                            bool direct, size_t threads) {
    open_options o;
    o.writable = true;
    o.direct = direct;
    o.owner = "actor-test";
    return spawn_medium(sys, path, o, threads);
  }
};

TEST_F(actor_fixture, writes_in_flight_then_reads_match_model) {
  auto path = dir.file("a.vdi");
  ASSERT_TRUE(create_medium(path, medium_format::vdi, 16 * mib,
                            medium_variant::standard));
  auto medium = open_writable(path, false, 4);
  ASSERT_TRUE(medium) << error_text(medium.error());
  caf::scoped_actor self{sys};
  std::vector<uint8_t> model(16 * mib, 0);
  // 64 non-overlapping 64 KiB writes, all sent before any reply is read.
  std::mt19937 gen(11);
  std::vector<uint64_t> offsets;
  for (uint64_t i = 0; i < 64; ++i)
    offsets.push_back(i * 256 * 1024 + 4096 * (gen() % 16));
  int replies = 0;
  for (auto off : offsets) {
    auto data = random_bytes(64 * 1024, static_cast<uint32_t>(off));
    std::copy(data.begin(), data.end(), model.begin() + off);
    // A plain send: the reply comes back as an ordinary message.
    self->send(*medium, write_request{off, std::move(data)});
  }
  for (int i = 0; i < 64; ++i)
    self->receive([&](uint64_t n) {
      EXPECT_EQ(n, 64u * 1024);
      ++replies;
    });
  EXPECT_EQ(replies, 64);
  self->request(*medium, caf::infinite, flush_atom_v)
      .receive([](uint64_t) {}, [](caf::error& e) { FAIL() << error_text(e); });
  std::vector<uint8_t> back(16 * mib);
  std::vector<io_segment> segs;
  for (uint64_t at = 0; at < back.size(); at += mib)
    segs.push_back({back.data() + at, mib});
  self->request(*medium, caf::infinite, readv_request{0, segs})
      .receive([](uint64_t n) { EXPECT_EQ(n, 16 * mib); },
               [](caf::error& e) { FAIL() << error_text(e); });
  EXPECT_TRUE(back == model);
  self->request(*medium, caf::infinite, status_atom_v)
      .receive(
          [](const medium_status& st) {
            EXPECT_EQ(st.writes, 64u);
            EXPECT_EQ(st.in_flight, 0u);
            EXPECT_GT(st.max_in_flight, 1u);
          },
          [](caf::error& e) { FAIL() << error_text(e); });
}

// Host cache off: aligned scatter reads go through io_uring, unaligned
// ones through the pool; both must return the model's bytes, including
// blocks never written (zeros) and blocks stored out of order in the file.
TEST_F(actor_fixture, direct_scatter_reads_in_flight_match_model) {
  auto path = dir.file("d.vdi");
  ASSERT_TRUE(create_medium(path, medium_format::vdi, 8 * mib,
                            medium_variant::standard));
  auto medium = open_writable(path, true, 2);
  ASSERT_TRUE(medium) << error_text(medium.error());
  caf::scoped_actor self{sys};
  std::vector<uint8_t> model(8 * mib, 0);
  // Blocks 5, 1, 6, 0 in that order: file order differs from disk order;
  // 2, 3, 4 and 7 stay unallocated.
  for (uint64_t block : {5, 1, 6, 0}) {
    auto data = random_bytes(mib, static_cast<uint32_t>(block + 100));
    std::copy(data.begin(), data.end(), model.begin() + block * mib);
    self->request(*medium, caf::infinite, write_request{block * mib, data})
        .receive([](uint64_t) {},
                 [](caf::error& e) { FAIL() << error_text(e); });
  }
  aligned_buffer buf(8 * mib + 4096);
  std::mt19937 gen(3);
  struct req {
    uint64_t offset, length;
    uint8_t* at;
  };
  std::vector<req> reqs;
  uint64_t used = 0;
  for (int i = 0; i < 48; ++i) {
    uint64_t len = 512 * (1 + gen() % 512); // Up to 256 KiB.
    uint64_t off = 512 * (gen() % ((8 * mib - len) / 512));
    if (used + len > 8 * mib)
      break;
    reqs.push_back({off, len, buf.data() + used});
    used += len;
  }
  // One unaligned buffer (pool path) among them.
  reqs.push_back({mib - 700, 3000, buf.data() + 8 * mib + 1});
  for (const auto& r : reqs) {
    // Two segments, split at an odd sector count.
    uint64_t first = r.length > 1024 ? r.length / 1024 * 512 : r.length;
    std::vector<io_segment> segs{{r.at, first}};
    if (first < r.length)
      segs.push_back({r.at + first, r.length - first});
    self->send(*medium, readv_request{r.offset, segs});
  }
  for (size_t i = 0; i < reqs.size(); ++i)
    self->receive([](uint64_t) {},
                  [](caf::error& e) { FAIL() << error_text(e); });
  for (const auto& r : reqs)
    EXPECT_TRUE(std::equal(r.at, r.at + r.length, model.begin() + r.offset))
        << "read of " << r.length << " at " << r.offset;
  // Past the end: an error, on whichever path.
  std::vector<io_segment> tail{{buf.data(), 8192}};
  self->request(*medium, caf::infinite, readv_request{8 * mib - 4096, tail})
      .receive([](uint64_t) { FAIL() << "read succeeded"; },
               [](caf::error& e) { EXPECT_EQ(e, storage_errc::out_of_range); });
  self->request(*medium, caf::infinite, status_atom_v)
      .receive([](const medium_status& st) { EXPECT_EQ(st.in_flight, 0u); },
               [](caf::error& e) { FAIL() << error_text(e); });
}

// Host cache off: aligned gather writes into allocated blocks go through
// io_uring, the others (unallocated blocks, unaligned) through the pool;
// after a flush the file holds the model, for telebox and for qemu-img.
TEST_F(actor_fixture, direct_gather_writes_in_flight_match_model) {
  auto path = dir.file("w.vdi");
  ASSERT_TRUE(create_medium(path, medium_format::vdi, 8 * mib,
                            medium_variant::standard));
  std::vector<uint8_t> model(8 * mib, 0);
  {
    auto medium = open_writable(path, true, 2);
    ASSERT_TRUE(medium) << error_text(medium.error());
    caf::scoped_actor self{sys};
    for (uint64_t block : {3, 0, 6}) { // Allocated; the rest is not.
      auto data = random_bytes(mib, static_cast<uint32_t>(block + 200));
      std::copy(data.begin(), data.end(), model.begin() + block * mib);
      self->request(*medium, caf::infinite, write_request{block * mib, data})
          .receive([](uint64_t) {},
                   [](caf::error& e) { FAIL() << error_text(e); });
    }
    // Non-overlapping writes in flight: 32 slots of 256 KiB, each written
    // somewhere inside its slot, plus one unaligned buffer.
    auto src = random_bytes(8 * mib, 77);
    aligned_buffer buf(8 * mib + 4096);
    std::copy(src.begin(), src.end(), buf.data());
    std::mt19937 gen(5);
    int sent = 0;
    for (uint64_t slot = 0; slot < 32; ++slot) {
      uint64_t len = 512 * (1 + gen() % 256);
      uint64_t off =
          slot * 256 * 1024 + 512 * (gen() % ((256 * 1024 - len) / 512 + 1));
      uint8_t* at = buf.data() + off;
      std::copy(at, at + len, model.begin() + off);
      uint64_t first = len > 1024 ? len / 1024 * 512 : len;
      std::vector<io_segment> segs{{at, first}};
      if (first < len)
        segs.push_back({at + first, len - first});
      self->send(*medium, writev_request{off, segs});
      ++sent;
    }
    uint8_t* odd = buf.data() + 8 * mib + 1;
    std::fill(odd, odd + 1000, uint8_t{0xab});
    std::copy(odd, odd + 1000, model.begin() + 3 * mib + 100);
    self->send(*medium,
               writev_request{3 * mib + 100, {{odd, 1000}}}); // Unaligned.
    ++sent;
    for (int i = 0; i < sent; ++i)
      self->receive([](uint64_t) {},
                    [](caf::error& e) { FAIL() << error_text(e); });
    self->request(*medium, caf::infinite, flush_atom_v)
        .receive([](uint64_t) {},
                 [](caf::error& e) { FAIL() << error_text(e); });
  }
  EXPECT_EQ(run("qemu-img check -f vdi " + path).status, 0);
  EXPECT_TRUE(qemu_raw(path, dir.file("q.raw")) == model);
}

TEST_F(actor_fixture, read_past_the_end_replies_with_an_error) {
  auto path = dir.file("r.raw");
  ASSERT_TRUE(
      create_medium(path, medium_format::raw, mib, medium_variant::standard));
  auto medium = spawn_medium(sys, path, open_options{}, 1);
  ASSERT_TRUE(medium);
  caf::scoped_actor self{sys};
  self->request(*medium, caf::infinite, read_request{mib - 512, 1024})
      .receive([](const read_result&) { FAIL() << "read succeeded"; },
               [](caf::error& e) {
                 EXPECT_EQ(e, storage_errc::out_of_range);
                 EXPECT_NE(error_text(e).find("past the end"),
                           std::string::npos);
               });
}

TEST_F(actor_fixture, write_to_read_only_medium_is_refused) {
  auto path = dir.file("ro.vdi");
  ASSERT_TRUE(
      create_medium(path, medium_format::vdi, mib, medium_variant::standard));
  auto medium = spawn_medium(sys, path, open_options{}, 1);
  ASSERT_TRUE(medium);
  caf::scoped_actor self{sys};
  self->request(*medium, caf::infinite,
                write_request{0, std::vector<uint8_t>(512, 1)})
      .receive([](uint64_t) { FAIL() << "write succeeded"; },
               [](caf::error& e) { EXPECT_EQ(e, storage_errc::read_only); });
}

// The completion callback (io_done) instead of a reply: on both paths
// (io_uring for aligned direct I/O, the pool for the rest and for writes
// that allocate), with the bytes moved or the error, and no reply message.
TEST_F(actor_fixture, io_done_completes_reads_and_writes_without_a_reply) {
  auto path = dir.file("cb.vdi");
  ASSERT_TRUE(create_medium(path, medium_format::vdi, 4 * mib,
                            medium_variant::standard));
  auto medium = open_writable(path, true, 2);
  ASSERT_TRUE(medium) << error_text(medium.error());
  struct result {
    caf::error err;
    uint64_t n = 0;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::vector<result> results;
  auto done = [&](const caf::error& e, uint64_t n) {
    std::lock_guard<std::mutex> g{mu};
    results.push_back({e, n});
    cv.notify_all();
  };
  auto wait_results = [&](size_t count) {
    std::unique_lock<std::mutex> g{mu};
    return cv.wait_for(g, std::chrono::seconds(10),
                       [&] { return results.size() >= count; });
  };
  void* raw = nullptr;
  ASSERT_EQ(posix_memalign(&raw, 4096, 2 * 65536), 0);
  auto* buf = static_cast<uint8_t*>(raw);
  std::memset(buf, 0x6b, 65536);
  // Allocates a block (pool), then rewrites it in place (io_uring).
  caf::anon_send(*medium, writev_request{mib, {{buf, 65536}}, done});
  ASSERT_TRUE(wait_results(1));
  caf::anon_send(*medium, writev_request{mib, {{buf, 65536}}, done});
  ASSERT_TRUE(wait_results(2));
  // Aligned (io_uring) and unaligned (pool) reads back.
  caf::anon_send(*medium, readv_request{mib, {{buf + 65536, 65536}}, done});
  ASSERT_TRUE(wait_results(3));
  EXPECT_EQ(std::memcmp(buf, buf + 65536, 65536), 0);
  caf::anon_send(*medium,
                 readv_request{mib + 512, {{buf + 65537, 1000}}, done});
  ASSERT_TRUE(wait_results(4));
  EXPECT_EQ(buf[65537 + 999], 0x6b);
  // Past the end: the error comes through the callback too.
  caf::anon_send(*medium, readv_request{4 * mib - 512, {{buf, 4096}}, done});
  ASSERT_TRUE(wait_results(5));
  std::lock_guard<std::mutex> g{mu};
  for (size_t i = 0; i < 4; ++i)
    EXPECT_FALSE(results[i].err) << i << ": " << error_text(results[i].err);
  EXPECT_EQ(results[0].n, 65536u);
  EXPECT_EQ(results[2].n, 65536u);
  EXPECT_EQ(results[3].n, 1000u);
  EXPECT_EQ(results[4].err, storage_errc::out_of_range);
  std::free(raw);
}

} // namespace
} // namespace tb::storage
