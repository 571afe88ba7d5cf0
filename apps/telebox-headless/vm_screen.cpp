// The VM screen: re-attachment on mode changes and machine rebuilds.
#include "vm_screen.hpp"

#include <algorithm>

#include "devices/bochs_display.hpp"

namespace tb::headless {

void vm_screen::on_mode(vmm::machine* m, const devices::display_mode& mode) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!m) {
    machine_ = nullptr;
    tracker_.reset();
    return;
  }
  if (m != machine_ || !tracker_) {
    machine_ = m;
    tracker_ = std::make_unique<display::frame_tracker>(
        m->display_vram(), [m] { return m->display_dirty_log(); });
  }
  display::fb_mode fm;
  if (mode.enabled) {
    fm.width = static_cast<uint16_t>(mode.width);
    fm.height = static_cast<uint16_t>(mode.height);
    fm.bpp = static_cast<uint16_t>(mode.bpp);
    fm.stride = mode.stride;
    fm.offset = static_cast<uint32_t>(mode.fb_offset);
  } else {
    // A disabled display shows black at the last size.
    fm = tracker_->mode();
    fm.bpp = 0;
  }
  tracker_->set_mode(fm);
}

uint16_t vm_screen::width() const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto w = tracker_ ? tracker_->width() : 0;
  return w ? w : idle_width;
}

uint16_t vm_screen::height() const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto h = tracker_ ? tracker_->height() : 0;
  return h ? h : idle_height;
}

void vm_screen::read(const display::rect& r, std::span<uint32_t> out) const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (tracker_ && tracker_->width() && tracker_->height())
    tracker_->read(r, out);
  else
    std::fill(out.begin(), out.end(), 0u);
}

std::vector<display::rect> vm_screen::collect_damage() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!tracker_)
    return {};
  return tracker_->collect_damage();
}

void vm_screen::put_scancodes(std::span<const uint8_t> bytes) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (machine_)
    (void)machine_->put_scancodes(bytes);
}

void vm_screen::mouse_event(int dx, int dy, uint8_t buttons) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (machine_)
    machine_->put_mouse(dx, dy, buttons);
}

} // namespace tb::headless
