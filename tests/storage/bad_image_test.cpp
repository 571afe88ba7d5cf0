// Damaged images on disk are refused with a clear error, never a crash.
#include <gtest/gtest.h>

#include "storage/errors.hpp"
#include "storage/medium_image.hpp"
#include "storage/vdi_format.hpp"
#include "storage_test_util.hpp"

namespace tb::storage {
namespace {

using namespace test;

constexpr uint64_t mib = 1 << 20;

// A small VBox-layout VDI with blocks 0 and 1 allocated, as bytes.
std::vector<uint8_t> two_block_vdi(vdi_header& h) {
  h = make_vbox_header(4 * mib, false, uuid::random());
  h.blocks_allocated = 2;
  std::vector<uint8_t> file(h.file_size_for(2), 0);
  encode_vdi_header(h, file);
  std::vector<uint32_t> map(h.blocks, vdi_block_free);
  map[0] = 0;
  map[1] = 1;
  std::memcpy(file.data() + h.offset_blocks, map.data(), map.size() * 4);
  return file;
}

std::string open_error(const std::string& path) {
  auto r = open_medium(path);
  return r ? std::string{"opened"} : error_text(r.error());
}

void set_entry(std::vector<uint8_t>& file, const vdi_header& h, uint32_t i,
               uint32_t v) {
  std::memcpy(file.data() + h.offset_blocks + 4 * i, &v, 4);
}

TEST(bad_image, intact_fixture_opens) {
  scratch_dir dir;
  vdi_header h;
  write_file(dir.file("ok.vdi"), two_block_vdi(h));
  EXPECT_EQ(open_error(dir.file("ok.vdi")), "opened");
  EXPECT_EQ(run("qemu-img check -f vdi " + dir.file("ok.vdi")).status, 0);
}

TEST(bad_image, truncated_vdi_is_refused) {
  scratch_dir dir;
  vdi_header h;
  auto file = two_block_vdi(h);
  file.resize(file.size() - 4096);
  write_file(dir.file("t.vdi"), file);
  EXPECT_NE(open_error(dir.file("t.vdi")).find("truncated"), std::string::npos);
}

TEST(bad_image, map_pointing_past_the_end_is_refused) {
  scratch_dir dir;
  vdi_header h;
  auto file = two_block_vdi(h);
  set_entry(file, h, 2, 7);
  write_file(dir.file("p.vdi"), file);
  EXPECT_NE(open_error(dir.file("p.vdi")).find("points to data block 7"),
            std::string::npos);
}

TEST(bad_image, map_pointing_twice_at_one_block_is_refused) {
  scratch_dir dir;
  vdi_header h;
  auto file = two_block_vdi(h);
  set_entry(file, h, 3, 1);
  write_file(dir.file("d.vdi"), file);
  EXPECT_NE(open_error(dir.file("d.vdi")).find("share data block 1"),
            std::string::npos);
}

TEST(bad_image, header_only_fragment_is_refused) {
  scratch_dir dir;
  vdi_header h;
  auto file = two_block_vdi(h);
  file.resize(300); // Cut inside the header.
  write_file(dir.file("f.vdi"), file);
  EXPECT_NE(open_error(dir.file("f.vdi")).find("too short"), std::string::npos);
}

TEST(bad_image, absurd_sizes_are_refused) {
  scratch_dir dir;
  vdi_header h;
  auto file = two_block_vdi(h);
  h.blocks = 0x7fffffff; // A map of 8 GiB in a 3 MiB file.
  h.disk_size = uint64_t{h.blocks} << 20;
  encode_vdi_header(h, file);
  write_file(dir.file("a.vdi"), file);
  EXPECT_NE(open_error(dir.file("a.vdi")), "opened");
}

TEST(bad_image, differencing_image_is_refused_as_unsupported) {
  scratch_dir dir;
  vdi_header h;
  auto file = two_block_vdi(h);
  h.type = vdi_type::diff;
  encode_vdi_header(h, file);
  write_file(dir.file("diff.vdi"), file);
  auto r = open_medium(dir.file("diff.vdi"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), storage_errc::unsupported);
}

TEST(bad_image, iso_without_volume_descriptor_is_refused) {
  scratch_dir dir;
  write_file(dir.file("x.iso"), std::vector<uint8_t>(64 * 1024, 0));
  EXPECT_NE(open_error(dir.file("x.iso")).find("CD001"), std::string::npos);
}

TEST(bad_image, iso_shorter_than_its_volume_is_refused) {
  scratch_dir dir;
  std::vector<uint8_t> iso(0x8000 + 2048, 0);
  iso[0x8000] = 1; // Primary volume descriptor.
  std::memcpy(iso.data() + 0x8001, "CD001", 5);
  iso[0x8000 + 80] = 100; // 100 blocks of 2048 bytes.
  iso[0x8000 + 129] = 0x08;
  write_file(dir.file("short.iso"), iso);
  EXPECT_NE(open_error(dir.file("short.iso")).find("truncated"),
            std::string::npos);
  iso.resize(100 * 2048);
  write_file(dir.file("ok.iso"), iso);
  auto img = open_medium(dir.file("ok.iso"));
  ASSERT_TRUE(img);
  EXPECT_EQ((*img)->info().format, medium_format::iso);
  open_options rw;
  rw.writable = true;
  EXPECT_EQ(open_medium(dir.file("ok.iso"), rw).error(),
            storage_errc::read_only);
}

TEST(bad_image, empty_raw_file_is_refused) {
  scratch_dir dir;
  write_file(dir.file("e.raw"), {});
  EXPECT_NE(open_error(dir.file("e.raw")).find("empty"), std::string::npos);
}

TEST(bad_image, missing_file_names_the_path) {
  EXPECT_NE(open_error("/nonexistent/x.vdi").find("/nonexistent/x.vdi"),
            std::string::npos);
}

} // namespace
} // namespace tb::storage
