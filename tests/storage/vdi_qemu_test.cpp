// VDI images telebox writes pass qemu-img check and read back through QEMU
// byte for byte; images qemu-img creates open and read/write correctly.
#include <gtest/gtest.h>

#include "storage/errors.hpp"
#include "storage/medium_image.hpp"
#include "storage/medium_ops.hpp"
#include "storage/vdi_image.hpp"
#include "storage_test_util.hpp"

namespace tb::storage {
namespace {

using namespace test;

constexpr uint64_t mib = 1 << 20;

std::unique_ptr<medium_image> open_rw(const std::string& path) {
  open_options o;
  o.writable = true;
  o.owner = "test";
  auto img = open_medium(path, o);
  EXPECT_TRUE(img) << (img ? "" : error_text(img.error()));
  return img ? std::move(*img) : nullptr;
}

// Writes a random pattern of sizes 512 B .. 3 MiB at 512-aligned offsets,
// including whole zero blocks, mirroring them into `model`.
void random_writes(medium_image& img, std::vector<uint8_t>& model,
                   uint32_t seed, int count) {
  std::mt19937 gen(seed);
  for (int i = 0; i < count; ++i) {
    uint64_t sectors = model.size() / 512;
    uint64_t len = 512 * (1 + gen() % (gen() % 4 == 0 ? 6144 : 64));
    uint64_t off = 512 * (gen() % sectors);
    len = std::min(len, model.size() - off);
    std::vector<uint8_t> data = gen() % 5 == 0 ? std::vector<uint8_t>(len, 0)
                                               : random_bytes(len, gen());
    ASSERT_FALSE(img.write(off, data));
    std::copy(data.begin(), data.end(), model.begin() + off);
  }
}

std::string qemu_check(const std::string& path) {
  auto r = run("qemu-img check -f vdi '" + path + "'");
  return r.status == 0 ? "clean" : r.out;
}

TEST(vdi_qemu, created_dynamic_image_passes_qemu_check) {
  scratch_dir dir;
  auto path = dir.file("a.vdi");
  ASSERT_TRUE(create_medium(path, medium_format::vdi, 64 * mib,
                            medium_variant::standard));
  EXPECT_EQ(qemu_check(path), "clean");
  auto info = run("qemu-img info --output=json '" + path + "'");
  EXPECT_NE(info.out.find("\"virtual-size\": 67108864"), std::string::npos)
      << info.out;
  EXPECT_EQ(std::filesystem::file_size(path), 2 * mib); // Sparse to offData.
}

TEST(vdi_qemu, random_writes_read_back_through_qemu) {
  scratch_dir dir;
  auto path = dir.file("a.vdi");
  // 40 MiB + 1536 B: not a multiple of the block size.
  uint64_t size = 40 * mib + 1536;
  ASSERT_TRUE(
      create_medium(path, medium_format::vdi, size, medium_variant::standard));
  std::vector<uint8_t> model(size, 0);
  {
    auto img = open_rw(path);
    ASSERT_TRUE(img);
    random_writes(*img, model, 1, 300);
    ASSERT_FALSE(img->flush());
  }
  EXPECT_EQ(qemu_check(path), "clean");
  EXPECT_TRUE(qemu_raw(path, dir.file("out.raw")) == model);
}

TEST(vdi_qemu, fixed_image_round_trips_through_qemu) {
  scratch_dir dir;
  auto path = dir.file("f.vdi");
  uint64_t size = 9 * mib;
  ASSERT_TRUE(
      create_medium(path, medium_format::vdi, size, medium_variant::fixed));
  std::vector<uint8_t> model(size, 0);
  {
    auto img = open_rw(path);
    ASSERT_TRUE(img);
    random_writes(*img, model, 2, 50);
  }
  EXPECT_EQ(qemu_check(path), "clean");
  EXPECT_TRUE(qemu_raw(path, dir.file("out.raw")) == model);
}

TEST(vdi_qemu, qemu_created_image_reads_and_writes) {
  scratch_dir dir;
  auto path = dir.file("q.vdi");
  uint64_t size = 33 * mib;
  auto src = random_bytes(size, 7);
  for (size_t i = 4 * mib; i < 9 * mib; ++i)
    src[i] = 0; // Some blocks QEMU leaves unallocated.
  write_file(dir.file("src.raw"), src);
  ASSERT_EQ(run("qemu-img convert -O vdi '" + dir.file("src.raw") + "' '" + path
                + "'")
                .status,
            0);
  auto img = open_rw(path);
  ASSERT_TRUE(img);
  std::vector<uint8_t> back(size);
  ASSERT_FALSE(img->read(0, back));
  EXPECT_TRUE(back == src);
  random_writes(*img, src, 3, 200);
  img.reset();
  EXPECT_EQ(qemu_check(path), "clean");
  EXPECT_TRUE(qemu_raw(path, dir.file("out.raw")) == src);
}

TEST(vdi_qemu, whole_zero_block_write_stays_unallocated) {
  scratch_dir dir;
  auto path = dir.file("z.vdi");
  ASSERT_TRUE(create_medium(path, medium_format::vdi, 8 * mib,
                            medium_variant::standard));
  auto img = open_rw(path);
  ASSERT_TRUE(img);
  std::vector<uint8_t> zeros(mib, 0);
  ASSERT_FALSE(img->write(2 * mib, zeros));
  auto* vdi = dynamic_cast<vdi_image*>(img.get());
  ASSERT_NE(vdi, nullptr);
  EXPECT_EQ(vdi->header().blocks_allocated, 0u);
}

TEST(vdi_qemu, resize_in_place_and_with_relocation_pass_qemu_check) {
  scratch_dir dir;
  auto ours = dir.file("ours.vdi");
  auto theirs = dir.file("theirs.vdi");
  ASSERT_TRUE(create_medium(ours, medium_format::vdi, 5 * mib,
                            medium_variant::standard));
  // QEMU's map area holds exactly 128 entries: growing past it moves data.
  ASSERT_EQ(run("qemu-img create -q -f vdi '" + theirs + "' 5M").status, 0);
  for (const auto& path : {ours, theirs}) {
    std::vector<uint8_t> model(5 * mib, 0);
    {
      auto img = open_rw(path);
      ASSERT_TRUE(img);
      random_writes(*img, model, 4, 40);
    }
    auto err = resize_medium(path, 130 * mib);
    ASSERT_FALSE(err) << error_text(err);
    model.resize(130 * mib, 0);
    {
      auto img = open_rw(path);
      ASSERT_TRUE(img);
      EXPECT_EQ(img->size(), 130 * mib);
      random_writes(*img, model, 5, 40);
    }
    EXPECT_EQ(qemu_check(path), "clean") << path;
    EXPECT_TRUE(qemu_raw(path, dir.file("out.raw")) == model) << path;
  }
}

TEST(vdi_qemu, shrinking_is_refused) {
  scratch_dir dir;
  auto path = dir.file("s.vdi");
  ASSERT_TRUE(create_medium(path, medium_format::vdi, 8 * mib,
                            medium_variant::standard));
  auto err = resize_medium(path, 4 * mib);
  EXPECT_EQ(err, storage_errc::unsupported);
}

TEST(vdi_qemu, discard_frees_space_and_reads_zero) {
  scratch_dir dir;
  auto path = dir.file("d.vdi");
  ASSERT_TRUE(create_medium(path, medium_format::vdi, 8 * mib,
                            medium_variant::standard));
  auto img = open_rw(path);
  ASSERT_TRUE(img);
  auto data = random_bytes(4 * mib, 9);
  ASSERT_FALSE(img->write(0, data));
  ASSERT_FALSE(img->flush());
  ASSERT_FALSE(img->discard(mib, 2 * mib));
  std::vector<uint8_t> back(4 * mib);
  ASSERT_FALSE(img->read(0, back));
  std::fill(data.begin() + mib, data.begin() + 3 * mib, 0);
  EXPECT_TRUE(back == data);
  img.reset();
  EXPECT_EQ(qemu_check(path), "clean");
}

TEST(vdi_qemu, access_past_the_end_is_refused) {
  scratch_dir dir;
  auto path = dir.file("e.vdi");
  ASSERT_TRUE(create_medium(path, medium_format::vdi, mib + 512,
                            medium_variant::standard));
  auto img = open_rw(path);
  ASSERT_TRUE(img);
  std::vector<uint8_t> buf(1024);
  EXPECT_EQ(img->read(mib, buf), storage_errc::out_of_range);
  EXPECT_EQ(img->write(mib, buf), storage_errc::out_of_range);
}

} // namespace
} // namespace tb::storage
