// A frame_source over the guest's frame buffer memory that also finds what
// changed: the dirty-page log narrows the search to candidate rows, 64x64
// tiles of those rows are compared with a shadow copy, and the tiles that
// differ become damage rectangles. A mode change damages the whole screen.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

#include "display/frame_source.hpp"

namespace tb::display {

/// A guest display mode (the Bochs display's mode_listener reports it).
struct fb_mode {
  uint16_t width = 0;
  uint16_t height = 0;
  uint16_t bpp = 32;   ///< 32, 24, 16 (5:6:5) or 15 (5:5:5); others = black
  uint32_t stride = 0; ///< bytes per row; 0 = width * bytes per pixel
  uint32_t offset = 0; ///< byte offset of the first pixel in the memory
};

/// A frame source that can say what changed since it was last asked.
class tracked_frame_source : public frame_source {
public:
  /// Damage since the previous call (the first call: everything). Called
  /// from one thread at a time.
  virtual std::vector<rect> collect_damage() = 0;
};

class frame_tracker final : public tracked_frame_source {
public:
  /// One bit per 4 KiB page of `memory` written since the last call (KVM's
  /// dirty log of the frame buffer region); an empty result means "unknown",
  /// and every row is compared. Called from collect_damage()'s thread (the
  /// VRDE server's event loop, every flush while clients are connected).
  using dirty_fn = std::function<std::vector<uint64_t>()>;

  /// `memory` must stay mapped while the tracker lives.
  frame_tracker(std::span<const uint8_t> memory, dirty_fn dirty);

  /// A new guest mode; the next collect_damage() reports the whole screen.
  /// Thread-safe. A mode that does not fit the memory shows black.
  void set_mode(const fb_mode& m);
  fb_mode mode() const;

  uint16_t width() const override;
  uint16_t height() const override;
  void read(const rect& r, std::span<uint32_t> out) const override;
  std::vector<rect> collect_damage() override;

  static constexpr int tile = 64;

private:
  static uint32_t bytes_per_pixel(uint16_t bpp);
  bool mode_fits(const fb_mode& m) const;
  std::vector<bool> candidate_rows(const fb_mode& m);

  std::span<const uint8_t> mem_;
  dirty_fn dirty_;
  mutable std::mutex mtx_;
  fb_mode mode_;
  bool mode_changed_ = true;
  std::vector<uint8_t> shadow_; // collect_damage()'s thread only
};

} // namespace tb::display
