// The teleport record stream: round trips, zero pages, compression, and
// malformed input refused.
#include <random>

#include <gtest/gtest.h>

#include "cluster/teleport_wire.hpp"

namespace tb::cluster {
namespace {

std::vector<uint8_t> pages_with_pattern(size_t n) {
  std::vector<uint8_t> mem(n * page_size, 0);
  std::mt19937 rng(7);              // fixed seed: reproducible content
  for (size_t p = 0; p < n; p += 3) // every third page random, others zero
    for (size_t i = 0; i < page_size; ++i)
      mem[p * page_size + i] = static_cast<uint8_t>(rng());
  return mem;
}

std::vector<uint8_t> replay(const std::vector<uint8_t>& stream, size_t mem_size,
                            size_t chunk) {
  std::vector<uint8_t> mem(mem_size, 0xcc);
  record_decoder dec;
  for (size_t off = 0; off < stream.size(); off += chunk) {
    auto n = std::min(chunk, stream.size() - off);
    EXPECT_FALSE(dec.feed({stream.data() + off, n}));
    while (auto r = dec.next()) {
      auto rp = parse_ram_pages(r->payload);
      EXPECT_TRUE(rp);
      EXPECT_FALSE(
          expand_pages(*rp, {mem.data() + rp->gpa, rp->count * page_size}));
    }
  }
  return mem;
}

TEST(teleport_wire, pages_round_trip_in_small_chunks) {
  auto mem = pages_with_pattern(600);
  std::vector<uint8_t> stream;
  encode_pages(stream, 0, mem, false);
  EXPECT_EQ(replay(stream, mem.size(), 777), mem);
}

TEST(teleport_wire, compressed_pages_round_trip) {
  std::vector<uint8_t> mem(64 * page_size);
  for (size_t i = 0; i < mem.size(); ++i)
    mem[i] = static_cast<uint8_t>(i / 512); // compressible, never zero pages
  std::vector<uint8_t> stream;
  encode_pages(stream, 0, mem, true);
  EXPECT_LT(stream.size(), mem.size() / 4);
  EXPECT_EQ(replay(stream, mem.size(), 4096), mem);
}

TEST(teleport_wire, zero_pages_cost_only_a_header) {
  std::vector<uint8_t> mem(256 * page_size, 0);
  std::vector<uint8_t> stream;
  encode_pages(stream, 0x100000, mem, true);
  EXPECT_EQ(stream.size(), record_header_size + 16);
}

TEST(teleport_wire, corrupted_checksum_is_refused) {
  std::vector<uint8_t> payload{1, 2, 3};
  std::vector<uint8_t> stream;
  encode_record(stream, record_type::device_state, payload);
  stream.back() ^= 1;
  record_decoder dec;
  auto err = dec.feed(stream);
  ASSERT_TRUE(err);
  EXPECT_EQ(err.category(), caf::atom("teleport"));
}

TEST(teleport_wire, oversized_and_unknown_records_are_refused) {
  std::vector<uint8_t> stream;
  encode_record(stream, record_type::end, {});
  stream[4] = 99; // unknown type
  EXPECT_TRUE(record_decoder{}.feed(stream));
  std::vector<uint8_t> big;
  encode_record(big, record_type::end, {});
  big[11] = 0x7f; // length 2 GiB
  EXPECT_TRUE(record_decoder{}.feed(big));
}

TEST(teleport_wire, bad_ram_headers_are_refused) {
  std::vector<uint8_t> p(16, 0);
  p[8] = 1;  // one page
  p[12] = 0; // raw, but no data follows
  EXPECT_FALSE(parse_ram_pages(p));
  p[0] = 1; // unaligned address
  EXPECT_FALSE(parse_ram_pages(p));
  p[0] = 0;
  p[12] = 9; // unknown encoding
  EXPECT_FALSE(parse_ram_pages(p));
}

TEST(teleport_wire, bad_zstd_data_is_refused) {
  std::vector<uint8_t> p(16, 0);
  p[8] = 2;
  p[12] = 2; // zstd
  p.insert(p.end(), {1, 2, 3, 4, 5});
  auto rp = parse_ram_pages(p);
  ASSERT_TRUE(rp);
  std::vector<uint8_t> dst(2 * page_size);
  EXPECT_TRUE(expand_pages(*rp, dst));
}

} // namespace
} // namespace tb::cluster
