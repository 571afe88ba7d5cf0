// Machine/Hardware: reading the typed view and writing changes back the way
// VirtualBox 7.0 writes them (virtualbox-compat.md 2.5).
#include <algorithm>

#include "settings/machine_internal.hpp"

namespace tb::settings::detail {

namespace {

const xml_node* sub(const xml_node* n, std::string_view name) {
  return n ? n->child(name) : nullptr;
}

bool enabled(value_reader& r, const xml_node* parent, std::string_view name,
             bool fallback) {
  return r.flag(sub(parent, name), "enabled", fallback);
}

const std::initializer_list<std::string_view> boot_devices = {
    "None", "Floppy", "DVD", "HardDisk", "Network", "USB", "SharedFolder"};

void read_cpu(const xml_node* cpu, value_reader& r, hardware_settings& h) {
  h.cpus = r.u32(cpu, "count", 1, 1, 1024);
  h.hwvirtex = enabled(r, cpu, "HardwareVirtEx", true);
  h.nested_paging = enabled(r, cpu, "HardwareVirtExNestedPaging", true);
  h.vtx_vpid = enabled(r, cpu, "HardwareVirtExVPID", true);
  h.pae = enabled(r, cpu, "PAE", h.pae);
  h.long_mode = enabled(r, cpu, "LongMode", h.long_mode);
  h.large_pages = enabled(r, cpu, "HardwareVirtExLargePages", h.large_pages);
  if (const auto* tree = sub(cpu, "CpuIdTree")) {
    for (const auto* leaf : tree->children("CpuIdLeaf")) {
      if (!leaf->attr("id"))
        r.fail(leaf, "id", "missing");
      cpuid_leaf l;
      l.leaf = r.u32(leaf, "id", 0);
      l.subleaf = r.u32(leaf, "subleaf", 0);
      l.eax = r.u32(leaf, "eax", 0);
      l.ebx = r.u32(leaf, "ebx", 0);
      l.ecx = r.u32(leaf, "ecx", 0);
      l.edx = r.u32(leaf, "edx", 0);
      h.cpuid.push_back(l);
    }
  }
}

void read_boot(const xml_node* boot, value_reader& r, hardware_settings& h) {
  if (!boot)
    return;
  h.boot_order.fill("None");
  for (const auto* o : boot->children("Order")) {
    auto pos = r.u32(o, "position", 0, 1, 4);
    auto dev = r.choice(o, "device", "None", boot_devices);
    if (pos >= 1 && pos <= 4)
      h.boot_order[pos - 1] = dev;
  }
}

void read_usb(const xml_node& hw, value_reader& r, hardware_settings& h) {
  if (const auto* ctls = sub(hw.child("USB"), "Controllers"))
    for (const auto* c : ctls->children("Controller"))
      h.usb_controllers.push_back(
          r.choice(c, "type", "OHCI", {"OHCI", "EHCI", "XHCI"}));
  if (const auto* old = hw.child("USBController")) { // before 1.14
    if (r.flag(old, "enabled", false))
      h.usb_controllers.push_back("OHCI");
    if (r.flag(old, "enabledEhci", false))
      h.usb_controllers.push_back("EHCI");
  }
}

} // namespace

hardware_settings read_hardware(const xml_node& hw, value_reader& r) {
  hardware_settings h;
  read_cpu(hw.child("CPU"), r, h);
  h.memory_mb = r.u32(hw.child("Memory"), "RAMSize", h.memory_mb, 4, 2097152);
  h.firmware = r.choice(hw.child("Firmware"), "type", "BIOS",
                        {"BIOS", "EFI", "EFI32", "EFI64", "EFIDUAL"});
  const auto* hid = hw.child("HID");
  h.pointing = r.choice(hid, "Pointing", "PS2Mouse",
                        {"None", "PS2Mouse", "USBMouse", "USBTablet",
                         "ComboMouse", "USBMultiTouch", "USBMTScreenPlusPad"});
  h.keyboard =
      r.choice(hid, "Keyboard", "PS2Keyboard",
               {"None", "PS2Keyboard", "USBKeyboard", "ComboKeyboard"});
  h.hpet = enabled(r, &hw, "HPET", false);
  h.chipset = r.choice(hw.child("Chipset"), "type", "PIIX3",
                       {"PIIX3", "ICH9", "ARMv8Virtual"});
  h.paravirt =
      r.choice(hw.child("Paravirt"), "provider", "Default",
               {"None", "Default", "Legacy", "Minimal", "HyperV", "KVM"});
  read_boot(hw.child("Boot"), r, h);
  const auto* display = hw.child("Display");
  h.graphics = r.choice(display, "controller", "VBoxVGA",
                        {"None", "VBoxVGA", "VMSVGA", "VBoxSVGA", "QemuRamFB"});
  h.vram_mb = r.u32(display, "VRAMSize", 8, 0, 256);
  h.monitors = r.u32(display, "MonitorCount", 1, 1, 64); // deprecated name
  h.monitors = r.u32(display, "monitorCount", h.monitors, 1, 64);
  if (const auto* rtc = hw.child("RTC"))
    h.rtc_utc = iequals(rtc->attr_or("localOrUTC", ""), "UTC");
  const auto* bios = hw.child("BIOS");
  h.acpi = enabled(r, bios, "ACPI", true);
  h.ioapic = enabled(r, bios, "IOAPIC", false);
  read_usb(hw, r, h);
  h.nics = read_nics(hw, r);
  read_vrde(hw.child("RemoteDisplay"), r, h.vrde);
  h.storage = read_storage(hw.child("StorageControllers"), r);
  return h;
}

namespace {

void write_cpuid(xml_node& cpu, const std::vector<cpuid_leaf>& leaves) {
  if (leaves.empty()) {
    cpu.remove_children("CpuIdTree");
    return;
  }
  auto& tree = cpu.ensure_child("CpuIdTree", TB_CPU_ORDER);
  tree.remove_children("CpuIdLeaf");
  for (const auto& l : leaves) {
    auto& e = tree.append_child("CpuIdLeaf");
    e.set_attr("id", std::to_string(l.leaf));
    if (l.subleaf != 0)
      e.set_attr("subleaf", std::to_string(l.subleaf));
    e.set_attr("eax", std::to_string(l.eax));
    e.set_attr("ebx", std::to_string(l.ebx));
    e.set_attr("ecx", std::to_string(l.ecx));
    e.set_attr("edx", std::to_string(l.edx));
  }
}

void write_cpu(xml_node& hw, const hardware_settings& w,
               const hardware_settings& h) {
  auto& cpu = hw.ensure_child("CPU", TB_HARDWARE_ORDER);
  if (w.cpus != h.cpus)
    set_or_omit(cpu, "count", w.cpus, 1u);
  if (w.hwvirtex != h.hwvirtex)
    set_flag_element(cpu, "HardwareVirtEx", TB_CPU_ORDER, w.hwvirtex, true);
  if (w.nested_paging != h.nested_paging)
    set_flag_element(cpu, "HardwareVirtExNestedPaging", TB_CPU_ORDER,
                     w.nested_paging, true);
  if (w.vtx_vpid != h.vtx_vpid)
    set_flag_element(cpu, "HardwareVirtExVPID", TB_CPU_ORDER, w.vtx_vpid, true);
  // Always written by VirtualBox, so always present in a file we write.
  set_flag_element(cpu, "PAE", TB_CPU_ORDER, w.pae);
  set_flag_element(cpu, "LongMode", TB_CPU_ORDER, w.long_mode);
  set_flag_element(cpu, "HardwareVirtExLargePages", TB_CPU_ORDER,
                   w.large_pages);
  if (w.cpuid != h.cpuid)
    write_cpuid(cpu, w.cpuid);
}

void write_boot(xml_node& hw, const std::array<std::string, 4>& order) {
  if (order == hardware_settings{}.boot_order) {
    hw.remove_children("Boot");
    return;
  }
  auto& boot = hw.ensure_child("Boot", TB_HARDWARE_ORDER);
  boot.remove_children("Order");
  for (size_t i = 0; i < order.size(); ++i) {
    auto& o = boot.append_child("Order");
    o.set_attr("position", std::to_string(i + 1));
    o.set_attr("device", order[i]);
  }
}

/// Sets one attribute of an optional element, creating it only when the
/// value is not the omitted default, and dropping it when left empty.
template <class T>
void optional_attr(xml_node& parent, std::string_view element,
                   std::string_view attr, const T& value, const T& omitted) {
  if (value == omitted && !parent.child(element))
    return;
  set_or_omit(parent.ensure_child(element, TB_HARDWARE_ORDER), attr, value,
              omitted);
  remove_if_empty(parent, element);
}

void write_bios_flag(xml_node& hw, std::string_view name, bool value,
                     bool omitted) {
  if (value == omitted && !hw.child("BIOS"))
    return;
  set_flag_element(hw.ensure_child("BIOS", TB_HARDWARE_ORDER), name,
                   TB_BIOS_ORDER, value, omitted);
}

void write_usb(xml_node& hw, const std::vector<std::string>& types) {
  hw.remove_children("USBController"); // the pre-1.14 form
  if (types.empty() && !hw.child("USB"))
    return;
  auto& usb = hw.ensure_child("USB", TB_HARDWARE_ORDER);
  auto& ctls =
      usb.ensure_child("Controllers", {"Controllers", "DeviceFilters"});
  std::vector<const xml_node*> stale;
  std::vector<std::string> missing = types;
  for (auto* c : ctls.children("Controller")) {
    auto it = std::find_if(missing.begin(), missing.end(), [&](auto& t) {
      return iequals(t, c->attr_or("type", ""));
    });
    if (it == missing.end())
      stale.push_back(c);
    else
      missing.erase(it);
  }
  for (const auto* c : stale)
    ctls.remove_child(c);
  for (const auto& t : missing) {
    auto& c = ctls.append_child("Controller");
    c.set_attr("name", t == "XHCI" ? "xHCI" : t); // VBoxManage's names
    c.set_attr("type", t);
  }
  remove_if_empty(usb, "Controllers");
  remove_if_empty(hw, "USB");
}

} // namespace

void write_hardware(xml_node& hw, const hardware_settings& w,
                    const hardware_settings& h) {
  if (!hw.child("CPU") || w.cpus != h.cpus || w.hwvirtex != h.hwvirtex
      || w.nested_paging != h.nested_paging || w.vtx_vpid != h.vtx_vpid
      || w.pae != h.pae || w.long_mode != h.long_mode
      || w.large_pages != h.large_pages || w.cpuid != h.cpuid)
    write_cpu(hw, w, h);
  hw.ensure_child("Memory", TB_HARDWARE_ORDER)
      .set_attr("RAMSize", std::to_string(w.memory_mb));
  if (w.firmware != h.firmware)
    optional_attr(hw, "Firmware", "type", w.firmware, std::string{"BIOS"});
  if (w.pointing != h.pointing)
    optional_attr(hw, "HID", "Pointing", w.pointing, std::string{"PS2Mouse"});
  if (w.keyboard != h.keyboard)
    optional_attr(hw, "HID", "Keyboard", w.keyboard,
                  std::string{"PS2Keyboard"});
  if (w.hpet != h.hpet)
    set_flag_element(hw, "HPET", TB_HARDWARE_ORDER, w.hpet, false);
  if (w.chipset != h.chipset)
    optional_attr(hw, "Chipset", "type", w.chipset, std::string{"PIIX3"});
  if (w.paravirt != h.paravirt)
    optional_attr(hw, "Paravirt", "provider", w.paravirt,
                  std::string{"Default"});
  if (w.boot_order != h.boot_order)
    write_boot(hw, w.boot_order);
  if (w.graphics != h.graphics)
    optional_attr(hw, "Display", "controller", w.graphics,
                  std::string{"VBoxVGA"});
  if (w.vram_mb != h.vram_mb)
    optional_attr(hw, "Display", "VRAMSize", w.vram_mb, 8u);
  if (w.monitors != h.monitors) {
    if (auto* d = hw.child("Display"))
      d->remove_attr("MonitorCount");
    optional_attr(hw, "Display", "monitorCount", w.monitors, 1u);
  }
  if (w.vrde != h.vrde)
    write_vrde(hw, w.vrde, h.vrde);
  if (w.acpi != h.acpi)
    write_bios_flag(hw, "ACPI", w.acpi, true);
  if (w.ioapic != h.ioapic)
    write_bios_flag(hw, "IOAPIC", w.ioapic, false);
  if (w.usb_controllers != h.usb_controllers)
    write_usb(hw, w.usb_controllers);
  if (w.nics != h.nics)
    write_nics(hw, w.nics, h.nics);
  if (w.rtc_utc != h.rtc_utc)
    optional_attr(hw, "RTC", "localOrUTC", std::string{w.rtc_utc ? "UTC" : ""},
                  std::string{});
  if (w.storage != h.storage)
    write_storage(hw, w.storage);
}

} // namespace tb::settings::detail
