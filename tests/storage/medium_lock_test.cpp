// Only one process (one open) writes a medium; the refusal names the VM.
#include <thread>

#include <sys/wait.h>

#include <gtest/gtest.h>

#include "storage/errors.hpp"
#include "storage/medium_image.hpp"
#include "storage/medium_lock.hpp"
#include "storage_test_util.hpp"

namespace tb::storage {
namespace {

using namespace test;

open_options writer(const std::string& vm) {
  open_options o;
  o.writable = true;
  o.owner = vm;
  return o;
}

TEST(medium_lock, second_writer_is_refused_with_the_holders_name) {
  scratch_dir dir;
  auto path = dir.file("l.vdi");
  ASSERT_TRUE(create_medium(path, medium_format::vdi, 1 << 20,
                            medium_variant::standard));
  auto first = open_medium(path, writer("alpha"));
  ASSERT_TRUE(first);
  auto second = open_medium(path, writer("beta"));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error(), storage_errc::locked);
  EXPECT_NE(error_text(second.error())
                .find("medium " + path + " is locked by VM alpha"),
            std::string::npos)
      << error_text(second.error());
}

TEST(medium_lock, another_process_is_refused_until_the_holder_exits) {
  scratch_dir dir;
  auto path = dir.file("p.raw");
  ASSERT_TRUE(create_medium(path, medium_format::raw, 1 << 20,
                            medium_variant::standard));
  auto held = open_medium(path, writer("alpha"));
  ASSERT_TRUE(held);
  pid_t pid = ::fork();
  if (pid == 0) {
    auto r = open_medium(path, writer("beta"));
    _exit(!r && r.error() == storage_errc::locked ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  held->reset();
  EXPECT_TRUE(open_medium(path, writer("beta")));
}

TEST(medium_lock, readers_do_not_block_and_shared_readers_block_writers) {
  scratch_dir dir;
  auto path = dir.file("r.vdi");
  ASSERT_TRUE(create_medium(path, medium_format::vdi, 1 << 20,
                            medium_variant::standard));
  auto writer_img = open_medium(path, writer("alpha"));
  ASSERT_TRUE(writer_img);
  EXPECT_TRUE(open_medium(path, open_options{})); // showmediuminfo-style.
  open_options shared;
  shared.lock_shared = true;
  EXPECT_EQ(open_medium(path, shared).error(), storage_errc::locked);
}

TEST(medium_lock, handover_waits_for_the_release) {
  scratch_dir dir;
  auto path = dir.file("h.vdi");
  ASSERT_TRUE(create_medium(path, medium_format::vdi, 1 << 20,
                            medium_variant::standard));
  auto source = open_medium(path, writer("vm-source"));
  ASSERT_TRUE(source);
  // The target is another open file description (in real life another
  // process on another host); it retries while the source lets go.
  caf::error target_error = make_storage_error(storage_errc::locked, "none");
  std::thread target{[&] {
    auto o = writer("vm-target");
    o.lock_wait_ms = 5000;
    auto r = open_medium(path, o);
    target_error = r ? caf::error{} : r.error();
  }};
  ::usleep(100 * 1000);
  source->reset(); // Switch-over: the source closes the medium.
  target.join();
  EXPECT_FALSE(target_error) << error_text(target_error);
  lock_owner owner;
  EXPECT_TRUE(read_lock_owner(path, owner));
  EXPECT_EQ(owner.vm, "vm-target");
}

} // namespace
} // namespace tb::storage
