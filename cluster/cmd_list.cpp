// list vms|runningvms|ostypes|hdds|dvds|floppies|systemproperties.
#include <algorithm>
#include <filesystem>
#include <map>
#include <system_error>

#include "cluster/cmd_verbs.hpp"
#include "cluster/ostypes.hpp"
#include "settings/paths.hpp"
#include "storage/medium_create.hpp"

namespace fs = std::filesystem;

namespace tb::cluster {

namespace {

constexpr const char* usage =
    "list [--long] vms|runningvms|ostypes|hdds|dvds|floppies|"
    "systemproperties";

void list_vms(cmd_env& env, bool running_only, bool long_form, bool sorted) {
  auto machines = env.reg.machines();
  if (sorted)
    std::stable_sort(machines.begin(), machines.end(),
                     [](auto* a, auto* b) { return a->name() < b->name(); });
  for (auto* m : machines) {
    if (running_only && !env.reg.is_running(m->uuid()))
      continue;
    if (long_form) {
      print_vm_info(env, *m, false); // ends with a blank line
    } else {
      env.print("\"" + m->name() + "\" {" + plain_uuid(m->uuid()) + "}\n");
    }
  }
  if (running_only)
    return;
  for (auto& [entry, why] : env.reg.inaccessible())
    env.print("\"<inaccessible>\" {" + plain_uuid(entry.uuid) + "}\n");
}

void list_ostypes(cmd_env& env, bool long_form) {
  for (auto& t : ostypes()) {
    env.print("ID:          " + t.id + "\n");
    env.print("Description: " + t.description + "\n");
    env.print("Family ID:   " + t.family_id + "\n");
    env.print("Family Desc: " + t.family_description + "\n");
    env.print(std::string{"64 bit:      "} + (t.is_64bit ? "true" : "false")
              + "\n");
    if (long_form) {
      env.print("Memory:      " + std::to_string(t.ram_mb) + " MB\n");
      env.print("VRAM:        " + std::to_string(t.vram_mb) + " MB\n");
      env.print("Disk:        " + std::to_string(t.disk_mb) + " MB\n");
      env.print("NIC type:    " + t.nic_type + "\n");
      env.print("Storage:     " + t.hd_controller + " (" + t.hd_bus + ")\n");
    }
    env.print("\n");
  }
}

std::string label(std::string_view l) {
  std::string s{l};
  s.resize(16, ' ');
  return s;
}

// "In use by VMs:" followed by one "name (UUID: uuid)" per user.
std::string users_text(cmd_env& env, const std::string& uuid) {
  std::string s;
  for (auto* m : medium_users(env.reg, uuid)) {
    s += s.empty() ? label("In use by VMs:") : label("");
    s += m->name() + " (UUID: " + plain_uuid(m->uuid()) + ")\n";
  }
  return s;
}

// Differencing disks are nested HardDisk elements; maps child -> parent.
void collect_parents(const settings::xml_node& disks, const std::string& parent,
                     std::map<std::string, std::string>& out) {
  for (auto* d : disks.children("HardDisk")) {
    auto id = d->attr_or("uuid", "");
    if (!parent.empty())
      out[id] = parent;
    collect_parents(*d, id, out);
  }
}

std::map<std::string, std::string> disk_parents(cmd_env& env) {
  std::map<std::string, std::string> parents;
  for (auto* m : env.reg.machines())
    if (auto* mr = m->machine_node().child("MediaRegistry"))
      if (auto* hd = mr->child("HardDisks"))
        collect_parents(*hd, "", parents);
  return parents;
}

void list_media(cmd_env& env, std::string_view kind) {
  bool first = true;
  auto parents = disk_parents(env);
  for (auto& med : all_media(env.reg)) {
    if (med.entry.kind != kind)
      continue;
    if (!first)
      env.print("\n");
    first = false;
    std::error_code ec;
    bool exists = fs::exists(med.path, ec);
    auto size = exists ? fs::file_size(med.path, ec) : 0;
    if (ec)
      size = 0;
    if (exists && med.entry.format == "VDI")
      if (auto info = storage::probe_medium(med.path))
        size = info->logical_size;
    env.print(label("UUID:") + plain_uuid(med.entry.uuid) + "\n");
    auto parent = parents.find(med.entry.uuid);
    bool diff = parent != parents.end();
    if (kind == "HardDisk")
      env.print(label("Parent UUID:")
                + (diff ? plain_uuid(parent->second) : std::string{"base"})
                + "\n");
    env.print(label("State:") + (exists ? "created" : "inaccessible") + "\n");
    if (kind == "HardDisk")
      env.print(label("Type:")
                + lower(med.entry.type.empty() ? "normal" : med.entry.type)
                + (diff ? " (differencing)\n" : " (base)\n"));
    env.print(label("Location:") + med.path + "\n");
    env.print(label("Storage format:")
              + (med.entry.format.empty() ? "RAW" : med.entry.format) + "\n");
    env.print(label("Capacity:") + std::to_string(size >> 20) + " MBytes\n");
    env.print(label("Encryption:") + "disabled\n");
    env.print(users_text(env, med.entry.uuid));
  }
}

void list_systemproperties(cmd_env& env) {
  auto props = env.reg.global().properties();
  auto row = [&](std::string_view l, const std::string& v) {
    std::string s{l};
    if (s.size() < 32)
      s.resize(32, ' ');
    env.print(s + " " + v + "\n");
  };
  row("API version:", "7_0");
  row("Minimum guest RAM size:", "4 Megabytes");
  row("Maximum guest RAM size:", "2097152 Megabytes");
  row("Minimum video RAM size:", "0 Megabytes");
  row("Maximum video RAM size:", "256 Megabytes");
  row("Maximum guest monitor count:", "64");
  row("Minimum guest CPU count:", "1");
  row("Maximum guest CPU count:", "64");
  row("Virtual disk limit (info):", "4503599627370496 Bytes");
  row("Maximum Serial Port count:", "4");
  row("Maximum Parallel Port count:", "2");
  row("Maximum Boot Position:", "4");
  row("Maximum PIIX3 Network Adapter count:", "8");
  row("Maximum ICH9 Network Adapter count:", "36");
  row("Maximum PIIX3 IDE Controllers:", "1");
  row("Maximum PIIX3 SATA Controllers:", "1");
  row("Maximum PIIX3 Floppy Controllers:", "1");
  row("Default machine folder:", env.reg.global().machine_folder());
  row("Raw-mode Supported:", "no");
  row("Exclusive HW virtualization use:", "on");
  row("Default hard disk format:", props.default_hard_disk_format.empty()
                                       ? "VDI"
                                       : props.default_hard_disk_format);
  row("VRDE auth library:",
      props.vrde_auth_library.empty() ? "VBoxAuth" : props.vrde_auth_library);
  row("Webservice auth. library:", "VBoxAuth");
  row("Remote desktop ExtPack:", "");
  row("Log history count:", std::to_string(props.log_history_count));
  row("Default frontend:", "");
  row("Autostart database path:", "");
  row("Default Guest Additions ISO:", "");
  row("Logging Level:", "");
  row("Proxy Mode:", "System");
  row("Proxy URL:", "");
}

} // namespace

int cmd_list(cmd_env& env, const cmd_args& args) {
  static const std::vector<option_spec> specs{
      {"long", 0}, {"l", 0}, {"sorted", 0}, {"s", 0}};
  auto p = parse_args(args, specs);
  if (!p.error.empty())
    return env.syntax(p.error, usage);
  if (p.positional.size() != 1)
    return env.syntax("Expected exactly one list", usage);
  bool long_form = p.has("long") || p.has("l");
  bool sorted = p.has("sorted") || p.has("s");
  auto what = lower(p.positional[0]);
  if (what == "vms")
    list_vms(env, false, long_form, sorted);
  else if (what == "runningvms")
    list_vms(env, true, long_form, sorted);
  else if (what == "ostypes")
    list_ostypes(env, long_form);
  else if (what == "hdds")
    list_media(env, "HardDisk");
  else if (what == "dvds")
    list_media(env, "DVD");
  else if (what == "floppies")
    list_media(env, "Floppy");
  else if (what == "systemproperties")
    list_systemproperties(env);
  else
    return env.fail("list '" + p.positional[0]
                    + "' is not supported by telebox (vms, runningvms, "
                      "ostypes, hdds, dvds, floppies, systemproperties)");
  return 0;
}

} // namespace tb::cluster
