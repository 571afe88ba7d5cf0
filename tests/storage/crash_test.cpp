// kill -9 at random moments during writes: afterwards qemu-img check is
// clean and every acknowledged write is in the image (a process kill keeps
// the page cache, so this is stronger than "everything before the last
// flush"). The one write in flight at the kill may be old, new or mixed.
#include <csignal>
#include <thread>

#include <sys/wait.h>

#include <gtest/gtest.h>

#include "storage/medium_image.hpp"
#include "storage_test_util.hpp"

namespace tb::storage {
namespace {

using namespace test;

constexpr uint64_t mib = 1 << 20;
constexpr uint64_t disk_size = 48 * mib;

struct op {
  bool flush = false;
  uint64_t offset = 0;
  std::vector<uint8_t> data;
};

op make_op(uint32_t round, uint32_t index) {
  std::mt19937 gen(round * 100003 + index);
  op o;
  if (index % 8 == 7) {
    o.flush = true;
    return o;
  }
  uint64_t len = 512 * (1 + gen() % 3072); // Up to 1.5 MiB.
  o.offset = 512 * (gen() % (disk_size / 512));
  len = std::min(len, disk_size - o.offset);
  o.data =
      gen() % 6 == 0 ? std::vector<uint8_t>(len, 0) : random_bytes(len, gen());
  return o;
}

[[noreturn]] void child_writer(const std::string& path, uint32_t round,
                               int ack_fd) {
  open_options o;
  o.writable = true;
  o.owner = "crash-test";
  auto img = open_medium(path, o);
  if (!img)
    _exit(3);
  for (uint32_t i = 0;; ++i) {
    auto x = make_op(round, i);
    auto err = x.flush ? (*img)->flush() : (*img)->write(x.offset, x.data);
    if (err)
      _exit(4);
    if (::write(ack_fd, &i, sizeof i) != sizeof i)
      _exit(5);
  }
}

// Runs one writer, kills it, and returns the index of the first write not
// acknowledged (-1 if the child failed).
int64_t run_and_kill(const std::string& path, uint32_t round,
                     std::mt19937& gen) {
  int fds[2];
  if (::pipe(fds) != 0)
    return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    child_writer(path, round, fds[1]);
  }
  ::close(fds[1]);
  uint32_t ack = 0;
  int64_t acked = 0;
  if (::read(fds[0], &ack, sizeof ack) == sizeof ack)
    acked = ack + 1;
  std::this_thread::sleep_for(std::chrono::milliseconds(5 + gen() % 80));
  ::kill(pid, SIGKILL);
  while (::read(fds[0], &ack, sizeof ack) == sizeof ack)
    acked = ack + 1;
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFSIGNALED(status))
    return -1;
  return acked;
}

TEST(crash, kill_during_writes_leaves_clean_image_with_acked_writes) {
  scratch_dir dir;
  auto path = dir.file("crash.vdi");
  ASSERT_TRUE(create_medium(path, medium_format::vdi, disk_size,
                            medium_variant::standard));
  std::vector<uint8_t> image(disk_size, 0); // Verified content so far.
  std::mt19937 gen(42);
  int total_acked = 0;
  for (uint32_t round = 0; round < 24; ++round) {
    int64_t acked = run_and_kill(path, round, gen);
    ASSERT_GE(acked, 1) << "round " << round;
    total_acked += static_cast<int>(acked);
    auto check = run("qemu-img check -f vdi '" + path + "'");
    ASSERT_EQ(check.status, 0) << "round " << round << ": " << check.out;
    std::vector<uint8_t> expect = image;
    for (int64_t i = 0; i < acked; ++i) {
      auto x = make_op(round, static_cast<uint32_t>(i));
      std::copy(x.data.begin(), x.data.end(), expect.begin() + x.offset);
    }
    auto actual = qemu_raw(path, dir.file("out.raw"));
    ASSERT_EQ(actual.size(), disk_size);
    auto pending = make_op(round, static_cast<uint32_t>(acked));
    for (uint64_t b = 0; b < disk_size; ++b) {
      if (actual[b] == expect[b])
        continue;
      bool in_flight = b >= pending.offset
                       && b < pending.offset + pending.data.size()
                       && actual[b] == pending.data[b - pending.offset];
      ASSERT_TRUE(in_flight) << "round " << round << ": byte " << b
                             << " lost an acknowledged write";
    }
    image = std::move(actual);
  }
  EXPECT_GE(total_acked, 24);
}

} // namespace
} // namespace tb::storage
