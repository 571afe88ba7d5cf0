// libFuzzer target for the VDI header and block map parser: the input is a
// file's first bytes; whatever parses must then survive map validation
// against a map taken from the rest of the input.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "storage/vdi_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in{data, size};
  // Pretend the file is as long as the input plus what the first 8 bytes
  // claim, so both "fits" and "truncated" paths are reached.
  uint64_t extra = 0;
  if (size >= 8)
    std::memcpy(&extra, data, 8);
  uint64_t file_size = size + (extra & 0xffffffff);
  auto header = tb::storage::parse_vdi_header(
      in.first(std::min(size, tb::storage::vdi_header_read_size)), file_size,
      "fuzz.vdi");
  if (!header)
    return 0;
  // Map entries come from the input after the header, zero padded; cap the
  // map so a huge block count does not exhaust memory.
  size_t count = std::min<size_t>(header->blocks, 1 << 16);
  std::vector<uint32_t> map(count, tb::storage::vdi_block_free);
  size_t from = tb::storage::vdi_header_read_size;
  for (size_t i = 0; i < count && from + 4 * i + 4 <= size; ++i)
    std::memcpy(&map[i], data + from + 4 * i, 4);
  tb::storage::vdi_header capped = *header;
  capped.blocks = static_cast<uint32_t>(count);
  capped.blocks_allocated = std::min(capped.blocks_allocated, capped.blocks);
  uint32_t unreferenced = 0;
  (void)tb::storage::validate_block_map(capped, map, "fuzz.vdi", &unreferenced);
  std::vector<uint8_t> out(tb::storage::vdi_header_read_size);
  tb::storage::encode_vdi_header(*header, out);
  return 0;
}
