// Platform phase of machine assembly: legacy devices on the port bus.
#include "vmm/errors.hpp"
#include "vmm/machine.hpp"
#include "vmm/machine_devices.hpp"

namespace tb::vmm {

namespace {

class no_devices final : public machine_devices {
public:
  std::optional<framebuffer_info> framebuffer() const override { return {}; }
  caf::error press_power_button() override {
    return make_vmm_error(vmm_errc::unsupported, "no power device yet");
  }
  caf::error put_scancodes(std::span<const uint8_t>) override {
    return make_vmm_error(vmm_errc::unsupported, "no keyboard yet");
  }
  std::vector<std::pair<std::string, std::string>> summary() const override {
    return {};
  }
};

} // namespace

caf::error machine::build_memory() {
  auto mem = guest_memory::create(spec_.ram_bytes, spec_.large_pages);
  if (!mem)
    return mem.error();
  memory_ = std::move(*mem);
  return memory_->map_into(*vm_);
}

caf::error machine::build_platform() {
  devices_ = std::make_unique<no_devices>();
  return caf::none;
}

caf::error machine::build_pci() {
  return caf::none;
}

} // namespace tb::vmm
