// What the remote display servers show: a frame buffer they can read.
#pragma once

#include <cstdint>
#include <span>

namespace tb::display {

/// A rectangle in frame buffer pixels (right/bottom exclusive).
struct rect {
  uint16_t x = 0;
  uint16_t y = 0;
  uint16_t w = 0;
  uint16_t h = 0;
  bool empty() const { return w == 0 || h == 0; }
};

/// A readable frame buffer. Servers call it from their own thread; an
/// implementation must make read() safe against concurrent updates (a torn
/// read is fine, the damage that caused it is reported again). The size may
/// change (guest mode set): servers notice on their next update and resize
/// their clients; a read() racing with a resize may ask for pixels outside
/// the new size, which must come back black rather than fault.
class frame_source {
public:
  virtual ~frame_source() = default;
  virtual uint16_t width() const = 0;
  virtual uint16_t height() const = 0;
  /// Copies the pixels of r as 0x00RRGGBB words, row by row, into out
  /// (stride = r.w).
  virtual void read(const rect& r, std::span<uint32_t> out) const = 0;
};

} // namespace tb::display
