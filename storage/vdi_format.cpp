// VDI header parsing, validation and encoding. Every check names the field,
// so a user with a damaged image learns what is wrong with it.
#include "storage/vdi_format.hpp"

#include <algorithm>
#include <cstring>

#include "storage/errors.hpp"

namespace tb::storage {

namespace {

uint32_t get32(std::span<const uint8_t> d, size_t off) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i)
    v |= uint32_t{d[off + i]} << (8 * i);
  return v;
}

uint64_t get64(std::span<const uint8_t> d, size_t off) {
  return uint64_t{get32(d, off)} | (uint64_t{get32(d, off + 4)} << 32);
}

void put32(std::span<uint8_t> d, size_t off, uint32_t v) {
  for (size_t i = 0; i < 4; ++i)
    d[off + i] = static_cast<uint8_t>(v >> (8 * i));
}

void put64(std::span<uint8_t> d, size_t off, uint64_t v) {
  put32(d, off, static_cast<uint32_t>(v));
  put32(d, off + 4, static_cast<uint32_t>(v >> 32));
}

std::string get_text(std::span<const uint8_t> d, size_t off, size_t max) {
  auto begin = reinterpret_cast<const char*>(d.data() + off);
  return std::string(begin, strnlen(begin, max));
}

vdi_geometry get_geometry(std::span<const uint8_t> d, size_t off) {
  return {get32(d, off), get32(d, off + 4), get32(d, off + 8),
          get32(d, off + 12)};
}

void put_geometry(std::span<uint8_t> d, size_t off, const vdi_geometry& g) {
  put32(d, off, g.cylinders);
  put32(d, off + 4, g.heads);
  put32(d, off + 8, g.sectors);
  put32(d, off + 12, g.sector_size);
}

bool is_power_of_two(uint64_t x) {
  return x != 0 && (x & (x - 1)) == 0;
}

caf::error bad(const std::string& name, const std::string& what) {
  return make_storage_error(storage_errc::bad_image,
                            "VDI header of " + name + ": " + what);
}

// Field offsets (absolute, see virtualbox-compat.md 1.1/1.2).
constexpr size_t off_signature = 0x40, off_version = 0x44;
constexpr size_t off_header_size = 0x48, off_type = 0x4C, off_flags = 0x50;
constexpr size_t off_comment = 0x54, off_blocks_pos = 0x154;
constexpr size_t off_data_pos = 0x158, off_legacy = 0x15C, off_dummy = 0x16C;
constexpr size_t off_disk_size = 0x170, off_block_size = 0x178;
constexpr size_t off_block_extra = 0x17C, off_blocks = 0x180;
constexpr size_t off_allocated = 0x184, off_uuid_create = 0x188;
constexpr size_t off_uuid_modify = 0x198, off_uuid_link = 0x1A8;
constexpr size_t off_uuid_parent = 0x1B8, off_lchs = 0x1C8;
constexpr uint32_t known_flags = 0x1;         // zero-expand
constexpr uint32_t max_block_size = 1u << 28; // 256 MiB
constexpr uint32_t max_header_size = 1u << 20;

vdi_header decode(std::span<const uint8_t> d) {
  vdi_header h;
  h.text = get_text(d, 0, 64);
  h.version = get32(d, off_version);
  h.header_size = get32(d, off_header_size);
  h.type = static_cast<vdi_type>(get32(d, off_type));
  h.flags = get32(d, off_flags);
  h.comment = get_text(d, off_comment, 256);
  h.offset_blocks = get32(d, off_blocks_pos);
  h.offset_data = get32(d, off_data_pos);
  h.legacy = get_geometry(d, off_legacy);
  h.dummy = get32(d, off_dummy);
  h.disk_size = get64(d, off_disk_size);
  h.block_size = get32(d, off_block_size);
  h.block_extra = get32(d, off_block_extra);
  h.blocks = get32(d, off_blocks);
  h.blocks_allocated = get32(d, off_allocated);
  h.create_id = uuid::from_iprt(d.data() + off_uuid_create);
  h.modify_id = uuid::from_iprt(d.data() + off_uuid_modify);
  h.linkage_id = uuid::from_iprt(d.data() + off_uuid_link);
  h.parent_modify_id = uuid::from_iprt(d.data() + off_uuid_parent);
  if (h.header_size >= vdi_header_v1plus_size)
    h.lchs = get_geometry(d, off_lchs);
  else
    h.lchs = {0, 0, 0, 512};
  return h;
}

// The layout checks VBox applies (compat 1.3), then the ones that keep
// every later computation inside the file and inside 64 bits.
caf::error check_fields(const vdi_header& h, uint64_t file_size,
                        const std::string& name) {
  auto n = [](uint64_t v) { return std::to_string(v); };
  if (h.header_size < vdi_header_v1_size || h.header_size > max_header_size)
    return bad(name, "header size " + n(h.header_size) + " is invalid");
  auto type = static_cast<uint32_t>(h.type);
  if (type < 1 || type > 4)
    return bad(name, "image type " + n(type) + " is invalid");
  if ((h.flags & ~known_flags) != 0)
    return bad(name, "unknown image flags " + n(h.flags));
  if (h.disk_size == 0)
    return bad(name, "disk size is zero");
  if (!is_power_of_two(h.block_size) || h.block_size < 512
      || h.block_size > max_block_size)
    return bad(name, "block size " + n(h.block_size)
                         + " is not a power of "
                           "two between 512 and 256 MiB");
  if (h.block_extra != 0
      && (!is_power_of_two(h.block_extra) || h.block_extra > max_block_size))
    return bad(name, "block extra size " + n(h.block_extra) + " is invalid");
  if (h.blocks == 0)
    return bad(name, "block count is zero");
  if (uint64_t{h.blocks} * h.block_size < h.disk_size)
    return bad(name, "disk size " + n(h.disk_size) + " exceeds " + n(h.blocks)
                         + " blocks of " + n(h.block_size) + " bytes");
  if (h.blocks_allocated > h.blocks)
    return bad(name, n(h.blocks_allocated) + " allocated blocks exceed the "
                         + n(h.blocks) + " blocks of the disk");
  if (h.offset_blocks < vdi_pre_header_size + h.header_size)
    return bad(name, "block map offset " + n(h.offset_blocks)
                         + " overlaps the header");
  uint64_t map_end = uint64_t{h.offset_blocks} + 4 * uint64_t{h.blocks};
  if (h.offset_data < map_end)
    return bad(name, "data offset " + n(h.offset_data)
                         + " overlaps the block map ending at " + n(map_end));
  if (h.create_id.is_null())
    return bad(name, "image UUID is null");
  if (h.modify_id.is_null())
    return bad(name, "modification UUID is null");
  // Dynamic images are sparse files truncated to offData; anything shorter
  // lost its map or data.
  uint64_t needed = h.file_size_for(h.blocks_allocated);
  if (file_size < needed)
    return bad(name, "file is truncated: " + n(file_size) + " bytes, but "
                         + n(h.blocks_allocated) + " allocated blocks need "
                         + n(needed));
  return {};
}

} // namespace

uint64_t vdi_blocks_for(uint64_t disk_size, uint32_t block_size) {
  return disk_size / block_size + (disk_size % block_size != 0 ? 1 : 0);
}

caf::expected<vdi_header> parse_vdi_header(std::span<const uint8_t> data,
                                           uint64_t file_size,
                                           const std::string& name) {
  if (data.size() < vdi_pre_header_size)
    return bad(name, "file is too short for a VDI pre-header");
  if (get32(data, off_signature) != vdi_signature)
    return bad(name, "signature is not 0xbeda107f (not a VDI image)");
  uint32_t version = get32(data, off_version);
  if ((version >> 16) != 1)
    return make_storage_error(storage_errc::unsupported,
                              "VDI header of " + name + ": version "
                                  + std::to_string(version >> 16) + "."
                                  + std::to_string(version & 0xffff)
                                  + " is not supported (1.x)");
  if (data.size() < vdi_pre_header_size + vdi_header_v1_size)
    return bad(name, "file is too short for a VDI 1.1 header");
  uint32_t header_size = get32(data, off_header_size);
  if (header_size >= vdi_header_v1plus_size
      && data.size() < vdi_pre_header_size + vdi_header_v1plus_size)
    return bad(name, "file is too short for its " + std::to_string(header_size)
                         + "-byte header");
  auto h = decode(data);
  if (auto err = check_fields(h, file_size, name))
    return err;
  return h;
}

caf::error validate_block_map(const vdi_header& header,
                              std::span<const uint32_t> map,
                              const std::string& name, uint32_t* unreferenced) {
  if (map.size() != header.blocks)
    return bad(name, "block map has " + std::to_string(map.size())
                         + " entries, expected "
                         + std::to_string(header.blocks));
  std::vector<uint32_t> owner(header.blocks_allocated, vdi_block_free);
  uint32_t used = 0;
  for (uint32_t i = 0; i < map.size(); ++i) {
    uint32_t p = map[i];
    if (p == vdi_block_free || p == vdi_block_zero)
      continue;
    if (p >= header.blocks_allocated)
      return bad(name, "block " + std::to_string(i) + " points to data block "
                           + std::to_string(p) + " past the "
                           + std::to_string(header.blocks_allocated)
                           + " allocated blocks");
    if (owner[p] != vdi_block_free)
      return bad(name, "blocks " + std::to_string(owner[p]) + " and "
                           + std::to_string(i) + " share data block "
                           + std::to_string(p));
    owner[p] = i;
    ++used;
  }
  if (unreferenced)
    *unreferenced = header.blocks_allocated - used;
  return {};
}

void encode_vdi_header(const vdi_header& h, std::span<uint8_t> d) {
  // Only the fields up to the v1plus LCHS exist; a larger cbHeader is
  // padding that is left as it is.
  size_t len =
      vdi_pre_header_size + std::min(h.header_size, vdi_header_v1plus_size);
  std::fill_n(d.begin(), std::min(len, d.size()), uint8_t{0});
  std::memcpy(d.data(), h.text.data(), std::min<size_t>(h.text.size(), 63));
  put32(d, off_signature, vdi_signature);
  put32(d, off_version, h.version);
  put32(d, off_header_size, h.header_size);
  put32(d, off_type, static_cast<uint32_t>(h.type));
  put32(d, off_flags, h.flags);
  std::memcpy(d.data() + off_comment, h.comment.data(),
              std::min<size_t>(h.comment.size(), 255));
  put32(d, off_blocks_pos, h.offset_blocks);
  put32(d, off_data_pos, h.offset_data);
  put_geometry(d, off_legacy, h.legacy);
  put32(d, off_dummy, h.dummy);
  put64(d, off_disk_size, h.disk_size);
  put32(d, off_block_size, h.block_size);
  put32(d, off_block_extra, h.block_extra);
  put32(d, off_blocks, h.blocks);
  put32(d, off_allocated, h.blocks_allocated);
  h.create_id.to_iprt(d.data() + off_uuid_create);
  h.modify_id.to_iprt(d.data() + off_uuid_modify);
  h.linkage_id.to_iprt(d.data() + off_uuid_link);
  h.parent_modify_id.to_iprt(d.data() + off_uuid_parent);
  if (h.header_size >= vdi_header_v1plus_size)
    put_geometry(d, off_lchs, h.lchs);
}

namespace {

uint64_t round_up(uint64_t x, uint64_t align) {
  return (x + align - 1) / align * align;
}

} // namespace

vdi_header make_vbox_header(uint64_t disk_size, bool fixed, const uuid& id) {
  vdi_header h;
  h.text = "<<< Oracle VM VirtualBox Disk Image >>>\n";
  h.type = fixed ? vdi_type::fixed : vdi_type::normal;
  h.disk_size = disk_size;
  h.blocks = static_cast<uint32_t>(vdi_blocks_for(disk_size, h.block_size));
  h.offset_blocks = vdi_vbox_alignment;
  h.offset_data = static_cast<uint32_t>(
      round_up(h.offset_blocks + 4 * uint64_t{h.blocks}, vdi_vbox_alignment));
  // VBox leaves both geometries unset (zero CHS, 512-byte sectors) until a
  // VM's BIOS reports one; the storage device derives LCHS itself.
  h.legacy = {0, 0, 0, 512};
  h.lchs = {0, 0, 0, 512};
  h.blocks_allocated = fixed ? h.blocks : 0;
  h.create_id = id;
  h.modify_id = uuid::random();
  return h;
}

} // namespace tb::storage
