#include <cstdio>
#include <cstdlib>

#include <unistd.h>

#include <gtest/gtest.h>

#include "devices/file_block_backend.hpp"

namespace tb::devices {
namespace {

// A 4-sector temporary file, removed at the end.
struct temp_disk {
  temp_disk() {
    char name[] = "/tmp/tb-fbb-XXXXXX";
    fd = mkstemp(name);
    path = name;
    std::vector<uint8_t> zeros(4 * 512 + 100, 0); // a partial 5th sector
    EXPECT_EQ(write(fd, zeros.data(), zeros.size()), ssize_t(zeros.size()));
  }
  ~temp_disk() {
    close(fd);
    unlink(path.c_str());
  }
  int fd = -1;
  std::string path;
};

block_status run(block_backend& b, block_request r) {
  block_status out = block_status::unsupported;
  int calls = 0;
  b.submit(std::move(r), [&](block_status s) {
    out = s;
    ++calls;
  });
  EXPECT_EQ(calls, 1); // exactly once, synchronously
  return out;
}

TEST(file_block_backend, size_is_whole_sectors) {
  temp_disk disk;
  file_block_backend b{disk.fd, false};
  EXPECT_EQ(b.sectors(), 4u);
}

TEST(file_block_backend, scattered_write_lands_contiguously) {
  temp_disk disk;
  file_block_backend b{disk.fd, false};
  std::vector<uint8_t> first(512, 0x11), second(512, 0x22);
  EXPECT_EQ(run(b, {block_op::write, 1, {first, second}}), block_status::ok);
  EXPECT_EQ(run(b, {block_op::flush, 0, {}}), block_status::ok);
  uint8_t byte = 0;
  EXPECT_EQ(pread(disk.fd, &byte, 1, 512 + 511), 1);
  EXPECT_EQ(byte, 0x11);
  EXPECT_EQ(pread(disk.fd, &byte, 1, 1024), 1);
  EXPECT_EQ(byte, 0x22);
  std::vector<uint8_t> back(1024, 0);
  EXPECT_EQ(run(b, {block_op::read, 1, {back}}), block_status::ok);
  EXPECT_EQ(back[1023], 0x22);
}

TEST(file_block_backend, read_only_refuses_writes) {
  temp_disk disk;
  file_block_backend b{disk.fd, true};
  std::vector<uint8_t> data(512, 1);
  EXPECT_EQ(run(b, {block_op::write, 0, {data}}), block_status::io_error);
}

TEST(file_block_backend, read_past_end_of_file_fails) {
  temp_disk disk;
  file_block_backend b{disk.fd, false};
  std::vector<uint8_t> data(1024, 0);
  EXPECT_EQ(run(b, {block_op::read, 5, {data}}), block_status::io_error);
}

} // namespace
} // namespace tb::devices
