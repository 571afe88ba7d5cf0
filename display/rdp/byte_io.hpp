// Bounds-checked little/big-endian readers and writers for RDP PDUs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

namespace tb::display::rdp {

/// Reads fields from a byte span. A read past the end sets a sticky failure
/// flag and yields zeros, so a parser reads a whole structure and checks
/// ok() once; it never touches memory outside the span.
class byte_reader {
public:
  byte_reader() = default;
  explicit byte_reader(std::span<const uint8_t> data) : data_(data) {}

  bool ok() const { return ok_; }
  size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  size_t position() const { return pos_; }
  bool need(size_t n) {
    if (!ok_ || data_.size() - pos_ < n)
      ok_ = false;
    return ok_;
  }
  void fail() { ok_ = false; }

  uint8_t u8() { return need(1) ? data_[pos_++] : 0; }
  uint16_t u16le() {
    if (!need(2))
      return 0;
    uint16_t v = data_[pos_] | (data_[pos_ + 1] << 8);
    pos_ += 2;
    return v;
  }
  uint16_t u16be() {
    if (!need(2))
      return 0;
    uint16_t v = (data_[pos_] << 8) | data_[pos_ + 1];
    pos_ += 2;
    return v;
  }
  uint32_t u32le() {
    uint32_t lo = u16le();
    uint32_t hi = u16le();
    return lo | (hi << 16);
  }
  void skip(size_t n) {
    if (need(n))
      pos_ += n;
  }
  /// A sub-span of n bytes (empty and failed when short).
  std::span<const uint8_t> bytes(size_t n) {
    if (!need(n))
      return {};
    auto s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  std::span<const uint8_t> rest() { return bytes(remaining()); }
  uint8_t peek() const { return ok_ && pos_ < data_.size() ? data_[pos_] : 0; }

private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

/// Appends fields to a growing buffer; patch_* fill in lengths later.
class byte_writer {
public:
  std::vector<uint8_t>& buffer() { return buf_; }
  const std::vector<uint8_t>& buffer() const { return buf_; }
  size_t size() const { return buf_.size(); }

  void u8(uint8_t v) { buf_.push_back(v); }
  void u16le(uint16_t v) {
    buf_.push_back(v & 0xFF);
    buf_.push_back(v >> 8);
  }
  void u16be(uint16_t v) {
    buf_.push_back(v >> 8);
    buf_.push_back(v & 0xFF);
  }
  void u32le(uint32_t v) {
    u16le(v & 0xFFFF);
    u16le(v >> 16);
  }
  void bytes(std::span<const uint8_t> s) {
    buf_.insert(buf_.end(), s.begin(), s.end());
  }
  void bytes(const char* s, size_t n) { buf_.insert(buf_.end(), s, s + n); }
  void zeros(size_t n) { buf_.insert(buf_.end(), n, 0); }
  void patch_u16le(size_t at, uint16_t v) {
    buf_[at] = v & 0xFF;
    buf_[at + 1] = v >> 8;
  }
  void patch_u16be(size_t at, uint16_t v) {
    buf_[at] = v >> 8;
    buf_[at + 1] = v & 0xFF;
  }
  void patch_u32le(size_t at, uint32_t v) {
    patch_u16le(at, v & 0xFFFF);
    patch_u16le(at + 2, v >> 16);
  }

private:
  std::vector<uint8_t> buf_;
};

/// UTF-16LE bytes (no terminator handling) to UTF-8; lone surrogates become
/// U+FFFD.
std::string utf16le_to_utf8(std::span<const uint8_t> s);

} // namespace tb::display::rdp
