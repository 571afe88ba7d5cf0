// convertfromraw / clonemedium / showmediuminfo against qemu-img.
#include <gtest/gtest.h>

#include "storage/errors.hpp"
#include "storage/medium_image.hpp"
#include "storage/medium_ops.hpp"
#include "storage_test_util.hpp"

namespace tb::storage {
namespace {

using namespace test;

constexpr uint64_t mib = 1 << 20;

std::vector<uint8_t> mixed_content(uint64_t size) {
  auto data = random_bytes(size, 5);
  std::fill(data.begin() + 2 * mib, data.begin() + 6 * mib, 0);
  std::fill(data.begin() + 7 * mib + 512, data.begin() + 7 * mib + 4096, 0);
  return data;
}

TEST(medium_ops, raw_to_vdi_matches_qemu_and_skips_zero_blocks) {
  scratch_dir dir;
  uint64_t size = 11 * mib + 512 * 3; // Odd tail block.
  auto data = mixed_content(size);
  write_file(dir.file("in.raw"), data);
  std::string line;
  auto info = convert_medium(dir.file("in.raw"), dir.file("out.vdi"),
                             medium_format::vdi, medium_variant::standard,
                             vbox_progress_line(line));
  ASSERT_TRUE(info) << error_text(info.error());
  EXPECT_EQ(line, "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%"
                  "...100%\n");
  EXPECT_EQ(run("qemu-img check -f vdi " + dir.file("out.vdi")).status, 0);
  EXPECT_TRUE(qemu_raw(dir.file("out.vdi"), dir.file("q.raw")) == data);
  auto img = open_medium(dir.file("out.vdi"));
  ASSERT_TRUE(img);
  EXPECT_EQ((*img)->info().id, info->id);
  // 12 blocks, 4 of them all zero.
  EXPECT_EQ(std::filesystem::file_size(dir.file("out.vdi")), (2 + 8) * mib);
}

TEST(medium_ops, fixed_vdi_and_raw_clones_round_trip) {
  scratch_dir dir;
  uint64_t size = 9 * mib;
  auto data = mixed_content(size);
  write_file(dir.file("in.raw"), data);
  ASSERT_TRUE(convert_medium(dir.file("in.raw"), dir.file("f.vdi"),
                             medium_format::vdi, medium_variant::fixed));
  EXPECT_EQ(run("qemu-img check -f vdi " + dir.file("f.vdi")).status, 0);
  EXPECT_TRUE(qemu_raw(dir.file("f.vdi"), dir.file("q.raw")) == data);
  ASSERT_TRUE(convert_medium(dir.file("f.vdi"), dir.file("back.raw"),
                             medium_format::raw, medium_variant::standard));
  EXPECT_TRUE(read_file(dir.file("back.raw")) == data);
}

// The output's data goes out with O_DIRECT in whole pages; a tail that is
// no multiple of 4 KiB takes the buffered path. Both halves must land.
TEST(medium_ops, tails_off_the_page_grid_round_trip_exactly) {
  scratch_dir dir;
  auto data = random_bytes(5 * mib + 4096 + 512 * 3, 9);
  write_file(dir.file("in.raw"), data);
  ASSERT_TRUE(convert_medium(dir.file("in.raw"), dir.file("t.vdi"),
                             medium_format::vdi, medium_variant::standard));
  EXPECT_EQ(run("qemu-img check -f vdi " + dir.file("t.vdi")).status, 0);
  EXPECT_TRUE(qemu_raw(dir.file("t.vdi"), dir.file("q.raw")) == data);
  ASSERT_TRUE(convert_medium(dir.file("t.vdi"), dir.file("back.raw"),
                             medium_format::raw, medium_variant::standard));
  EXPECT_TRUE(read_file(dir.file("back.raw")) == data);
  // Raw to raw with a size that is not even a multiple of 512.
  auto odd = random_bytes(3 * mib + 777, 10);
  write_file(dir.file("odd.raw"), odd);
  ASSERT_TRUE(convert_medium(dir.file("odd.raw"), dir.file("odd2.raw"),
                             medium_format::raw, medium_variant::standard));
  EXPECT_TRUE(read_file(dir.file("odd2.raw")) == odd);
}

TEST(medium_ops, qemu_vdi_clones_to_raw_exactly) {
  scratch_dir dir;
  auto data = mixed_content(10 * mib);
  write_file(dir.file("in.raw"), data);
  ASSERT_EQ(run("qemu-img convert -O vdi " + dir.file("in.raw") + " "
                + dir.file("q.vdi"))
                .status,
            0);
  ASSERT_TRUE(convert_medium(dir.file("q.vdi"), dir.file("out.raw"),
                             medium_format::raw, medium_variant::standard));
  EXPECT_TRUE(read_file(dir.file("out.raw")) == data);
}

TEST(medium_ops, clone_refuses_an_existing_target) {
  scratch_dir dir;
  ASSERT_TRUE(create_medium(dir.file("a.vdi"), medium_format::vdi, mib,
                            medium_variant::standard));
  write_file(dir.file("b.vdi"), {1, 2, 3});
  auto r = convert_medium(dir.file("a.vdi"), dir.file("b.vdi"),
                          medium_format::vdi, medium_variant::standard);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), storage_errc::exists);
  EXPECT_EQ(read_file(dir.file("b.vdi")).size(), 3u); // Untouched.
}

TEST(medium_ops, showmediuminfo_text_has_vboxmanage_layout) {
  scratch_dir dir;
  auto id = *uuid::parse("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
  ASSERT_TRUE(create_medium(dir.file("s.vdi"), medium_format::vdi, 64 * mib,
                            medium_variant::standard, {}, &id));
  auto text = describe_medium(dir.file("s.vdi"));
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "UUID:           0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n"
                   "Parent UUID:    base\n"
                   "State:          created\n"
                   "Type:           normal (base)\n"
                   "Location:       "
                       + dir.file("s.vdi")
                       + "\n"
                         "Storage format: VDI\n"
                         "Format variant: dynamic default\n"
                         "Capacity:       64 MBytes\n"
                         "Size on disk:   0 MBytes\n"
                         "Encryption:     disabled\n"
                         "Property:       AllocationBlockSize=1048576\n");
}

TEST(medium_ops, variant_parsing_names_bad_words) {
  EXPECT_EQ(*parse_medium_variant("Fixed"), medium_variant::fixed);
  EXPECT_EQ(*parse_medium_variant("standard"), medium_variant::standard);
  auto bad = parse_medium_variant("Split2G");
  ASSERT_FALSE(bad);
  EXPECT_NE(error_text(bad.error()).find("split2g"), std::string::npos);
}

} // namespace
} // namespace tb::storage
