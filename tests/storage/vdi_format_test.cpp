// VDI header/map parsing: good headers round-trip, bad ones are refused with
// a message naming the field.
#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "storage/errors.hpp"
#include "storage/vdi_format.hpp"

namespace tb::storage {
namespace {

std::vector<uint8_t> encoded(const vdi_header& h) {
  std::vector<uint8_t> buf(vdi_header_read_size, 0);
  encode_vdi_header(h, buf);
  return buf;
}

vdi_header sample() {
  return make_vbox_header(uint64_t{64} << 20, false, uuid::random());
}

std::string refusal(const vdi_header& h, uint64_t file_size) {
  auto buf = encoded(h);
  auto r = parse_vdi_header(buf, file_size, "t.vdi");
  return r ? std::string{"accepted"} : error_text(r.error());
}

TEST(vdi_format, vbox_header_has_vbox_layout) {
  auto h = sample();
  EXPECT_EQ(h.header_size, 400u);
  EXPECT_EQ(h.offset_blocks, 1u << 20);
  EXPECT_EQ(h.offset_data, 2u << 20); // 64 entries round up to one MiB.
  EXPECT_EQ(h.blocks, 64u);
  EXPECT_EQ(h.text, "<<< Oracle VM VirtualBox Disk Image >>>\n");
  EXPECT_FALSE(h.modify_id.is_null());
}

TEST(vdi_format, header_round_trips_through_bytes) {
  auto h = sample();
  h.comment = "hello";
  auto buf = encoded(h);
  auto back = parse_vdi_header(buf, h.offset_data, "t.vdi");
  ASSERT_TRUE(back) << error_text(back.error());
  EXPECT_EQ(back->create_id, h.create_id);
  EXPECT_EQ(back->modify_id, h.modify_id);
  EXPECT_EQ(back->disk_size, h.disk_size);
  EXPECT_EQ(back->comment, "hello");
  EXPECT_EQ(back->lchs.sector_size, 512u);
}

TEST(vdi_format, uuid_is_stored_in_iprt_byte_order) {
  auto h = sample();
  h.create_id = *uuid::parse("01234567-89ab-cdef-0011-223344556677");
  auto buf = encoded(h);
  const uint8_t want[] = {0x67, 0x45, 0x23, 0x01, 0xab, 0x89, 0xef, 0xcd,
                          0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
  EXPECT_EQ(0, memcmp(buf.data() + 0x188, want, 16));
}

TEST(vdi_format, wrong_signature_is_refused) {
  auto buf = encoded(sample());
  buf[0x40] = 0;
  auto r = parse_vdi_header(buf, 4 << 20, "t.vdi");
  ASSERT_FALSE(r);
  EXPECT_NE(error_text(r.error()).find("signature"), std::string::npos);
}

TEST(vdi_format, short_file_is_refused) {
  auto buf = encoded(sample());
  auto r = parse_vdi_header(std::span{buf}.first(100), 100, "t.vdi");
  ASSERT_FALSE(r);
  EXPECT_NE(error_text(r.error()).find("too short"), std::string::npos);
}

TEST(vdi_format, truncated_data_area_is_refused) {
  auto h = sample();
  h.blocks_allocated = 3; // Needs offData + 3 MiB of file.
  EXPECT_NE(refusal(h, h.offset_data + (1 << 20)).find("truncated"),
            std::string::npos);
}

TEST(vdi_format, block_size_not_power_of_two_is_refused) {
  auto h = sample();
  h.block_size = 3000;
  EXPECT_NE(refusal(h, 4 << 20).find("block size 3000"), std::string::npos);
}

TEST(vdi_format, absurd_disk_size_is_refused) {
  auto h = sample();
  h.disk_size = uint64_t{1} << 62; // Far more than 64 blocks hold.
  EXPECT_NE(refusal(h, 4 << 20).find("exceeds"), std::string::npos);
}

TEST(vdi_format, absurd_block_count_is_refused) {
  auto h = sample();
  h.blocks = 0xF0000000; // A 15 GiB map in a 2 MiB file.
  h.disk_size = uint64_t{h.blocks} << 20;
  EXPECT_NE(refusal(h, 2 << 20), "accepted");
}

TEST(vdi_format, map_overlapping_header_is_refused) {
  auto h = sample();
  h.offset_blocks = 100;
  EXPECT_NE(refusal(h, 4 << 20).find("overlaps the header"), std::string::npos);
}

TEST(vdi_format, null_uuid_is_refused) {
  auto h = sample();
  h.create_id = uuid{};
  EXPECT_NE(refusal(h, 4 << 20).find("UUID is null"), std::string::npos);
}

TEST(vdi_format, zero_disk_size_is_refused) {
  auto h = sample();
  h.disk_size = 0;
  EXPECT_NE(refusal(h, 4 << 20).find("disk size is zero"), std::string::npos);
}

TEST(vdi_format, unknown_version_is_unsupported) {
  auto h = sample();
  h.version = 0x00020000;
  auto buf = encoded(h);
  auto r = parse_vdi_header(buf, 4 << 20, "t.vdi");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), storage_errc::unsupported);
}

TEST(vdi_format, map_entry_past_allocated_blocks_is_refused) {
  auto h = sample();
  h.blocks_allocated = 1;
  std::vector<uint32_t> map(h.blocks, vdi_block_free);
  map[5] = 1; // Only data block 0 exists.
  auto err = validate_block_map(h, map, "t.vdi");
  EXPECT_NE(error_text(err).find("block 5 points to data block 1"),
            std::string::npos);
}

TEST(vdi_format, map_entries_sharing_a_block_are_refused) {
  auto h = sample();
  h.blocks_allocated = 2;
  std::vector<uint32_t> map(h.blocks, vdi_block_free);
  map[3] = 1;
  map[9] = 1;
  auto err = validate_block_map(h, map, "t.vdi");
  EXPECT_NE(error_text(err).find("blocks 3 and 9 share data block 1"),
            std::string::npos);
}

TEST(vdi_format, unreferenced_blocks_are_counted_not_refused) {
  auto h = sample();
  h.blocks_allocated = 2;
  std::vector<uint32_t> map(h.blocks, vdi_block_free);
  map[0] = 0;
  map[1] = vdi_block_zero;
  uint32_t leaked = 0;
  EXPECT_FALSE(validate_block_map(h, map, "t.vdi", &leaked));
  EXPECT_EQ(leaked, 1u);
}

} // namespace
} // namespace tb::storage
