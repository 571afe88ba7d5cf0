// Machine assembly: the order of the phases and the vCPU/boot phase.
#include "vmm/machine.hpp"

#include "vmm/errors.hpp"
#include "vmm/machine_devices.hpp"
#include "vmm/mp_table.hpp"

namespace tb::vmm {

caf::expected<std::unique_ptr<machine>>
machine::build(engine& eng, const machine_spec& spec, machine_hooks hooks) {
  if (spec.cpus == 0 || spec.cpus > eng.info().max_vcpus)
    return make_vmm_error(
        vmm_errc::bad_config,
        "VM '" + spec.name + "' asks for " + std::to_string(spec.cpus)
            + " CPUs; this host's " + eng.info().name + " allows 1 to "
            + std::to_string(eng.info().max_vcpus));
  std::unique_ptr<machine> m{new machine};
  m->spec_ = spec;
  m->hooks_ = std::move(hooks);
  auto vm = eng.create_vm();
  if (!vm)
    return vm.error();
  m->vm_ = std::move(*vm);
  // The in-kernel irqchip must exist before the first vCPU.
  caf::error err;
  if ((err = m->vm_->create_platform()) || (err = m->build_memory())
      || (err = m->build_platform()) || (err = m->build_pci())
      || (err = m->build_storage()) || (err = m->load_kernel())
      || (err = m->build_vcpus(eng)))
    return err;
  return m;
}

machine::~machine() {
  if (hooks_.display_mode) {
    devices::display_mode gone{};
    hooks_.display_mode(nullptr, gone);
  }
  // vCPU cores go first (their executors have ended), then devices, then
  // the memory they point into.
  reservation_.reset();
  vcpus_.clear();
  devices_.reset();
}

caf::error machine::load_kernel() {
  if (spec_.boot.type == boot_source::kind::firmware)
    return make_vmm_error(vmm_errc::unsupported,
                          "VM '" + spec_.name
                              + "': BIOS boot is not supported yet");
  auto plan =
      load_direct_kernel(*memory_, spec_.boot.kernel, devices_->framebuffer());
  if (!plan)
    return plan.error();
  plan_ = std::move(*plan);
  if (auto err = write_mp_table(*memory_, mp_spec()))
    return err;
  if (hooks_.log)
    hooks_.log(plan_.summary);
  return caf::none;
}

mp_table_spec machine::mp_spec() const {
  mp_table_spec mp;
  mp.cpus = spec_.cpus;
  // Each disk's INTA# as machine_storage.cpp wired it; the display raises
  // no interrupt.
  for (auto& disk : devices_->disks)
    mp.pci.push_back({disk.slot, 1, disk.gsi});
  return mp;
}

caf::error machine::build_vcpus(engine& eng) {
  auto supported = eng.supported_cpuid();
  if (!supported)
    return supported.error();
  std::vector<cpuid_entry> hv;
  if (spec_.cpuid.paravirt == paravirt_provider::hyperv) {
    auto h = eng.supported_hv_cpuid();
    if (!h)
      return h.error();
    hv = std::move(*h);
  }
  auto opts = spec_.cpuid;
  opts.cpus = spec_.cpus;
  for (uint32_t i = 0; i < spec_.cpus; ++i) {
    auto vcpu = vm_->create_vcpu(i);
    if (!vcpu)
      return vcpu.error();
    if (opts.tsc_khz == 0)
      opts.tsc_khz = (*vcpu)->tsc_khz();
    auto table = build_cpuid(*supported, hv, opts, i);
    if (!table)
      return table.error();
    auto core = std::make_shared<vcpu_core>();
    core->vcpu = std::move(*vcpu);
    core->bus = &bus_;
    core->setup.cpuid = std::move(*table);
    core->on_event = hooks_.on_event;
    // Only the BSP starts at the kernel entry; APs wait for INIT/SIPI.
    if (i == 0) {
      core->setup.boot = plan_.bsp;
      core->setup.virtual_wire = true;
    }
    vcpus_.push_back(std::move(core));
  }
  return caf::none;
}

caf::error machine::press_power_button() {
  return devices_->press_power_button();
}

caf::error machine::put_scancodes(std::span<const uint8_t> codes) {
  return devices_->put_scancodes(codes);
}

std::vector<std::pair<std::string, std::string>>
machine::device_summary() const {
  return devices_->summary();
}

void machine::put_mouse(int dx, int dy, uint8_t buttons) {
  auto& d = *devices_;
  std::lock_guard<std::mutex> guard{*d.kbd_lock};
  d.kbd->mouse_event(dx, dy, buttons);
}

std::span<const uint8_t> machine::display_vram() const {
  auto* r = devices_ ? devices_->vram : nullptr;
  if (!r)
    return {};
  return {r->host, r->size};
}

std::vector<uint64_t> machine::display_dirty_log() {
  // Shared with a teleport's dirty log (machine_state.cpp).
  return shared_vram_dirty(false);
}

} // namespace tb::vmm
