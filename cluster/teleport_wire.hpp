// The teleport state stream: framing of what moves from source to target
// after the handshake (RAM pages, device and vCPU state), and an incremental,
// bounds-checked decoder for it. Transport and phases are elsewhere.
//
// Every record is a 16-byte header {u32 magic 0x7e1eb0c5, u16 type, u16
// flags, u32 length, u32 crc32c of the payload} followed by `length` bytes
// (little-endian throughout). A decoder refuses anything malformed with an
// error and never reads past what it was given.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/make_message.hpp>

namespace tb::cluster {

enum class teleport_errc : uint8_t {
  malformed = 1, ///< The peer sent bytes that break the stream format.
  mismatch,      ///< Source and target hardware differ.
  auth_failed,   ///< Wrong teleporter password.
  io_error,      ///< The connection failed.
  cancelled,     ///< The peer gave up.
  /// The connection broke after the hand-over was sent: the target may run
  /// the VM, so the source keeps it paused.
  hand_over_unknown,
};

std::string to_string(teleport_errc x);

} // namespace tb::cluster

CAF_ERROR_CODE_ENUM(tb::cluster::teleport_errc, "teleport")

namespace tb::cluster {

enum class record_type : uint16_t {
  ram_pages = 1,    ///< Pages of guest RAM (see ram_pages_header).
  device_state = 2, ///< One device's saved state: name, then bytes.
  vcpu_state = 3,   ///< One vCPU's full state: index, then bytes.
  vm_state = 4,     ///< VM-wide state (irqchips, PIT, clock).
  end_of_ram = 5,   ///< A pre-copy round is complete.
  end = 6,          ///< Everything sent; the target may resume.
};

/// How the pages of one ram_pages record are encoded.
enum class page_encoding : uint8_t {
  raw = 0,  ///< `count` pages of 4 KiB follow.
  zero = 1, ///< `count` zero pages; no data follows.
  zstd = 2, ///< One zstd frame that expands to `count` pages.
};

constexpr uint32_t record_magic = 0x7e1eb0c5;
constexpr size_t record_header_size = 16;
constexpr size_t page_size = 4096;
/// Largest payload a record may carry (a batch of 256 raw pages + header).
constexpr uint32_t max_record_payload = 256 * page_size + 64;

/// One decoded record; `payload` holds its bytes.
struct record {
  record_type type = record_type::end;
  uint16_t flags = 0;
  std::vector<uint8_t> payload;
};

/// RAM pages payload: {u64 gpa, u32 count, u8 encoding, 3 bytes zero}, data.
struct ram_pages {
  uint64_t gpa = 0;
  uint32_t count = 0;
  page_encoding encoding = page_encoding::raw;
  std::span<const uint8_t> data;
};

/// Appends one record to `out`.
void encode_record(std::vector<uint8_t>& out, record_type type,
                   std::span<const uint8_t> payload, uint16_t flags = 0);

/// Appends a ram_pages record for `count` pages at `gpa` taken from `pages`:
/// all-zero runs become zero records; others are zstd-compressed when that
/// saves an eighth and either `compress` says the link is the bottleneck or
/// the run is mostly zeros (then compressing costs less than sending).
void encode_pages(std::vector<uint8_t>& out, uint64_t gpa,
                  std::span<const uint8_t> pages, bool compress);

/// Appends zero-page records for `count` pages at `gpa` (no data read).
void encode_zero_pages(std::vector<uint8_t>& out, uint64_t gpa, uint64_t count);

/// Parses a ram_pages payload (views into `payload`).
caf::expected<ram_pages> parse_ram_pages(std::span<const uint8_t> payload);

/// Expands a ram_pages record into `dst` (count * 4 KiB bytes).
caf::error expand_pages(const ram_pages& rp, std::span<uint8_t> dst);

/// Incremental decoder: feed bytes as they arrive, take whole records.
/// A decoded record whose payload still lies in the decoder's buffer.
struct record_view {
  record_type type = record_type::end;
  uint16_t flags = 0;
  std::span<const uint8_t> payload;
};

class record_decoder {
public:
  /// Appends received bytes. Returns an error once the stream is malformed
  /// (and keeps returning it).
  caf::error feed(std::span<const uint8_t> bytes);
  /// Room for `n` more bytes to receive into directly (no copy through
  /// feed); call commit() with how many arrived.
  std::span<uint8_t> prepare(size_t n);
  caf::error commit(size_t n);
  /// The next complete record, if any.
  std::optional<record> next();
  /// The same without copying the payload; valid until the next feed(),
  /// prepare() or commit().
  std::optional<record_view> next_view();

private:
  struct pending {
    record_type type;
    uint16_t flags;
    size_t offset; ///< Of the payload in buffer_.
    uint32_t length;
  };
  caf::error parse_available();
  void compact();
  std::vector<uint8_t> buffer_;
  size_t size_ = 0; ///< Bytes of buffer_ that hold data.
  size_t consumed_ = 0;
  std::vector<pending> ready_;
  size_t ready_pos_ = 0;
  caf::error failed_;
};

/// CRC-32C (Castagnoli) of `data`.
uint32_t crc32c(std::span<const uint8_t> data);

} // namespace tb::cluster
