// VirtualBox Disk Image (VDI) 1.1 header and block map: parsing, validation
// and encoding, without any I/O (docs: virtualbox-compat.md section 1).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "storage/uuid.hpp"

namespace tb::storage {

constexpr uint32_t vdi_signature = 0xBEDA107F;
constexpr uint32_t vdi_version_1_1 = 0x00010001;
constexpr uint32_t vdi_pre_header_size = 72; ///< Text + signature + version.
constexpr uint32_t vdi_header_v1_size = 384; ///< cbHeader written by QEMU.
constexpr uint32_t vdi_header_v1plus_size = 400; ///< cbHeader written by VBox.
constexpr uint32_t vdi_block_free = 0xFFFFFFFF;  ///< Unallocated, reads zero.
constexpr uint32_t vdi_block_zero = 0xFFFFFFFE;  ///< Unallocated, zeroed.
constexpr uint32_t vdi_default_block_size = 1u << 20;
constexpr uint32_t vdi_vbox_alignment = 1u << 20; ///< VBox's VDI_DATA_ALIGN.
/// Bytes to read from offset 0 to parse any header (QEMU pads to 512).
constexpr size_t vdi_header_read_size = 512;

/// Absolute offsets of the header fields telebox updates in place.
constexpr size_t vdi_off_disk_size = 0x170;
constexpr size_t vdi_off_blocks_allocated = 0x184;
constexpr size_t vdi_off_uuid_modify = 0x198;

/// VDI image types (u32Type).
enum class vdi_type : uint32_t { normal = 1, fixed = 2, undo = 3, diff = 4 };

/// CHS geometry as stored in the header.
struct vdi_geometry {
  uint32_t cylinders = 0;
  uint32_t heads = 0;
  uint32_t sectors = 0;
  uint32_t sector_size = 512;
};

/// Every field of a VDI 1.1 header (pre-header included).
struct vdi_header {
  std::string text; ///< Free text at offset 0, informational.
  uint32_t version = vdi_version_1_1;
  uint32_t header_size = vdi_header_v1plus_size;
  vdi_type type = vdi_type::normal;
  uint32_t flags = 0;
  std::string comment;
  uint32_t offset_blocks = 0; ///< File offset of the block map.
  uint32_t offset_data = 0;   ///< File offset of block 0's data.
  vdi_geometry legacy;
  uint32_t dummy = 0;
  uint64_t disk_size = 0; ///< Bytes the guest sees.
  uint32_t block_size = vdi_default_block_size;
  uint32_t block_extra = 0;
  uint32_t blocks = 0; ///< Entries in the block map.
  uint32_t blocks_allocated = 0;
  uuid create_id;
  uuid modify_id;
  uuid linkage_id;
  uuid parent_modify_id;
  vdi_geometry lchs; ///< Only stored when header_size >= 400.

  /// Bytes between two consecutive data blocks in the file.
  uint64_t block_stride() const { return uint64_t{block_size} + block_extra; }
  /// File offset of the data of physical block `index`.
  uint64_t data_offset(uint32_t index) const {
    return offset_data + index * block_stride() + block_extra;
  }
  /// File size once `n` blocks are allocated.
  uint64_t file_size_for(uint32_t n) const {
    return offset_data + n * block_stride();
  }
};

/// Parses and validates the header in `data` (the first bytes of the file,
/// at least vdi_header_read_size unless the file is shorter) of a file of
/// `file_size` bytes. `name` prefixes error messages.
caf::expected<vdi_header> parse_vdi_header(std::span<const uint8_t> data,
                                           uint64_t file_size,
                                           const std::string& name);

/// Checks every map entry: allocated entries point below blocks_allocated
/// and no two share one block. Leaked blocks (allocated but unreferenced)
/// are counted in `*unreferenced` when given, not an error.
caf::error validate_block_map(const vdi_header& header,
                              std::span<const uint32_t> map,
                              const std::string& name,
                              uint32_t* unreferenced = nullptr);

/// Encodes the pre-header and header into `out`, which must hold 72 +
/// min(header.header_size, 400) bytes; bytes past that are left alone.
void encode_vdi_header(const vdi_header& header, std::span<uint8_t> out);

/// A header for a new image in VirtualBox's layout: 1 MiB blocks, map at
/// 1 MiB, data 1 MiB aligned, header 1.1 "v1plus", fresh modify UUID.
vdi_header make_vbox_header(uint64_t disk_size, bool fixed, const uuid& id);

/// Number of blocks of `block_size` that cover `disk_size`.
uint64_t vdi_blocks_for(uint64_t disk_size, uint32_t block_size);

/// Largest disk size telebox creates or resizes to (VBox's limit for VDI
/// with 1 MiB blocks is 2^32 blocks; 64 TiB keeps the map under 256 MiB
/// and offData inside 32 bits).
constexpr uint64_t vdi_max_disk_size = uint64_t{1} << 46; // 64 TiB

} // namespace tb::storage
