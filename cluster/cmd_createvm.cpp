// createvm, registervm, unregistervm.
#include <filesystem>
#include <system_error>

#include "actors/error_text.hpp"
#include "cluster/cmd_storage.hpp"
#include "cluster/cmd_verbs.hpp"
#include "cluster/ostypes.hpp"
#include "settings/paths.hpp"
#include "storage/uuid.hpp"

namespace fs = std::filesystem;

namespace tb::cluster {

namespace {

constexpr const char* createvm_usage =
    "createvm --name <name> [--groups <group>, ...] [--ostype <ostype>] "
    "[--register] [--basefolder <path>] [--uuid <uuid>] [--default]";

void add_controller(settings::hardware_settings& hw, std::string_view bus) {
  auto* k = kind_by_cli(bus) ? kind_by_cli(bus) : kind_by_bus(bus);
  if (!k)
    return;
  for (auto& c : hw.storage)
    if (c.name == k->bus_label)
      return;
  settings::storage_controller c;
  c.name = std::string{k->bus_label};
  c.type = std::string{k->xml_type};
  c.port_count = k->default_ports;
  hw.storage.push_back(std::move(c));
}

// --ostype: the recommended hardware (RAM, VRAM, graphics, NIC type, CPU
// features). --default also adds the recommended controllers, an empty DVD
// drive and USB, as VirtualBox's applyDefaults does.
void apply_os_defaults(settings::hardware_settings& hw, const os_type& t,
                       bool full) {
  hw.memory_mb = t.ram_mb;
  hw.vram_mb = t.vram_mb;
  hw.cpus = t.cpus;
  hw.graphics = t.graphics;
  hw.long_mode = t.is_64bit;
  hw.ioapic = t.has_hint("ioapic") || t.cpus > 1;
  if (t.has_hint("pae"))
    hw.pae = true;
  hw.rtc_utc = t.has_hint("rtcutc");
  hw.hpet = t.has_hint("hpet");
  hw.firmware = t.firmware;
  hw.chipset = t.chipset;
  for (auto& n : hw.nics)
    n.type = t.nic_type;
  if (!full)
    return;
  const auto* hd = kind_by_cli(t.hd_controller);
  const auto* dvd = kind_by_cli(t.dvd_controller);
  if (hd)
    add_controller(hw, hd->cli_name);
  if (dvd)
    add_controller(hw, dvd->cli_name);
  if (dvd)
    for (auto& c : hw.storage)
      if (c.name == dvd->bus_label) {
        settings::attached_device d;
        d.type = "DVD";
        d.port = 1;
        d.device = 0;
        if (d.port >= static_cast<int32_t>(c.port_count))
          c.port_count = static_cast<uint32_t>(d.port) + 1;
        c.devices.push_back(d);
      }
  if (t.has_hint("floppy"))
    add_controller(hw, "floppy");
  if (!t.has_hint("nousb")) {
    hw.usb_controllers = t.has_hint("usb3")
                             ? std::vector<std::string>{"XHCI"}
                             : std::vector<std::string>{"OHCI", "EHCI"};
    if (t.has_hint("usbtablet"))
      hw.pointing = "USBTablet";
  }
}

bool valid_group(const std::string& g) {
  if (g.empty() || g[0] != '/' || g.find("//") != std::string::npos)
    return false;
  return g.size() == 1 || g.back() != '/';
}

} // namespace

int cmd_createvm(cmd_env& env, const cmd_args& args) {
  static const std::vector<option_spec> specs{
      {"name"},       {"groups"}, {"ostype"},    {"register", 0},
      {"basefolder"}, {"uuid"},   {"default", 0}};
  auto p = parse_args(args, specs);
  if (!p.error.empty())
    return env.syntax(p.error, createvm_usage);
  if (!p.positional.empty())
    return env.syntax("Invalid parameter '" + p.positional[0] + "'",
                      createvm_usage);
  auto* name_opt = p.last("name");
  if (!name_opt || name_opt->value().empty())
    return env.syntax("Parameter --name is required", createvm_usage);
  const std::string name = name_opt->value();
  if (name.find_first_not_of(" \t") == std::string::npos)
    return env.fail("The machine name must not be blank");

  const os_type* os = nullptr;
  if (auto* o = p.last("ostype")) {
    os = find_ostype(o->value());
    if (!os)
      return env.fail(
          "Guest OS type '" + o->value() + "' is invalid"
          + (ostypes_error().empty() ? "" : " (" + ostypes_error() + ")"));
  }
  if (p.has("default") && !os)
    os = find_ostype("Other");

  storage::uuid id = storage::uuid::random();
  if (auto* u = p.last("uuid")) {
    auto parsed = storage::uuid::parse(u->value());
    if (!parsed || parsed->is_null())
      return env.fail("Invalid UUID format '" + u->value() + "'");
    id = *parsed;
  }
  if (env.reg.find(id.to_braced()))
    return env.fail("A machine with UUID " + id.to_string()
                    + " is already registered");
  if (env.reg.find(name))
    return env.fail("A machine named '" + name + "' is already registered");

  // The first group is also the sub-folder of the machine folder.
  std::vector<std::string> groups;
  std::string group;
  if (auto* g = p.last("groups")) {
    size_t pos = 0;
    while (pos <= g->value().size()) {
      auto comma = g->value().find(',', pos);
      auto one = g->value().substr(
          pos, comma == std::string::npos ? std::string::npos : comma - pos);
      if (!valid_group(one))
        return env.fail("Invalid machine group '" + one
                        + "' (groups start with '/', e.g. /servers)");
      groups.push_back(one);
      if (comma == std::string::npos)
        break;
      pos = comma + 1;
    }
    group = groups.front() == "/" ? "" : groups.front();
  }
  std::string base = p.has("basefolder")
                         ? client_path(env, p.last("basefolder")->value())
                         : env.reg.global().machine_folder();
  auto path = settings::compose_machine_file(base + group, name);
  std::error_code ec;
  if (fs::exists(path, ec))
    return env.fail("Machine settings file '" + path + "' already exists");

  auto cfg = settings::machine_config::create(path, name, id.to_braced(),
                                              os ? os->id : "");
  auto hw = cfg.hardware();
  if (hw.nics.empty()) {
    settings::nic_settings n;
    n.slot = 0;
    n.enabled = true;
    n.attachment = "NAT";
    hw.nics.push_back(n);
  }
  for (auto& n : hw.nics)
    if (n.mac.empty())
      n.mac = random_mac();
  if (os)
    apply_os_defaults(hw, *os, p.has("default"));
  cfg.set_hardware(hw);
  if (!groups.empty() && !(groups.size() == 1 && groups[0] == "/")) {
    auto& node = cfg.machine_node().ensure_child("Groups");
    node.remove_children("Group");
    for (auto& one : groups)
      node.append_child("Group").set_attr("name", one);
  }

  auto folder = fs::path(path).parent_path();
  bool made_folder = !fs::exists(folder, ec);
  fs::create_directories(folder, ec);
  if (ec)
    return env.fail("Cannot create the machine folder '" + folder.string()
                    + "': " + ec.message());
  auto cleanup = [&] {
    std::error_code ignore;
    for (auto suffix : {"", "-prev", "-tmp"})
      fs::remove(path + suffix, ignore);
    if (made_folder)
      fs::remove(folder, ignore);
  };
  if (auto err = cfg.save()) {
    cleanup();
    return env.fail("Cannot write '" + path + "': " + error_text(err));
  }
  bool reg = p.has("register");
  if (reg) {
    auto saved_uuid = cfg.uuid();
    if (auto err = env.reg.add(std::move(cfg))) {
      cleanup();
      return env.fail(error_text(err));
    }
    env.event("registered", env.reg.find(saved_uuid), "created");
  }
  env.print("Virtual machine '" + name + "' is created"
            + (reg ? " and registered" : "") + ".\n");
  env.print("UUID: " + id.to_string() + "\n");
  env.print("Settings file: '" + path + "'\n");
  return 0;
}

int cmd_registervm(cmd_env& env, const cmd_args& args) {
  constexpr const char* usage = "registervm <filename>";
  auto p = parse_args(args, {});
  if (!p.error.empty())
    return env.syntax(p.error, usage);
  if (p.positional.size() != 1)
    return env.syntax("Expected exactly one settings file", usage);
  auto path = client_path(env, p.positional[0]);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return env.fail("Could not find file for the machine settings '" + path
                    + "'");
  auto cfg = settings::machine_config::load(path);
  if (!cfg)
    return env.fail("Cannot register '" + path
                    + "': " + error_text(cfg.error()));
  auto id = cfg->uuid();
  if (auto err = env.reg.add(std::move(*cfg)))
    return env.fail(error_text(err));
  env.event("registered", env.reg.find(id), "registervm");
  return 0;
}

namespace {

// Hard disks attached to `m` and to no other machine; with `all`, also
// DVD/floppy images inside its folder used only by it.
std::vector<medium_ref>
owned_media(registry& reg, const settings::machine_config& m, bool all) {
  std::vector<medium_ref> r;
  auto folder = fs::path(m.folder()).lexically_normal().string();
  for (auto& c : m.hardware().storage)
    for (auto& d : c.devices) {
      if (d.image_uuid.empty())
        continue;
      auto med = find_medium(reg, d.image_uuid);
      if (!med)
        continue;
      bool inside = med->path.compare(0, folder.size() + 1, folder + "/") == 0;
      if (med->entry.kind != "HardDisk" && !(all && inside))
        continue;
      auto users = medium_users(reg, med->entry.uuid);
      if (users.size() == 1 && users[0] == &m) {
        bool dup = false;
        for (auto& x : r)
          dup = dup || x.entry.uuid == med->entry.uuid;
        if (!dup)
          r.push_back(*med);
      }
    }
  return r;
}

void delete_machine_files(const std::string& path,
                          const std::vector<std::string>& disks) {
  std::error_code ec;
  for (auto& d : disks)
    fs::remove(d, ec);
  for (auto suffix : {"", "-prev", "-tmp"})
    fs::remove(path + suffix, ec);
  auto folder = fs::path(path).parent_path();
  auto logs = folder / "Logs";
  if (fs::is_directory(logs, ec)) {
    for (auto& e : fs::directory_iterator(logs, ec)) {
      auto n = e.path().filename().string();
      if (n.rfind("VBox.log", 0) == 0 || n.rfind("VBoxHardening.log", 0) == 0)
        fs::remove(e.path(), ec);
    }
    fs::remove(logs, ec); // only when now empty
  }
  fs::remove(folder / "Snapshots", ec);
  fs::remove(folder, ec);
}

} // namespace

int cmd_unregistervm(cmd_env& env, const cmd_args& args) {
  constexpr const char* usage =
      "unregistervm <uuid|vmname> [--delete] [--delete-all]";
  static const std::vector<option_spec> specs{{"delete", 0}, {"deleteall", 0}};
  auto p = parse_args(args, specs);
  if (!p.error.empty())
    return env.syntax(p.error, usage);
  if (p.positional.size() != 1)
    return env.syntax("Expected exactly one machine", usage);
  const auto& key = p.positional[0];
  auto* m = env.reg.find(key);
  if (!m) {
    for (auto& [entry, why] : env.reg.inaccessible())
      if (plain_uuid(entry.uuid) == plain_uuid(key)) {
        if (auto err = env.reg.remove(entry.uuid))
          return env.fail(error_text(err));
        env.out.events.push_back(
            {"unregistered", plain_uuid(entry.uuid), "", "inaccessible"});
        return 0;
      }
    return env.fail("Could not find a registered machine named '" + key + "'");
  }
  if (env.reg.is_running(m->uuid()))
    return env.fail("Cannot unregister the machine '" + m->name()
                    + "' while it is "
                    + state_human(env.reg.state(m->uuid()).state));
  bool del = p.has("delete") || p.has("deleteall");
  std::vector<medium_ref> media;
  if (del)
    media = owned_media(env.reg, *m, p.has("deleteall"));
  auto path = m->path();
  host::host_event ev{"unregistered", plain_uuid(m->uuid()), m->name(),
                      del ? "deleted" : ""};
  if (auto err = env.reg.remove(m->uuid()))
    return env.fail(error_text(err));
  env.out.events.push_back(ev);
  if (!del)
    return 0;
  std::vector<std::string> files;
  bool global_changed = false;
  for (auto& med : media) {
    files.push_back(med.path);
    if (!med.owner) {
      env.reg.global().remove_medium(med.entry.uuid);
      global_changed = true;
    }
  }
  if (global_changed)
    if (auto err = env.reg.global().save())
      env.fail("Could not update the global media registry: "
               + error_text(err));
  delete_machine_files(path, files);
  env.progress(progress_line());
  if (!files.empty())
    env.event("media", nullptr, "deleted");
  return 0;
}

} // namespace tb::cluster
