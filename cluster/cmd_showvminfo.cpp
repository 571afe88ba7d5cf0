// showvminfo: VBoxManage 7.0's human and --machinereadable forms for the
// settings telebox models, plus telebox's kernel/initrd/cmdline extradata.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "cluster/cmd_storage.hpp"
#include "cluster/cmd_verbs.hpp"
#include "cluster/ostypes.hpp"

namespace tb::cluster {

namespace {

/// One output in either form: machine-readable "key=value" lines or the
/// human "%-28s value" table.
class report {
public:
  report(cmd_env& env, bool mr) : env_(env), mr_(mr) {}
  bool mr() const { return mr_; }

  void str(std::string_view key, std::string_view label, std::string_view value,
           bool quote_key = false) {
    if (mr_)
      line(quoted(key, value, quote_key));
    else
      human(label, value);
  }
  void num(std::string_view key, std::string_view label, int64_t n,
           std::string_view unit = "") {
    if (mr_)
      line(std::string{key} + "=" + std::to_string(n));
    else
      human(label, std::to_string(n) + std::string{unit});
  }
  void flag(std::string_view key, std::string_view label, bool on,
            std::string_view yes = "enabled",
            std::string_view no = "disabled") {
    if (mr_)
      line(std::string{key} + "=\"" + (on ? "on" : "off") + "\"");
    else
      human(label, on ? yes : no);
  }
  /// A value spelled differently in the two forms.
  void pick(std::string_view key, std::string_view label,
            std::string_view mr_value, std::string_view human_value) {
    str(key, label, mr_ ? mr_value : human_value);
  }
  void human(std::string_view label, std::string_view value) {
    std::string l{label};
    if (l.size() < 28)
      l.resize(28, ' ');
    line(l + " " + std::string{value});
  }
  void line(const std::string& s) { env_.print(s + "\n"); }

  static std::string escape(std::string_view s) {
    std::string r;
    for (char c : s) {
      if (c == '"' || c == '\\')
        r += '\\';
      r += c;
    }
    return r;
  }
  static std::string quoted(std::string_view key, std::string_view value,
                            bool quote_key) {
    quote_key = quote_key || key.find('=') != std::string_view::npos;
    auto k = escape(key);
    return (quote_key ? "\"" + k + "\"" : k) + "=\"" + escape(value) + "\"";
  }

private:
  cmd_env& env_;
  bool mr_;
};

const settings::xml_node* xml_at(const settings::xml_node& root,
                                 std::initializer_list<std::string_view> path) {
  const settings::xml_node* n = &root;
  for (auto p : path) {
    n = n->child(p);
    if (!n)
      return nullptr;
  }
  return n;
}

bool xml_flag(const settings::xml_node& root,
              std::initializer_list<std::string_view> path, bool fallback) {
  auto* n = xml_at(root, path);
  if (!n || !n->attr("enabled"))
    return fallback;
  return *n->attr("enabled") == "true" || *n->attr("enabled") == "1";
}

std::string iso_time(int64_t ns) {
  std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec,
                static_cast<long long>(ns % 1'000'000'000));
  return buf;
}

// Machine/@lastStateChange "YYYY-MM-DDTHH:MM:SSZ" as nanoseconds.
int64_t parse_state_change(const std::string& s) {
  std::tm tm{};
  if (s.size() < 19
      || std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year,
                     &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                     &tm.tm_sec)
             != 6)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1'000'000'000;
}

std::pair<std::string, std::string> boot_name(const std::string& d) {
  if (d == "Floppy")
    return {"floppy", "Floppy"};
  if (d == "DVD")
    return {"dvd", "DVD"};
  if (d == "HardDisk")
    return {"disk", "HardDisk"};
  if (d == "Network")
    return {"net", "Network"};
  if (d == "USB")
    return {"usb", "USB"};
  if (d == "SharedFolder")
    return {"sharedfolder", "Shared Folder"};
  return {"none", "Not Assigned"};
}

std::pair<std::string, std::string> paravirt_name(const std::string& p) {
  auto l = lower(p);
  if (l == "hyperv")
    return {"hyperv", "HyperV"};
  if (l == "kvm")
    return {"kvm", "KVM"};
  if (l.empty())
    return {"default", "Default"};
  std::string h = p;
  h[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(h[0])));
  return {l, h};
}

// Machine::getEffectiveParavirtProvider for the Default/Legacy settings.
std::string effective_paravirt(const std::string& p, const std::string& os) {
  auto l = lower(p);
  bool mac = os.rfind("MacOS", 0) == 0;
  if (l == "legacy")
    return mac ? "Minimal" : "None";
  if (l != "default" && !l.empty())
    return p;
  if (mac)
    return "Minimal";
  auto* t = find_ostype(os);
  if (!t)
    return "None";
  if (t->family_id == "Windows" && os.find("XP") == std::string::npos
      && os.find("2000") == std::string::npos
      && os.find("2003") == std::string::npos && os.rfind("Windows9", 0) != 0
      && os != "Windows31" && os != "WindowsMe"
      && os.rfind("WindowsNT", 0) != 0)
    return "HyperV";
  if (t->family_id == "Linux" && os.rfind("Linux2", 0) != 0)
    return "KVM";
  if (t->id.rfind("Linux26", 0) == 0 || t->id.rfind("FreeBSD", 0) == 0)
    return "KVM";
  return "None";
}

std::pair<std::string, std::string> graphics_name(const std::string& g) {
  if (g == "Null" || g.empty())
    return {"null", "Null"};
  return {lower(g), g};
}

std::pair<std::string, std::string> pointing_name(const std::string& p) {
  static const std::tuple<const char*, const char*, const char*> t[] = {
      {"None", "none", "None"},
      {"PS2Mouse", "ps2mouse", "PS/2 Mouse"},
      {"USBMouse", "usbmouse", "USB Mouse"},
      {"USBTablet", "usbtablet", "USB Tablet"},
      {"ComboMouse", "combomouse", "USB Tablet and PS/2 Mouse"},
      {"USBMultiTouch", "usbmultitouch", "USB Multi-Touch"},
      {"USBMTScreenPlusPad", "usbmtscreenpluspad",
       "USB Multi-Touch Screen + Pad"}};
  for (auto& [x, m, h] : t)
    if (p == x)
      return {m, h};
  return {"unknown", "Unknown"};
}

std::pair<std::string, std::string> keyboard_name(const std::string& k) {
  if (k == "None")
    return {"none", "None"};
  if (k == "USBKeyboard")
    return {"usbkbd", "USB Keyboard"};
  if (k == "ComboKeyboard")
    return {"combokbd", "USB and PS/2 Keyboard"};
  if (k == "PS2Keyboard")
    return {"ps2kbd", "PS/2 Keyboard"};
  return {"unknown", "Unknown"};
}

// Attachment: machine-readable name, key of the name line, human text.
struct nic_view {
  std::string mr, name_key, human;
};

nic_view nic_attachment(const settings::nic_settings& n) {
  const auto& a = n.attachment;
  const auto& nm = n.attachment_name;
  if (a == "NAT")
    return {"nat", "natnet", "NAT"};
  if (a == "BridgedInterface")
    return {"bridged", "bridgeadapter", "Bridged Interface '" + nm + "'"};
  if (a == "InternalNetwork")
    return {"intnet", "intnet", "Internal Network '" + nm + "'"};
  if (a == "HostOnlyInterface")
    return {"hostonly", "hostonlyadapter", "Host-only Interface '" + nm + "'"};
  if (a == "GenericInterface")
    return {"Generic", "generic", "Generic '" + nm + "'"};
  if (a == "NATNetwork")
    return {"natnetwork", "nat-network", "NAT Network '" + nm + "'"};
  if (a == "HostOnlyNetwork")
    return {"hostonlynetwork", "hostonly-network",
            "Host Only Network '" + nm + "'"};
  if (a == "CloudNetwork")
    return {"cloudnetwork", "cloud-network", "Cloud Network '" + nm + "'"};
  return {"null", "", "none"};
}

void show_nics(report& r, const settings::hardware_settings& hw) {
  for (uint32_t slot = 0; slot < 8; ++slot) {
    const settings::nic_settings* n = nullptr;
    for (auto& x : hw.nics)
      if (x.slot == slot)
        n = &x;
    auto idx = std::to_string(slot + 1);
    if (!n || !n->enabled) {
      if (r.mr())
        r.line("nic" + idx + "=\"none\"");
      else
        r.human("NIC " + idx + ":", "disabled");
      continue;
    }
    auto v = nic_attachment(*n);
    if (r.mr()) {
      if (v.mr == "nat")
        r.line("natnet" + idx + "=\""
               + report::escape(n->attachment_name.empty() ? "nat"
                                                           : n->attachment_name)
               + "\"");
      else if (!v.name_key.empty())
        r.line(report::quoted(v.name_key + idx, n->attachment_name, false));
      r.line("macaddress" + idx + "=\"" + n->mac + "\"");
      r.line("cableconnected" + idx + "=\""
             + (n->cable_connected ? "on" : "off") + "\"");
      r.line("nic" + idx + "=\"" + v.mr + "\"");
      r.line("nictype" + idx + "=\"" + n->type + "\"");
      r.line("nicspeed" + idx + "=\"0\"");
      if (v.mr == "nat")
        r.line("mtu=\"0\"\nsockSnd=\"64\"\nsockRcv=\"64\"\ntcpWndSnd=\"64\"\n"
               "tcpWndRcv=\"64\"");
    } else {
      r.human("NIC " + idx + ":",
              "MAC: " + n->mac + ", Attachment: " + v.human
                  + ", Cable connected: " + (n->cable_connected ? "on" : "off")
                  + ", Trace: off (file: none), Type: " + n->type
                  + ", Reported speed: 0 Mbps, Boot priority: 0, Promisc "
                    "Policy: deny, Bandwidth group: none");
      if (v.mr == "nat")
        r.line("NIC " + idx
               + " Settings:  MTU: 0, Socket (send: 64, receive: "
                 "64), TCP Window (send:64, receive: 64)");
    }
  }
}

std::string ctl_type_name(const std::string& xml_type) {
  return xml_type == "AHCI" ? "IntelAhci" : xml_type;
}

void show_attachments(cmd_env& env, report& r,
                      const settings::storage_controller& c) {
  auto* k = kind_by_xml(c.type);
  uint32_t per_port = k ? k->devices_per_port : 1;
  const auto& n = c.name;
  for (uint32_t port = 0; port < c.port_count; ++port)
    for (uint32_t dev = 0; dev < per_port; ++dev) {
      const settings::attached_device* d = nullptr;
      for (auto& x : c.devices)
        if (x.port == static_cast<int32_t>(port)
            && x.device == static_cast<int32_t>(dev))
          d = &x;
      auto slot = std::to_string(port) + "-" + std::to_string(dev);
      auto on = [](bool b) { return b ? "on" : "off"; };
      if (!d) {
        if (r.mr())
          r.line(report::quoted(n + "-" + slot, "none", true));
        continue;
      }
      std::optional<medium_ref> med;
      if (!d->image_uuid.empty())
        med = find_medium(env.reg, d->image_uuid);
      if (d->image_uuid.empty() || !med) {
        std::string what =
            d->host_drive.empty() ? "emptydrive" : "host:" + d->host_drive;
        if (r.mr()) {
          r.line(report::quoted(n + "-" + slot,
                                d->image_uuid.empty() ? what : "inaccessible",
                                true));
          if (d->type == "DVD")
            r.line(report::quoted(n + "-IsEjected-" + slot, "off", true));
        } else {
          r.line("  Port " + std::to_string(port) + ", Unit "
                 + std::to_string(dev) + ": "
                 + (d->image_uuid.empty() ? (
                        d->host_drive.empty() ? "Empty"
                                              : "Host drive " + d->host_drive)
                                          : "Unknown medium " + d->image_uuid));
        }
        continue;
      }
      auto id = plain_uuid(med->entry.uuid);
      if (r.mr()) {
        r.line(report::quoted(n + "-" + slot, med->path, true));
        r.line(report::quoted(n + "-ImageUUID-" + slot, id, true));
        if (d->passthrough)
          r.line(report::quoted(n + "-dvdpassthrough-" + slot, "on", true));
        if (d->type == "DVD") {
          r.line(report::quoted(n + "-tempeject-" + slot, on(d->temp_eject),
                                true));
          r.line(report::quoted(n + "-IsEjected-" + slot, "off", true));
        }
        if (lower(n) == "sata" || lower(n) == "usb")
          r.line(report::quoted(n + "-hot-pluggable-" + slot,
                                on(d->hotpluggable), true));
        r.line(report::quoted(n + "-nonrotational-" + slot,
                              on(d->nonrotational), true));
        r.line(report::quoted(n + "-discard-" + slot, on(d->discard), true));
      } else {
        std::string extra;
        if (d->passthrough)
          extra += ", passthrough enabled";
        if (d->temp_eject)
          extra += ", temp eject";
        if (d->hotpluggable)
          extra += ", hot-pluggable";
        if (d->nonrotational)
          extra += ", non-rotational (SSD)";
        if (d->discard)
          extra += ", discards unused blocks";
        r.line("  Port " + std::to_string(port) + ", Unit "
               + std::to_string(dev) + ": UUID: " + id + extra
               + "\n    Location: \"" + med->path + "\"");
      }
    }
}

void show_storage(cmd_env& env, report& r,
                  const settings::hardware_settings& hw) {
  if (hw.storage.empty()) {
    if (!r.mr())
      r.human("Storage Controllers:", "<none>");
    return;
  }
  if (!r.mr())
    r.line("Storage Controllers:");
  for (size_t i = 0; i < hw.storage.size(); ++i) {
    auto& c = hw.storage[i];
    auto* k = kind_by_xml(c.type);
    uint32_t instance = 0;
    for (size_t j = 0; j < i; ++j)
      if (auto* kj = kind_by_xml(hw.storage[j].type);
          kj && k && kj->bus == k->bus)
        ++instance;
    auto max = k ? k->max_ports : c.port_count;
    auto idx = std::to_string(i);
    if (r.mr()) {
      r.line(report::quoted("storagecontrollername" + idx, c.name, false));
      r.line("storagecontrollertype" + idx + "=\"" + ctl_type_name(c.type)
             + "\"");
      r.line("storagecontrollerinstance" + idx + "=\""
             + std::to_string(instance) + "\"");
      r.line("storagecontrollermaxportcount" + idx + "=\"" + std::to_string(max)
             + "\"");
      r.line("storagecontrollerportcount" + idx + "=\""
             + std::to_string(c.port_count) + "\"");
      r.line("storagecontrollerbootable" + idx + "=\""
             + (c.bootable ? "on" : "off") + "\"");
    } else {
      r.line("#" + idx + ": '" + c.name + "', Type: " + ctl_type_name(c.type)
             + ", Instance: " + std::to_string(instance) + ", Ports: "
             + std::to_string(c.port_count) + " (max " + std::to_string(max)
             + "), " + (c.bootable ? "Bootable" : "Not bootable"));
      show_attachments(env, r, c);
    }
  }
  if (r.mr())
    for (auto& c : hw.storage)
      show_attachments(env, r, c);
}

// The VRDE library's property list, in the order showvminfo prints it.
constexpr const char* vrde_property_names[] = {
    "TCP/Ports",
    "TCP/Address",
    "VideoChannel/Enabled",
    "VideoChannel/Quality",
    "VideoChannel/DownscaleProtection",
    "Client/DisableDisplay",
    "Client/DisableInput",
    "Client/DisableAudio",
    "Client/DisableUSB",
    "Client/DisableClipboard",
    "Client/DisableUpstreamAudio",
    "Client/DisableRDPDR",
    "H3DRedirect/Enabled",
    "Security/Method",
    "Security/ServerCertificate",
    "Security/ServerPrivateKey",
    "Security/CACertificate",
    "Audio/RateCorrectionMode",
    "Audio/LogPath",
};

std::string vrde_prop(const settings::vrde_settings& v, const std::string& k) {
  auto i = v.properties.find(k);
  std::string val = i == v.properties.end() ? "" : i->second;
  if (k == "TCP/Ports" && (val.empty() || val == "0"))
    return "3389";
  return val;
}

/// A running VM's RemoteDisplay is what its VM process runs (controlvm
/// vrde on|off changes it there): its reported port says whether the
/// server is enabled (-1 = off, 0 = failed to start, else the bound port).
void show_vrde(report& r, const settings::vrde_settings& v, int32_t port,
               bool running) {
  bool enabled = running ? port != -1 : v.enabled;
  if (!enabled) {
    if (r.mr())
      r.line("vrde=\"off\"");
    else
      r.human("VRDE:", "disabled");
    return;
  }
  auto ports = vrde_prop(v, "TCP/Ports");
  auto address = vrde_prop(v, "TCP/Address");
  auto video = lower(vrde_prop(v, "VideoChannel/Enabled"));
  bool video_on = video == "true" || video == "1";
  auto quality = vrde_prop(v, "VideoChannel/Quality");
  auto auth = lower(v.auth_type.empty() ? "null" : v.auth_type);
  auto on = [](bool b) { return std::string{b ? "on" : "off"}; };
  if (!running)
    port = -1;
  if (r.mr()) {
    r.line("vrde=\"on\"");
    r.line("vrdeport=" + std::to_string(port));
    r.line(report::quoted("vrdeports", ports, false));
    r.line(report::quoted("vrdeaddress", address, false));
    r.line("vrdeauthtype=\"" + auth + "\"");
    r.line("vrdemulticon=\"" + on(v.multi_con) + "\"");
    r.line("vrdereusecon=\"" + on(v.reuse_con) + "\"");
    r.line("vrdevideochannel=\"" + on(video_on) + "\"");
    if (video_on)
      r.line(report::quoted("vrdevideochannelquality", quality, false));
    if (!v.auth_library.empty())
      r.line(report::quoted("vrdeauthlibrary", v.auth_library, false));
    if (!v.ext_pack.empty())
      r.line(report::quoted("vrdeextpack", v.ext_pack, false));
  } else {
    r.human("VRDE:", "enabled (Address "
                         + (address.empty() ? "0.0.0.0" : address) + ", Ports "
                         + ports + ", MultiConn: " + on(v.multi_con)
                         + ", ReuseSingleConn: " + on(v.reuse_con)
                         + ", Authentication type: " + auth + ")");
    if (running && port > 0)
      r.human("VRDE port:", std::to_string(port));
    if (video_on)
      r.human("Video redirection:", "enabled (Quality " + quality + ")");
    else
      r.human("Video redirection:", "disabled");
    if (!v.auth_library.empty())
      r.human("VRDE auth library:", v.auth_library);
  }
  std::vector<std::string> names(std::begin(vrde_property_names),
                                 std::end(vrde_property_names));
  for (auto& [k, val] : v.properties)
    if (std::find(names.begin(), names.end(), k) == names.end())
      names.push_back(k);
  for (auto& k : names) {
    auto val = vrde_prop(v, k);
    if (r.mr()) {
      r.line("vrdeproperty[" + k + "]="
             + (val.empty() ? "<not set>" : "\"" + report::escape(val) + "\""));
    } else {
      std::string name = k;
      if (name.size() < 10)
        name.resize(10, ' ');
      std::string label = "VRDE property";
      label.resize(28, ' ');
      r.line(label + ": " + name + " = "
             + (val.empty() ? "<not set>" : "\"" + val + "\""));
    }
  }
}

void show_header(report& r, const settings::machine_config& m) {
  r.str("name", "Name:", m.name());
  if (!r.mr())
    r.line("Encryption:     disabled");
  std::string groups = "/";
  if (auto* g = m.machine_node().child("Groups")) {
    std::string all;
    for (auto* x : g->children("Group"))
      all += (all.empty() ? "" : ",") + x->attr_or("name", "/");
    if (!all.empty())
      groups = all;
  }
  r.str("groups", "Groups:", groups);
  auto* os = find_ostype(m.os_type());
  r.str("ostype", "Guest OS:", os ? os->description : m.os_type());
  r.str("UUID", "UUID:", plain_uuid(m.uuid()));
  r.str("CfgFile", "Config file:", m.path());
  auto snap = m.machine_node().attr_or("snapshotFolder", "Snapshots");
  if (snap.empty() || snap[0] != '/')
    snap = m.folder() + "/" + snap;
  r.str("SnapFldr", "Snapshot folder:", snap);
  r.str("LogFldr", "Log folder:", m.folder() + "/Logs");
  std::string hwuuid = plain_uuid(m.uuid());
  if (auto* hwn = m.machine_node().child("Hardware"))
    if (auto* u = hwn->attr("uuid"))
      hwuuid = plain_uuid(*u);
  r.str("hardwareuuid", "Hardware UUID:", hwuuid);
}

void show_cpu_and_firmware(report& r, const settings::machine_config& m,
                           const settings::hardware_settings& hw) {
  const auto& root = m.machine_node();
  r.num("memory", "Memory size:", hw.memory_mb, "MB");
  r.flag("pagefusion", "Page Fusion:", false);
  r.num("vram", "VRAM size:", hw.vram_mb, "MB");
  r.num("cpuexecutioncap", "CPU exec cap:", 100, "%");
  r.flag("hpet", "HPET:", hw.hpet);
  r.str("cpu-profile", "CPUProfile:", "host");
  r.str("chipset", "Chipset:", lower(hw.chipset));
  r.str("firmware", "Firmware:", hw.firmware);
  r.num("cpus", "Number of CPUs:", hw.cpus);
  r.flag("pae", "PAE:", hw.pae);
  r.flag("longmode", "Long Mode:", hw.long_mode);
  r.flag("triplefaultreset", "Triple Fault Reset:",
         xml_flag(root, {"Hardware", "CPU", "TripleFaultReset"}, false));
  r.flag("apic", "APIC:", xml_flag(root, {"Hardware", "CPU", "APIC"}, true));
  r.flag("x2apic",
         "X2APIC:", xml_flag(root, {"Hardware", "CPU", "X2APIC"}, false));
  r.flag("nested-hw-virt", "Nested VT-x/AMD-V:",
         xml_flag(root, {"Hardware", "CPU", "NestedHWVirt"}, false));
  r.num("cpuid-portability-level", "CPUID Portability Level:", 0);
  if (!r.mr())
    r.line(std::string("CPUID overrides:").append(13, ' ')
           + (hw.cpuid.empty()
                  ? "None"
                  : "Leaf no.      EAX      EBX      ECX      EDX"));
  for (auto& l : hw.cpuid) {
    char buf[128];
    if (r.mr())
      std::snprintf(buf, sizeof buf, "cpuid=%08x,%08x,%08x,%08x,%08x,%08x",
                    l.leaf, l.subleaf, l.eax, l.ebx, l.ecx, l.edx);
    else
      std::snprintf(
          buf, sizeof buf,
          "                             %08x/%03x  %08x %08x %08x %08x", l.leaf,
          l.subleaf, l.eax, l.ebx, l.ecx, l.edx);
    r.line(buf);
  }
  r.pick("bootmenu", "Boot menu mode:", "messageandmenu", "message and menu");
  for (int i = 0; i < 4; ++i) {
    auto [mrv, hv] = boot_name(hw.boot_order[static_cast<size_t>(i)]);
    r.pick("boot" + std::to_string(i + 1),
           "Boot Device " + std::to_string(i + 1) + ":", mrv, hv);
  }
  r.flag("acpi", "ACPI:", hw.acpi);
  r.flag("ioapic", "IOAPIC:", hw.ioapic);
  r.pick("biosapic", "BIOS APIC mode:", "apic", "APIC");
  r.num("biossystemtimeoffset", "Time offset:", 0, "ms");
  r.flag("rtcuseutc", "RTC:", hw.rtc_utc, "UTC", "local time");
  r.flag("hwvirtex", "Hardware Virtualization:", hw.hwvirtex);
  r.flag("nestedpaging", "Nested Paging:", hw.nested_paging);
  r.flag("largepages", "Large Pages:", hw.large_pages);
  r.flag("vtxvpid", "VT-x VPID:", hw.vtx_vpid);
  r.flag("vtxux", "VT-x Unrestricted Exec.:",
         xml_flag(root, {"Hardware", "CPU", "HardwareVirtExUX"}, true));
  auto [pmr, ph] = paravirt_name(hw.paravirt);
  r.pick("paravirtprovider", "Paravirt. Provider:", pmr, ph);
  auto [emr, eh] = paravirt_name(effective_paravirt(hw.paravirt, m.os_type()));
  r.pick("effparavirtprovider", "Effective Paravirt. Prov.:", emr, eh);
}

void show_state(cmd_env& env, report& r, const settings::machine_config& m) {
  auto st = env.reg.state(m.uuid());
  st.state = machine_state(env.reg, m);
  int64_t since = st.since_ns;
  if (since == 0)
    since = parse_state_change(m.machine_node().attr_or("lastStateChange", ""));
  if (r.mr()) {
    r.line("VMState=\"" + st.state + "\"");
    r.line("VMStateChangeTime=\"" + iso_time(since) + "\"");
    if (auto* sf = m.machine_node().attr("stateFile"); sf && !sf->empty())
      r.line(report::quoted("VMStateFile",
                            sf->front() == '/' ? *sf : m.folder() + "/" + *sf,
                            false));
  } else {
    r.human("State:",
            state_human(st.state) + " (since " + iso_time(since) + ")");
  }
}

void show_display_and_teleporter(report& r, const settings::machine_config& m,
                                 const settings::hardware_settings& hw) {
  auto [gmr, gh] = graphics_name(hw.graphics);
  r.pick("graphicscontroller", "Graphics Controller:", gmr, gh);
  r.num("monitorcount", "Monitor count:", hw.monitors);
  auto* disp = xml_at(m.machine_node(), {"Hardware", "Display"});
  r.flag("accelerate3d", "3D Acceleration:",
         disp && disp->attr_or("accelerate3D", "false") == "true");
  auto t = m.teleporter();
  r.flag("teleporterenabled", "Teleporter Enabled:", t.enabled);
  r.num("teleporterport", "Teleporter Port:", t.port);
  r.str("teleporteraddress", "Teleporter Address:", t.address);
  r.str("teleporterpassword", "Teleporter Password:", t.password_hash);
  r.flag("tracing-enabled", "Tracing Enabled:", false);
  r.flag("tracing-allow-vm-access", "Allow Tracing to Access VM:", false);
  r.str("tracing-config", "Tracing Configuration:", "");
  r.flag("autostart-enabled", "Autostart Enabled:", false);
  r.num("autostart-delay", "Autostart Delay:", 0);
  r.str("defaultfrontend", "Default Frontend:", "");
  r.str("vmprocpriority", "VM process priority:", "default");
}

void show_devices(report& r, const settings::machine_config& m,
                  const settings::hardware_settings& hw) {
  auto [pmr, ph] = pointing_name(hw.pointing);
  r.pick("hidpointing", "Pointing Device:", pmr, ph);
  auto [kmr, kh] = keyboard_name(hw.keyboard);
  r.pick("hidkeyboard", "Keyboard Device:", kmr, kh);
  for (int i = 1; i <= 4; ++i)
    r.pick("uart" + std::to_string(i), "UART " + std::to_string(i) + ":", "off",
           "disabled");
  for (int i = 1; i <= 2; ++i)
    r.pick("lpt" + std::to_string(i), "LPT " + std::to_string(i) + ":", "off",
           "disabled");
  auto* audio = xml_at(m.machine_node(), {"Hardware", "AudioAdapter"});
  bool audio_on = audio && audio->attr_or("enabled", "false") == "true";
  auto driver = audio ? audio->attr_or("driver", "Null") : "Null";
  r.pick("audio", "Audio:", audio_on ? lower(driver) : "none",
         audio_on ? "enabled (Driver: " + driver + ")" : "disabled");
  r.flag("audio_out", "Audio playback:",
         audio && audio->attr_or("enabledOut", "false") == "true");
  r.flag("audio_in", "Audio capture:",
         audio && audio->attr_or("enabledIn", "false") == "true");
  r.str("clipboard", "Clipboard Mode:", "disabled");
  r.str("draganddrop", "Drag and drop Mode:", "disabled");
}

void show_usb(report& r, const settings::hardware_settings& hw) {
  auto has = [&](const char* t) {
    return std::find(hw.usb_controllers.begin(), hw.usb_controllers.end(), t)
           != hw.usb_controllers.end();
  };
  r.flag("usb", "OHCI USB:", has("OHCI"));
  r.flag("ehci", "EHCI USB:", has("EHCI"));
  r.flag("xhci", "xHCI USB:", has("XHCI"));
}

// telebox's direct-kernel boot settings (modifyvm --kernel/--initrd/--cmdline).
void show_telebox(report& r, const settings::machine_config& m) {
  static const std::tuple<const char*, const char*, const char*> keys[] = {
      {"telebox/kernel", "telebox-kernel", "Kernel:"},
      {"telebox/initrd", "telebox-initrd", "Initrd:"},
      {"telebox/cmdline", "telebox-cmdline", "Kernel command line:"}};
  for (auto& [xkey, mkey, label] : keys)
    if (auto v = m.extradata(xkey))
      r.str(mkey, label, *v);
}

// Machine/Snapshot and its nested Snapshots/Snapshot children.
void show_snapshot(report& r, const settings::xml_node& snap,
                   const std::string& current, const std::string& prefix) {
  auto name = snap.attr_or("name", "");
  auto id = plain_uuid(snap.attr_or("uuid", ""));
  std::string desc;
  if (auto* d = snap.child("Description"))
    desc = d->text();
  bool is_current = !current.empty() && plain_uuid(current) == id;
  if (r.mr()) {
    r.line(report::quoted("SnapshotName" + prefix, name, false));
    r.line(report::quoted("SnapshotUUID" + prefix, id, false));
    if (!desc.empty())
      r.line(report::quoted("SnapshotDescription" + prefix, desc, false));
    if (is_current) {
      r.line(report::quoted("CurrentSnapshotName", name, false));
      r.line(report::quoted("CurrentSnapshotUUID", id, false));
      r.line("CurrentSnapshotNode=\"SnapshotName" + prefix + "\"");
    }
  } else {
    r.line("   " + prefix + "Name: " + name + " (UUID: " + id + ")"
           + (is_current ? " *" : ""));
    if (!desc.empty() && desc.find('\n') == std::string::npos)
      r.line("   " + prefix + "Description: " + desc);
    else if (!desc.empty())
      r.line("   " + prefix + "Description:\n" + desc);
  }
  if (auto* kids = snap.child("Snapshots")) {
    int i = 0;
    for (auto* k : kids->children("Snapshot"))
      show_snapshot(r, *k, current,
                    r.mr() ? prefix + "-" + std::to_string(++i)
                           : prefix + "   ");
  }
}

void show_snapshots(report& r, const settings::machine_config& m) {
  auto* root = m.machine_node().child("Snapshot");
  if (!root)
    return;
  if (!r.mr())
    r.line("* Snapshots:");
  show_snapshot(r, *root, m.machine_node().attr_or("currentSnapshot", ""), "");
}

} // namespace

void print_vm_info(cmd_env& env, settings::machine_config& m,
                   bool machine_readable) {
  report r(env, machine_readable);
  auto hw = m.hardware();
  show_header(r, m);
  show_cpu_and_firmware(r, m, hw);
  show_state(env, r, m);
  show_display_and_teleporter(r, m, hw);
  show_storage(env, r, hw);
  show_nics(r, hw);
  show_devices(r, m, hw);
  auto st = env.reg.state(m.uuid());
  show_vrde(r, hw.vrde, st.vrde_port, env.reg.is_running(m.uuid()));
  show_usb(r, hw);
  auto desc = m.description();
  if (!desc.empty()) {
    if (r.mr())
      r.line(report::quoted("description", desc, false));
    else
      r.line("Description:\n" + desc);
  }
  show_telebox(r, m);
  show_snapshots(r, m);
  if (r.mr()) {
    r.line("GuestMemoryBalloon=0");
  } else {
    r.line("* Guest:");
    r.human("Configured memory balloon:", "0MB");
    r.line("");
  }
}

int cmd_showvminfo(cmd_env& env, const cmd_args& args) {
  constexpr const char* usage =
      "showvminfo <uuid|vmname> [--details] [--machinereadable]";
  static const std::vector<option_spec> specs{{"machinereadable", 0},
                                              {"details", 0}};
  auto p = parse_args(args, specs);
  if (!p.error.empty())
    return env.syntax(p.error, usage);
  if (p.positional.size() != 1)
    return env.syntax("Expected exactly one machine", usage);
  auto* m = find_vm(env, p.positional[0]);
  if (!m)
    return 1;
  print_vm_info(env, *m, p.has("machinereadable"));
  return 0;
}

} // namespace tb::cluster
