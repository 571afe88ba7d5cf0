// The running VM as the VRDE server sees it: the Bochs display's video
// memory as a tracked frame source and the i8042 as the input target. A
// reset rebuilds the machine (new memory), so the screen follows the
// machine_hooks::display_mode hook: it detaches when a machine goes away and
// re-attaches at the new machine's first mode.
#pragma once

#include <memory>
#include <mutex>

#include "display/frame_tracker.hpp"
#include "display/input_router.hpp"
#include "vmm/machine.hpp"

namespace tb::headless {

class vm_screen final : public display::tracked_frame_source,
                        public display::vm_input {
public:
  /// The machine_hooks::display_mode hook (vCPU or build thread).
  void on_mode(vmm::machine* m, const devices::display_mode& mode);

  uint16_t width() const override;
  uint16_t height() const override;
  void read(const display::rect& r, std::span<uint32_t> out) const override;
  std::vector<display::rect> collect_damage() override;
  void put_scancodes(std::span<const uint8_t> bytes) override;
  void mouse_event(int dx, int dy, uint8_t buttons) override;

private:
  /// Shown while no machine is attached (black).
  static constexpr uint16_t idle_width = 640, idle_height = 480;

  // Held across every use of machine_ and tracker_: the machine's
  // destructor waits here before its memory is unmapped.
  mutable std::mutex mtx_;
  vmm::machine* machine_ = nullptr;
  std::unique_ptr<display::frame_tracker> tracker_;
};

} // namespace tb::headless
