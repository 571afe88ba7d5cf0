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

const std::initializer_list<std::string_view> nic_types = {
    "Am79C970A", "Am79C973", "Am79C960", "82540EM", "82543GC",
    "82545EM",   "virtio",   "NE1000",   "NE2000",  "WD8003",
    "WD8013",    "ELNK2",    "ELNK1",    "UsbNet"};

const std::initializer_list<std::string_view> attachments = {
    "NAT",
    "BridgedInterface",
    "InternalNetwork",
    "HostOnlyInterface",
    "GenericInterface",
    "NATNetwork",
    "HostOnlyNetwork",
    "CloudNetwork",
    "VDE"};

bool is_attachment(std::string_view name) {
  for (auto a : attachments)
    if (a == name)
      return true;
  return false;
}

/// The attachment element of an Adapter (not one under DisabledModes).
xml_node* active_attachment(const xml_node& adapter) {
  for (const auto& c : adapter.nodes())
    if (c->node_kind() == xml_node::kind::element && is_attachment(c->name()))
      return c.get();
  return nullptr;
}

std::string_view name_attr(std::string_view attachment) {
  return attachment == "GenericInterface" ? "driver" : "name";
}

nic_settings read_nic(const xml_node& a, value_reader& r) {
  nic_settings n;
  if (!a.attr("slot"))
    r.fail(&a, "slot", "missing");
  n.slot = r.u32(&a, "slot", 0, 0, 35);
  n.enabled = r.flag(&a, "enabled", false);
  n.type = r.choice(&a, "type", "Am79C973", nic_types);
  n.mac = r.str(&a, "MACAddress");
  n.cable_connected = r.flag(&a, "cable", true);
  if (const auto* att = active_attachment(a)) {
    n.attachment = att->name();
    n.attachment_name = att->attr_or(name_attr(n.attachment), "");
  }
  return n;
}

void read_vrde(const xml_node* rd, value_reader& r, vrde_settings& v) {
  if (!rd)
    return;
  v.enabled = r.flag(rd, "enabled", false);
  v.auth_type = r.choice(rd, "authType", "Null", {"Null", "External", "Guest"});
  v.auth_timeout = r.u32(rd, "authTimeout", 5000);
  v.multi_con = r.flag(rd, "allowMultiConnection", false);
  v.reuse_con = r.flag(rd, "reuseSingleConnection", false);
  v.auth_library = r.str(rd, "authLibrary");
  v.ext_pack = r.str(rd, "VRDEExtPack");
  if (const auto* props = rd->child("VRDEProperties"))
    for (const auto* p : props->children("Property"))
      if (const auto* name = p->attr("name"))
        v.properties[*name] = p->attr_or("value", "");
  // Pre-4.0 forms, mapped onto the properties that replaced them.
  auto legacy = [&](const char* prop, const xml_node* n, const char* attr) {
    if (n && n->attr(attr) && !v.properties.count(prop))
      v.properties[prop] = *n->attr(attr);
  };
  legacy("TCP/Ports", rd, "port");
  legacy("TCP/Address", rd, "netAddress");
  const auto* vc = rd->child("VideoChannel");
  legacy("VideoChannel/Enabled", vc, "enabled");
  legacy("VideoChannel/Quality", vc, "quality");
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
  if (const auto* net = hw.child("Network"))
    for (const auto* a : net->children("Adapter"))
      h.nics.push_back(read_nic(*a, r));
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

/// Switches the adapter's attachment, parking the old one under
/// DisabledModes (as VirtualBox keeps names of modes not in use).
void write_attachment(xml_node& a, const nic_settings& w) {
  auto* active = active_attachment(a);
  if (!active || active->name() != w.attachment) {
    if (active) {
      auto& parked = a.ensure_child("DisabledModes");
      if (auto* old = parked.child(active->name()))
        parked.remove_child(old);
      parked.adopt_child(a.take_child(active));
    }
    active = nullptr;
    if (!w.attachment.empty()) {
      auto* parked = a.child("DisabledModes");
      auto* again = parked ? parked->child(w.attachment) : nullptr;
      auto node = again ? parked->take_child(again)
                        : std::make_unique<xml_node>(w.attachment);
      active = &a.adopt_child(std::move(node));
    }
    remove_if_empty(a, "DisabledModes");
  }
  if (active && w.attachment != "NAT")
    set_or_omit(*active, name_attr(w.attachment), w.attachment_name, "");
}

void write_nic(xml_node& net, const nic_settings& w) {
  xml_node* a = nullptr;
  for (auto* c : net.children("Adapter"))
    if (c->attr_or("slot", "") == std::to_string(w.slot))
      a = c;
  if (!a) {
    auto fresh = std::make_unique<xml_node>("Adapter");
    fresh->set_attr("slot", std::to_string(w.slot));
    a = &insert_sorted(net, std::move(fresh), "slot", {});
  }
  a->set_attr("enabled", bool_str(w.enabled));
  set_or_omit(*a, "MACAddress", w.mac, "");
  set_or_omit(*a, "cable", w.cable_connected, true);
  set_or_omit(*a, "type", w.type, "Am79C973");
  write_attachment(*a, w);
}

void write_nics(xml_node& hw, const std::vector<nic_settings>& want,
                const std::vector<nic_settings>& have) {
  if (want.empty() && !hw.child("Network"))
    return;
  auto& net = hw.ensure_child("Network", TB_HARDWARE_ORDER);
  for (auto* c : net.children("Adapter")) {
    auto slot = c->attr_or("slot", "");
    bool wanted = std::any_of(want.begin(), want.end(), [&](auto& n) {
      return std::to_string(n.slot) == slot;
    });
    if (!wanted)
      net.remove_child(c);
  }
  for (const auto& n : want) {
    auto old = std::find_if(have.begin(), have.end(),
                            [&](auto& o) { return o.slot == n.slot; });
    if (old == have.end() || !(*old == n))
      write_nic(net, n);
  }
  remove_if_empty(hw, "Network");
}

void write_vrde_properties(xml_node& rd,
                           const std::map<std::string, std::string>& props) {
  rd.remove_attr("port");
  rd.remove_attr("netAddress");
  rd.remove_children("VideoChannel");
  auto& list = rd.ensure_child("VRDEProperties");
  auto remaining = props;
  std::vector<const xml_node*> stale;
  for (auto* p : list.children("Property")) {
    auto it = remaining.find(p->attr_or("name", ""));
    if (it == remaining.end()) {
      stale.push_back(p);
      continue;
    }
    p->set_attr("value", it->second);
    remaining.erase(it);
  }
  for (const auto* p : stale)
    list.remove_child(p);
  for (const auto& [k, v] : remaining) {
    auto& p = list.append_child("Property");
    p.set_attr("name", k);
    p.set_attr("value", v);
  }
  remove_if_empty(rd, "VRDEProperties");
}

void write_vrde(xml_node& hw, const vrde_settings& w, const vrde_settings& h) {
  if (!hw.child("RemoteDisplay") && w == vrde_settings{})
    return;
  auto& rd = hw.ensure_child("RemoteDisplay", TB_HARDWARE_ORDER);
  set_or_omit(rd, "enabled", w.enabled, false);
  set_or_omit(rd, "authType", w.auth_type, "Null");
  if (w.auth_timeout == 5000 || w.auth_timeout == 0)
    rd.remove_attr("authTimeout");
  else
    rd.set_attr("authTimeout", std::to_string(w.auth_timeout));
  set_or_omit(rd, "allowMultiConnection", w.multi_con, false);
  set_or_omit(rd, "reuseSingleConnection", w.reuse_con, false);
  set_or_omit(rd, "authLibrary", w.auth_library, "");
  set_or_omit(rd, "VRDEExtPack", w.ext_pack, "");
  if (w.properties != h.properties)
    write_vrde_properties(rd, w.properties);
  remove_if_empty(hw, "RemoteDisplay");
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
