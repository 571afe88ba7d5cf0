// modifyvm: every option is validated and applied to a copy of the settings;
// only when all of them are good is the copy saved (one bad option changes
// nothing).
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>

#include "actors/error_text.hpp"
#include "cluster/cmd_errors.hpp"
#include "cluster/cmd_verbs.hpp"
#include "cluster/ostypes.hpp"
#include "settings/hash.hpp"
#include "settings/paths.hpp"

namespace fs = std::filesystem;

namespace tb::cluster {

namespace {

constexpr const char* usage =
    "modifyvm <uuid|vmname> [--name <name>] [--ostype <type>] "
    "[--memory <MB>] [--cpus <n>] [--acpi|--ioapic|--pae|--longmode|--hpet "
    "on|off] [--boot<1-4> none|floppy|dvd|disk|net] [--nic<1-8> "
    "none|null|nat|bridged|intnet|hostonly|generic|natnetwork] "
    "[--nictype<1-8> <type>] [--cableconnected<1-8> on|off] "
    "[--macaddress<1-8> auto|<12 hex>] [--vrde on|off] [--vrdeport <ports>] "
    "[--vrdeproperty <name=value>] [--teleporter on|off] "
    "[--teleporterport <port>] [--kernel <file>] [--initrd <file>] "
    "[--cmdline <text>] ...";

const std::vector<option_spec>& specs() {
  static const std::vector<option_spec> s{{"name"},
                                          {"ostype"},
                                          {"description"},
                                          {"memory"},
                                          {"cpus"},
                                          {"acpi"},
                                          {"ioapic"},
                                          {"pae"},
                                          {"longmode"},
                                          {"hpet"},
                                          {"chipset"},
                                          {"rtcuseutc"},
                                          {"boot", 1, 4},
                                          {"nic", 1, 8},
                                          {"nictype", 1, 8},
                                          {"cableconnected", 1, 8},
                                          {"macaddress", 1, 8},
                                          {"bridgeadapter", 1, 8},
                                          {"intnet", 1, 8},
                                          {"hostonlyadapter", 1, 8},
                                          {"natnetwork", 1, 8},
                                          {"nicgenericdrv", 1, 8},
                                          {"cpuidset", 5},
                                          {"cpuidremove"},
                                          {"cpuidremoveall", 0},
                                          {"paravirtprovider"},
                                          {"largepages"},
                                          {"nestedpaging"},
                                          {"vtxvpid"},
                                          {"hwvirtex"},
                                          {"usbohci"},
                                          {"usbehci"},
                                          {"usbxhci"},
                                          {"mouse"},
                                          {"keyboard"},
                                          {"graphicscontroller"},
                                          {"monitorcount"},
                                          {"vram"},
                                          {"firmware"},
                                          {"vrde"},
                                          {"vrdeport"},
                                          {"vrdeaddress"},
                                          {"vrdeauthtype"},
                                          {"vrdeauthlibrary"},
                                          {"vrdemulticon"},
                                          {"vrdereusecon"},
                                          {"vrdevideochannel"},
                                          {"vrdevideochannelquality"},
                                          {"vrdeproperty"},
                                          {"vrdeextpack"},
                                          {"teleporter"},
                                          {"teleporterport"},
                                          {"teleporteraddress"},
                                          {"teleporterpassword"},
                                          {"teleporterpasswordfile"},
                                          {"kernel"},
                                          {"initrd"},
                                          {"cmdline"}};
  return s;
}

const std::vector<option_alias>& aliases() {
  static const std::vector<option_alias> a{
      {"vrdp*", "vrde"},
      {"cpuid", "cpuidset"},
      {"usb", "usbohci"},
      {"vrdevideochannelquality", "vrdevideochannelquality"}};
  return a;
}

// What modifyvm edits, applied to the copy at the end.
struct vm_edit {
  settings::hardware_settings hw;
  settings::teleporter_settings tp;
  std::optional<std::string> name, ostype, description;
  std::map<std::string, std::string> extradata;
  std::map<std::pair<uint32_t, std::string>, std::string> nic_names;
  std::string default_nic_type = "Am79C973";
};

// Options a running machine may change (VRDE and teleporter endpoint).
bool allowed_while_running(const parsed_option& o) {
  if (o.name.rfind("vrde", 0) == 0 || o.name == "description"
      || o.name == "teleporterport" || o.name == "teleporteraddress"
      || o.name == "teleporterpassword" || o.name == "teleporterpasswordfile")
    return true;
  return o.name == "teleporter" && lower(o.value()) == "off";
}

std::string bad(const parsed_option& o, std::string_view allowed) {
  return "Invalid " + o.spelled + " value '" + o.values.back() + "' ("
         + std::string{allowed} + ")";
}

// Picks `text` from `names` case-insensitively; "" when absent.
std::string
pick(std::string_view text,
     std::initializer_list<std::pair<const char*, const char*>> names) {
  for (auto& [cli, xml] : names)
    if (lower(text) == cli)
      return xml;
  return "";
}

bool valid_port_list(const std::string& s) {
  if (s.empty())
    return false;
  size_t pos = 0;
  while (true) {
    auto comma = s.find(',', pos);
    auto item = s.substr(pos, comma == std::string::npos ? std::string::npos
                                                         : comma - pos);
    auto dash = item.find('-');
    uint64_t a = 0, b = 0;
    if (dash == std::string::npos) {
      if (!parse_uint(item, 1, 65535, a))
        return false;
    } else if (!parse_uint(item.substr(0, dash), 1, 65535, a)
               || !parse_uint(item.substr(dash + 1), 1, 65535, b) || a > b) {
      return false;
    }
    if (comma == std::string::npos)
      return true;
    pos = comma + 1;
  }
}

settings::nic_settings& nic(vm_edit& e, int index) {
  auto slot = static_cast<uint32_t>(index - 1);
  for (auto& n : e.hw.nics)
    if (n.slot == slot)
      return n;
  settings::nic_settings n;
  n.slot = slot;
  n.type = e.default_nic_type;
  n.mac = random_mac();
  e.hw.nics.push_back(n);
  return e.hw.nics.back();
}

bool set_flag(const parsed_option& o, bool& field, std::string& err) {
  if (!parse_on_off(o.value(), field))
    err = bad(o, "on or off");
  return err.empty();
}

std::string hash_password(const std::string& pw) {
  return pw.empty() ? "" : settings::teleporter_password_hash(pw);
}

std::string apply_vrde(cmd_env& env, const parsed_option& o, vm_edit& e) {
  (void)env;
  auto& v = e.hw.vrde;
  std::string err;
  const auto& val = o.value();
  if (o.name == "vrde") {
    set_flag(o, v.enabled, err);
  } else if (o.name == "vrdeport") {
    if (lower(val) == "default" || val == "0")
      v.properties["TCP/Ports"] = "3389";
    else if (valid_port_list(val))
      v.properties["TCP/Ports"] = val;
    else
      err = bad(o, "ports 1..65535, comma-separated, ranges a-b with a<=b, "
                   "or default");
  } else if (o.name == "vrdeaddress") {
    if (val.empty())
      v.properties.erase("TCP/Address");
    else
      v.properties["TCP/Address"] = val;
  } else if (o.name == "vrdeauthtype") {
    v.auth_type = pick(
        val, {{"null", "Null"}, {"external", "External"}, {"guest", "Guest"}});
    if (v.auth_type.empty())
      err = bad(o, "null, external or guest");
  } else if (o.name == "vrdeauthlibrary") {
    v.auth_library = lower(val) == "default" ? "" : val;
  } else if (o.name == "vrdeextpack") {
    v.ext_pack = lower(val) == "default" ? "" : val;
  } else if (o.name == "vrdemulticon") {
    set_flag(o, v.multi_con, err);
  } else if (o.name == "vrdereusecon") {
    set_flag(o, v.reuse_con, err);
  } else if (o.name == "vrdevideochannel") {
    bool on = false;
    if (set_flag(o, on, err))
      v.properties["VideoChannel/Enabled"] = on ? "true" : "false";
  } else if (o.name == "vrdevideochannelquality") {
    uint64_t q = 0;
    if (parse_uint(val, 10, 100, q))
      v.properties["VideoChannel/Quality"] = std::to_string(q);
    else
      err = bad(o, "10..100");
  } else if (o.name == "vrdeproperty") {
    auto eq = val.find('=');
    if (eq == std::string::npos || eq == 0)
      return bad(o, "name=value; an empty value deletes the property");
    auto name = val.substr(0, eq);
    auto value = val.substr(eq + 1);
    if (name == "TCP/Ports" && !value.empty()) {
      if (value == "0" || lower(value) == "default")
        value = "3389";
      else if (!valid_port_list(value))
        return bad(o, "TCP/Ports takes ports 1..65535, comma-separated, "
                      "ranges a-b with a<=b");
    }
    if (name == "VideoChannel/Quality" && !value.empty()) {
      uint64_t q = 0;
      if (!parse_uint(value, 10, 100, q))
        return bad(o, "VideoChannel/Quality takes 10..100");
    }
    if (value.empty())
      v.properties.erase(name);
    else
      v.properties[name] = value;
  }
  return err;
}

std::string read_password_file(cmd_env& env, const std::string& arg,
                               std::string& out) {
  std::string text;
  if (arg == "stdin") {
    text = env.ctx.input;
  } else {
    auto path = client_path(env, arg);
    std::ifstream in(path, std::ios::binary);
    if (!in)
      return "Cannot read the password file '" + path + "'";
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  out = text.substr(0, text.find('\n'));
  if (!out.empty() && out.back() == '\r')
    out.pop_back();
  return "";
}

std::string apply_teleporter(cmd_env& env, const parsed_option& o, vm_edit& e) {
  std::string err;
  if (o.name == "teleporter") {
    set_flag(o, e.tp.enabled, err);
  } else if (o.name == "teleporterport") {
    uint64_t port = 0;
    if (parse_uint(o.value(), 0, 65535, port))
      e.tp.port = static_cast<uint32_t>(port);
    else
      err = bad(o, "0..65535; 0 picks a free port");
  } else if (o.name == "teleporteraddress") {
    e.tp.address = o.value();
  } else if (o.name == "teleporterpassword") {
    e.tp.password_hash = hash_password(o.value());
  } else if (o.name == "teleporterpasswordfile") {
    std::string pw;
    err = read_password_file(env, o.value(), pw);
    if (err.empty())
      e.tp.password_hash = hash_password(pw);
  }
  return err;
}

std::string apply_nic(const parsed_option& o, vm_edit& e) {
  std::string err;
  auto slot = static_cast<uint32_t>(o.index - 1);
  const auto& val = o.value();
  if (o.name == "nic") {
    auto& n = nic(e, o.index);
    if (lower(val) == "none") {
      n.enabled = false;
      return "";
    }
    auto att = pick(val, {{"null", ""},
                          {"nat", "NAT"},
                          {"bridged", "BridgedInterface"},
                          {"intnet", "InternalNetwork"},
                          {"hostonly", "HostOnlyInterface"},
                          {"generic", "GenericInterface"},
                          {"natnetwork", "NATNetwork"}});
    if (att.empty() && lower(val) != "null")
      return bad(o, "none, null, nat, bridged, intnet, hostonly, generic or "
                    "natnetwork");
    if (att != n.attachment)
      n.attachment_name.clear();
    n.enabled = true;
    n.attachment = att;
  } else if (o.name == "nictype") {
    auto t = pick(val, {{"am79c970a", "Am79C970A"},
                        {"am79c973", "Am79C973"},
                        {"am79c960", "Am79C960"},
                        {"82540em", "82540EM"},
                        {"82543gc", "82543GC"},
                        {"82545em", "82545EM"},
                        {"virtio", "virtio"}});
    if (t.empty())
      return bad(o, "Am79C970A, Am79C973, Am79C960, 82540EM, 82543GC, "
                    "82545EM or virtio");
    nic(e, o.index).type = t;
  } else if (o.name == "cableconnected") {
    set_flag(o, nic(e, o.index).cable_connected, err);
  } else if (o.name == "macaddress") {
    if (lower(val) == "auto") {
      nic(e, o.index).mac = random_mac();
      return "";
    }
    uint32_t dummy = 0;
    bool ok = val.size() == 12 && parse_hex32(val.substr(0, 6), dummy)
              && parse_hex32(val.substr(6), dummy)
              && parse_hex32(val.substr(0, 2), dummy) && (dummy & 1) == 0;
    if (!ok)
      return bad(o, "auto or 12 hex digits of a unicast MAC address");
    std::string mac = val;
    for (auto& c : mac)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    nic(e, o.index).mac = mac;
  } else {
    static const std::map<std::string, std::string> modes{
        {"bridgeadapter", "BridgedInterface"},
        {"intnet", "InternalNetwork"},
        {"hostonlyadapter", "HostOnlyInterface"},
        {"natnetwork", "NATNetwork"},
        {"nicgenericdrv", "GenericInterface"}};
    e.nic_names[{slot, modes.at(o.name)}] = val;
  }
  return err;
}

std::string apply_cpuid(const parsed_option& o, vm_edit& e) {
  if (o.name == "cpuidremoveall") {
    e.hw.cpuid.clear();
    return "";
  }
  const auto& id = o.values[0];
  settings::cpuid_leaf l;
  auto colon = id.find(':');
  if (!parse_hex32(id.substr(0, colon), l.leaf)
      || (colon != std::string::npos
          && !parse_hex32(id.substr(colon + 1), l.subleaf)))
    return "Invalid CPUID leaf '" + id + "' for " + o.spelled
           + " (hex leaf[:subleaf])";
  auto same = [&](const settings::cpuid_leaf& x) {
    return x.leaf == l.leaf && x.subleaf == l.subleaf;
  };
  if (o.name == "cpuidremove") {
    std::erase_if(e.hw.cpuid, same);
    return "";
  }
  std::array<uint32_t*, 4> regs{&l.eax, &l.ebx, &l.ecx, &l.edx};
  for (size_t i = 0; i < 4; ++i)
    if (!parse_hex32(o.values[i + 1], *regs[i]))
      return "Invalid CPUID register value '" + o.values[i + 1] + "' for "
             + o.spelled + " (hex, up to 8 digits)";
  std::erase_if(e.hw.cpuid, same);
  e.hw.cpuid.push_back(l);
  return "";
}

std::string apply_number(const parsed_option& o, vm_edit& e) {
  struct range {
    const char* name;
    uint64_t lo, hi;
    uint32_t settings::hardware_settings::*field;
  };
  static const range ranges[] = {
      {"memory", 4, 2097152, &settings::hardware_settings::memory_mb},
      {"cpus", 1, 64, &settings::hardware_settings::cpus},
      {"vram", 0, 256, &settings::hardware_settings::vram_mb},
      {"monitorcount", 1, 64, &settings::hardware_settings::monitors}};
  for (auto& r : ranges)
    if (o.name == r.name) {
      uint64_t n = 0;
      if (!parse_uint(o.value(), r.lo, r.hi, n))
        return bad(o, std::to_string(r.lo) + ".." + std::to_string(r.hi));
      e.hw.*r.field = static_cast<uint32_t>(n);
    }
  return "";
}

std::string apply_choice(const parsed_option& o, vm_edit& e) {
  using list = std::initializer_list<std::pair<const char*, const char*>>;
  struct choice {
    const char* name;
    list values;
    std::string* field;
    const char* allowed;
  };
  const choice choices[] = {
      {"paravirtprovider",
       {{"none", "None"},
        {"default", "Default"},
        {"legacy", "Legacy"},
        {"minimal", "Minimal"},
        {"hyperv", "HyperV"},
        {"kvm", "KVM"}},
       &e.hw.paravirt,
       "none, default, legacy, minimal, hyperv or kvm"},
      {"mouse",
       {{"ps2", "PS2Mouse"},
        {"usb", "USBMouse"},
        {"usbtablet", "USBTablet"},
        {"usbmultitouch", "USBMultiTouch"},
        {"usbmtscreenpluspad", "USBMTScreenPlusPad"},
        {"none", "None"}},
       &e.hw.pointing,
       "ps2, usb, usbtablet, usbmultitouch or usbmtscreenpluspad"},
      {"keyboard",
       {{"ps2", "PS2Keyboard"}, {"usb", "USBKeyboard"}, {"none", "None"}},
       &e.hw.keyboard,
       "ps2 or usb"},
      {"graphicscontroller",
       {{"none", "Null"},
        {"vboxvga", "VBoxVGA"},
        {"vmsvga", "VMSVGA"},
        {"vboxsvga", "VBoxSVGA"}},
       &e.hw.graphics,
       "none, vboxvga, vmsvga or vboxsvga"},
      {"firmware",
       {{"bios", "BIOS"},
        {"efi", "EFI"},
        {"efi32", "EFI32"},
        {"efi64", "EFI64"},
        {"efidual", "EFIDUAL"}},
       &e.hw.firmware,
       "bios, efi, efi32, efi64 or efidual"},
      {"chipset",
       {{"piix3", "PIIX3"}, {"ich9", "ICH9"}},
       &e.hw.chipset,
       "piix3 or ich9"},
  };
  for (auto& c : choices)
    if (o.name == c.name) {
      auto v = pick(o.value(), c.values);
      if (v.empty())
        return bad(o, c.allowed);
      *c.field = v;
    }
  return "";
}

std::string apply_flag_option(const parsed_option& o, vm_edit& e) {
  static const std::pair<const char*, bool settings::hardware_settings::*>
      flags[] = {{"acpi", &settings::hardware_settings::acpi},
                 {"ioapic", &settings::hardware_settings::ioapic},
                 {"pae", &settings::hardware_settings::pae},
                 {"longmode", &settings::hardware_settings::long_mode},
                 {"hpet", &settings::hardware_settings::hpet},
                 {"rtcuseutc", &settings::hardware_settings::rtc_utc},
                 {"largepages", &settings::hardware_settings::large_pages},
                 {"nestedpaging", &settings::hardware_settings::nested_paging},
                 {"vtxvpid", &settings::hardware_settings::vtx_vpid},
                 {"hwvirtex", &settings::hardware_settings::hwvirtex}};
  std::string err;
  for (auto& [n, field] : flags)
    if (o.name == n)
      set_flag(o, e.hw.*field, err);
  if (o.name == "usbohci" || o.name == "usbehci" || o.name == "usbxhci") {
    bool on = false;
    if (!set_flag(o, on, err))
      return err;
    std::string type = o.name == "usbohci"   ? "OHCI"
                       : o.name == "usbehci" ? "EHCI"
                                             : "XHCI";
    auto& u = e.hw.usb_controllers;
    std::erase(u, type);
    if (on)
      u.push_back(type);
  }
  return err;
}

std::string apply_boot_kernel(cmd_env& env, const parsed_option& o,
                              vm_edit& e) {
  if (o.name == "boot") {
    auto d = pick(o.value(), {{"none", "None"},
                              {"floppy", "Floppy"},
                              {"dvd", "DVD"},
                              {"disk", "HardDisk"},
                              {"net", "Network"}});
    if (d.empty())
      return bad(o, "none, floppy, dvd, disk or net");
    e.hw.boot_order[static_cast<size_t>(o.index - 1)] = d;
    return "";
  }
  auto key = "telebox/" + o.name;
  if (o.name == "cmdline" || o.value().empty()) {
    e.extradata[key] = o.value();
    return "";
  }
  auto path = client_path(env, o.value());
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return "The " + o.name + " file '" + path
           + "' does not exist or is not "
             "a regular file";
  e.extradata[key] = path;
  return "";
}

std::string apply_identity(cmd_env& env, const parsed_option& o, vm_edit& e,
                           const settings::machine_config& m) {
  if (o.name == "name") {
    if (o.value().find_first_not_of(" \t") == std::string::npos)
      return "The machine name must not be blank";
    auto* other = env.reg.find(o.value());
    if (other && other != &m)
      return "A machine named '" + o.value() + "' is already registered";
    e.name = o.value();
  } else if (o.name == "ostype") {
    auto* t = find_ostype(o.value());
    if (!t)
      return "Guest OS type '" + o.value() + "' is invalid";
    e.ostype = t->id;
  } else if (o.name == "description") {
    e.description = o.value();
  }
  return "";
}

std::string apply(cmd_env& env, const parsed_option& o, vm_edit& e,
                  const settings::machine_config& m) {
  const auto& n = o.name;
  if (n.rfind("vrde", 0) == 0)
    return apply_vrde(env, o, e);
  if (n.rfind("teleporter", 0) == 0)
    return apply_teleporter(env, o, e);
  if (o.index > 0 && n != "boot")
    return apply_nic(o, e);
  if (n.rfind("cpuid", 0) == 0)
    return apply_cpuid(o, e);
  if (n == "boot" || n == "kernel" || n == "initrd" || n == "cmdline")
    return apply_boot_kernel(env, o, e);
  if (n == "name" || n == "ostype" || n == "description")
    return apply_identity(env, o, e, m);
  if (auto err = apply_number(o, e); !err.empty())
    return err;
  if (auto err = apply_choice(o, e); !err.empty())
    return err;
  return apply_flag_option(o, e);
}

// Names a new network attachment got in this command (or the default).
void settle_nic_names(vm_edit& e) {
  for (auto& n : e.hw.nics) {
    auto i = e.nic_names.find({n.slot, n.attachment});
    if (i != e.nic_names.end())
      n.attachment_name = i->second;
    if (n.attachment_name.empty() && n.attachment == "InternalNetwork")
      n.attachment_name = "intnet";
    if (n.attachment_name.empty() && n.attachment == "NATNetwork")
      n.attachment_name = "NatNetwork";
  }
}

// Renaming also renames the settings file and, when it carries the old
// name, the machine folder (VirtualBox does the same).
caf::error rename_files(registry& reg, settings::machine_config& m,
                        settings::machine_config& edited,
                        const std::string& new_name) {
  auto old_path = fs::path(m.path());
  auto folder = old_path.parent_path();
  auto san_old = settings::sanitise_machine_name(m.name());
  auto san_new = settings::sanitise_machine_name(new_name);
  if (old_path.filename() != san_old + ".vbox" || san_old == san_new)
    return {};
  bool move_folder = folder.filename() == san_old;
  auto new_folder = move_folder ? folder.parent_path() / san_new : folder;
  auto new_path = new_folder / (san_new + ".vbox");
  std::error_code ec;
  if (fs::exists(move_folder ? new_folder : new_path, ec))
    return caf::make_error(cluster_errc::duplicate,
                           "Cannot rename the machine: '"
                               + (move_folder ? new_folder : new_path).string()
                               + "' already exists");
  auto moved = settings::machine_config::parse(
      settings::write_xml(edited.document()), new_path.string());
  if (!moved)
    return moved.error();
  if (move_folder)
    fs::rename(folder, new_folder, ec);
  auto tmp_old = new_folder / old_path.filename();
  if (!ec)
    fs::rename(tmp_old, new_path, ec);
  if (ec) {
    std::error_code ignore;
    if (move_folder)
      fs::rename(new_folder, folder, ignore);
    return caf::make_error(cluster_errc::io_error,
                           "Cannot rename the machine files: " + ec.message());
  }
  std::error_code ignore;
  fs::remove(new_folder / (old_path.filename().string() + "-prev"), ignore);
  edited = std::move(*moved);
  auto& g = reg.global();
  auto entries = g.machines();
  for (auto& e : entries)
    g.remove_machine(e.uuid);
  for (auto& e : entries) {
    if (e.uuid == m.uuid())
      e.src = new_path.string();
    g.add_machine(e);
  }
  return g.save();
}

} // namespace

int cmd_modifyvm(cmd_env& env, const cmd_args& args) {
  if (args.empty())
    return env.syntax("Expected a machine", usage);
  cmd_args rest(args.begin() + 1, args.end());
  auto p = parse_args(rest, specs(), aliases());
  if (!p.error.empty())
    return env.syntax(p.error, usage);
  if (!p.positional.empty())
    return env.syntax("Invalid parameter '" + p.positional[0] + "'", usage);
  auto* m = find_vm(env, args[0]);
  if (!m)
    return 1;
  if (hardware_locked(env.reg, *m))
    for (auto& o : p.options)
      if (!allowed_while_running(o))
        return refuse_running(env, *m, o.spelled);
  vm_edit e{m->hardware(), m->teleporter(), {}, {}, {}, {}, {}, "Am79C973"};
  if (auto* t = find_ostype(m->os_type()))
    e.default_nic_type = t->nic_type;
  for (auto& o : p.options)
    if (auto err = apply(env, o, e, *m); !err.empty())
      return env.fail(err);
  settle_nic_names(e);

  auto edited = clone_machine(*m);
  if (!edited)
    return env.fail(error_text(edited.error()));
  edited->set_hardware(e.hw);
  edited->set_teleporter(e.tp);
  if (e.ostype)
    edited->set_os_type(*e.ostype);
  if (e.description)
    edited->set_description(*e.description);
  for (auto& [k, v] : e.extradata)
    edited->set_extradata(k, v);
  if (e.name) {
    edited->set_name(*e.name);
    if (auto err = rename_files(env.reg, *m, *edited, *e.name))
      return env.fail(error_text(err));
  }
  if (auto err = commit_machine(*m, std::move(*edited)))
    return env.fail(error_text(err));
  env.event("settings", m, "modifyvm");
  return 0;
}

} // namespace tb::cluster
