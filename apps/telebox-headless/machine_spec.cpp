// From a .vbox file to the machine the VMM builds: memory, CPUs, CPUID,
// paravirtualization, kernel (extradata telebox/kernel, telebox/initrd,
// telebox/cmdline) and display.
#include <algorithm>
#include <cctype>

#include "actors/error_text.hpp"
#include "headless.hpp"
#include "settings/paths.hpp"
#include "vmm/errors.hpp"

namespace tb::headless {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string unbraced(std::string s) {
  if (s.size() > 2 && s.front() == '{' && s.back() == '}')
    s = s.substr(1, s.size() - 2);
  return lower(s);
}

caf::error bad(const std::string& why) {
  return vmm::make_vmm_error(vmm::vmm_errc::bad_config, why);
}

caf::expected<vmm::boot_source> boot_from(const settings::machine_config& cfg) {
  vmm::boot_source b;
  auto kernel = cfg.extradata("telebox/kernel");
  if (!kernel || kernel->empty())
    return bad("VM '" + cfg.name()
               + "' has no kernel: BIOS boot is not supported yet; set one "
                 "with telebox modifyvm "
               + cfg.name() + " --kernel <file>");
  b.kernel.kernel = settings::absolute_path(*kernel, cfg.folder());
  if (auto initrd = cfg.extradata("telebox/initrd"); initrd && !initrd->empty())
    b.kernel.initrd = settings::absolute_path(*initrd, cfg.folder());
  b.kernel.cmdline = cfg.extradata("telebox/cmdline").value_or("");
  return b;
}

caf::expected<std::vector<vmm::disk_spec>>
disks_from(const settings::machine_config& cfg,
           const settings::global_config& global,
           std::vector<std::string>* warnings) {
  auto media = cfg.media();
  auto more = global.media();
  media.insert(media.end(), more.begin(), more.end());
  std::vector<vmm::disk_spec> out;
  for (auto& ctl : cfg.hardware().storage)
    for (auto& dev : ctl.devices) {
      if (dev.image_uuid.empty())
        continue;
      if (dev.type != "HardDisk") {
        if (warnings)
          warnings->push_back(dev.type + " on " + ctl.name + " port "
                              + std::to_string(dev.port)
                              + " is not attached: telebox runs hard disks "
                                "only (virtio-blk) so far");
        continue;
      }
      auto it = std::find_if(media.begin(), media.end(), [&](auto& m) {
        return unbraced(m.uuid) == unbraced(dev.image_uuid);
      });
      if (it == media.end())
        return bad("VM '" + cfg.name() + "': medium " + dev.image_uuid + " on "
                   + ctl.name + " is not in the media registry");
      vmm::disk_spec d;
      d.path = settings::absolute_path(it->location, cfg.folder());
      d.read_only = it->type == "Readonly";
      d.host_cache = ctl.use_host_io_cache;
      out.push_back(std::move(d));
    }
  return out;
}

} // namespace

caf::expected<settings::machine_config>
find_machine(const settings::global_config& global, const std::string& vm) {
  auto want = unbraced(vm);
  std::string last_error;
  for (auto& e : global.machines()) {
    if (unbraced(e.uuid) == want)
      return settings::machine_config::load(e.src);
  }
  for (auto& e : global.machines()) {
    auto cfg = settings::machine_config::load(e.src);
    if (!cfg) {
      last_error = tb::error_text(cfg.error());
      continue;
    }
    if (cfg->name() == vm)
      return cfg;
  }
  return vmm::make_vmm_error(
      vmm::vmm_errc::bad_config,
      "Could not find a registered machine named '" + vm + "'"
          + (last_error.empty() ? "" : " (unreadable: " + last_error + ")"));
}

caf::expected<vmm::machine_spec>
spec_from_settings(const settings::machine_config& cfg,
                   const settings::global_config& global,
                   std::vector<std::string>* warnings) {
  auto hw = cfg.hardware();
  vmm::machine_spec s;
  s.uuid = unbraced(cfg.uuid());
  s.name = cfg.name();
  if (hw.memory_mb < 4)
    return bad("VM '" + s.name + "': " + std::to_string(hw.memory_mb)
               + " MB of RAM is too little (at least 4)");
  s.ram_bytes = uint64_t{hw.memory_mb} << 20;
  s.cpus = hw.cpus;
  s.large_pages = hw.large_pages;
  s.acpi = hw.acpi;
  auto pv = vmm::parse_paravirt(hw.paravirt, cfg.os_type());
  if (!pv)
    return pv.error();
  s.cpuid.paravirt = *pv;
  s.cpuid.pae = hw.pae;
  s.cpuid.long_mode = hw.long_mode;
  for (auto& l : hw.cpuid)
    s.cpuid.overrides.push_back(
        {l.leaf, l.subleaf, l.eax, l.ebx, l.ecx, l.edx});
  auto boot = boot_from(cfg);
  if (!boot)
    return boot.error();
  s.boot = std::move(*boot);
  auto tf = cfg.extradata("telebox/triple-fault").value_or("reset");
  if (tf != "reset" && tf != "poweroff")
    return bad("VM '" + s.name + "': extradata telebox/triple-fault is '" + tf
               + "', expected reset or poweroff");
  s.reset_on_triple_fault = tf == "reset";
  s.display.vram_mb = std::max<uint32_t>(hw.vram_mb, 4);
  auto disks = disks_from(cfg, global, warnings);
  if (!disks)
    return disks.error();
  s.disks = std::move(*disks);
  return s;
}

} // namespace tb::headless
