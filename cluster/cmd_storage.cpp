// Storage controller kinds, and the storagectl and storageattach verbs.
#include "cluster/cmd_storage.hpp"

#include <filesystem>
#include <system_error>

#include "actors/error_text.hpp"
#include "cluster/cmd_verbs.hpp"
#include "settings/paths.hpp"
#include "storage/medium_create.hpp"

namespace fs = std::filesystem;

namespace tb::cluster {

namespace {

// First entry per bus is that bus's default controller.
constexpr controller_kind kinds[] = {
    {"PIIX4", "PIIX4", "ide", "IDE", 2, 2, 2, 2},
    {"PIIX3", "PIIX3", "ide", "IDE", 2, 2, 2, 2},
    {"ICH6", "ICH6", "ide", "IDE", 2, 2, 2, 2},
    {"AHCI", "IntelAhci", "sata", "SATA", 1, 30, 30, 1},
    {"LsiLogic", "LSILogic", "scsi", "SCSI", 16, 16, 16, 1},
    {"BusLogic", "BusLogic", "scsi", "SCSI", 16, 16, 16, 1},
    {"LsiLogicSas", "LSILogicSAS", "sas", "SAS", 1, 255, 8, 1},
    {"I82078", "I82078", "floppy", "Floppy", 1, 1, 1, 2},
    {"USB", "USB", "usb", "USB", 8, 8, 8, 1},
    {"NVMe", "NVMe", "pcie", "NVMe", 1, 255, 1, 1},
    {"VirtioSCSI", "VirtIO", "virtio", "VirtIO", 1, 256, 1, 1},
};

} // namespace

const controller_kind* kind_by_xml(std::string_view xml_type) {
  for (auto& k : kinds)
    if (lower(k.xml_type) == lower(xml_type))
      return &k;
  return nullptr;
}

const controller_kind* kind_by_cli(std::string_view cli_name) {
  for (auto& k : kinds)
    if (lower(k.cli_name) == lower(cli_name))
      return &k;
  return nullptr;
}

const controller_kind* kind_by_bus(std::string_view bus) {
  for (auto& k : kinds)
    if (k.bus == lower(bus))
      return &k;
  return nullptr;
}

namespace {

constexpr const char* storagectl_usage =
    "storagectl <uuid|vmname> --name <name> "
    "[--add ide|sata|scsi|sas|floppy|usb|pcie|virtio] "
    "[--controller PIIX3|PIIX4|ICH6|IntelAhci|LSILogic|LSILogicSAS|BusLogic|"
    "I82078|NVMe|USB|VirtIO] [--portcount <n>] [--hostiocache on|off] "
    "[--bootable on|off] [--rename <name>] [--remove]";

settings::storage_controller* find_ctl(settings::hardware_settings& hw,
                                       const std::string& name) {
  for (auto& c : hw.storage)
    if (c.name == name)
      return &c;
  return nullptr;
}

uint32_t max_instances(const settings::hardware_settings& hw,
                       const controller_kind& k) {
  if (k.bus == "ide" || k.bus == "floppy")
    return 1;
  return hw.chipset == "ICH9" ? 8 : 1;
}

// Applies --controller/--portcount/--hostiocache/--bootable/--rename to `c`;
// returns an error message or "".
std::string edit_controller(const parsed_args& p,
                            settings::hardware_settings& hw,
                            settings::storage_controller& c) {
  if (auto* o = p.last("controller")) {
    auto* k = kind_by_cli(o->value());
    auto* cur = kind_by_xml(c.type);
    if (!k)
      return "Invalid --controller type '" + o->value() + "'";
    if (cur && k->bus != cur->bus)
      return "Controller type " + o->value() + " does not fit the "
             + std::string{cur->bus} + " bus of controller '" + c.name + "'";
    c.type = std::string{k->xml_type};
  }
  auto* k = kind_by_xml(c.type);
  if (auto* o = p.last("portcount")) {
    uint64_t n = 0;
    if (!k)
      return "Controller '" + c.name + "' has an unknown type " + c.type;
    if (!parse_uint(o->value(), k->min_ports, k->max_ports, n))
      return "Invalid --portcount '" + o->value() + "' for a " + c.type
             + " controller (allowed: " + std::to_string(k->min_ports) + ".."
             + std::to_string(k->max_ports) + ")";
    for (auto& d : c.devices)
      if (d.port >= static_cast<int32_t>(n))
        return "Cannot reduce the port count of '" + c.name + "' to "
               + std::to_string(n) + ": port " + std::to_string(d.port)
               + " has a device attached";
    c.port_count = static_cast<uint32_t>(n);
  }
  for (auto [opt, field] : {std::pair{"hostiocache", &c.use_host_io_cache},
                            std::pair{"bootable", &c.bootable}}) {
    if (auto* o = p.last(opt))
      if (!parse_on_off(o->value(), *field))
        return "Invalid --" + std::string{opt} + " value '" + o->value()
               + "' (on or off)";
  }
  if (auto* o = p.last("rename")) {
    if (o->value().empty())
      return "The new controller name must not be empty";
    if (find_ctl(hw, o->value()))
      return "A storage controller named '" + o->value() + "' already exists";
    c.name = o->value();
  }
  return "";
}

} // namespace

int cmd_storagectl(cmd_env& env, const cmd_args& args) {
  static const std::vector<option_spec> specs{
      {"name"},      {"add"},           {"controller"},
      {"portcount"}, {"sataportcount"}, {"hostiocache"},
      {"bootable"},  {"rename"},        {"remove", 0}};
  static const std::vector<option_alias> aliases{
      {"sataportcount", "portcount"}};
  auto p = parse_args(args, specs, aliases);
  if (!p.error.empty())
    return env.syntax(p.error, storagectl_usage);
  if (p.positional.size() != 1)
    return env.syntax("Expected exactly one machine", storagectl_usage);
  auto* name = p.last("name");
  if (!name || name->value().empty())
    return env.syntax("Parameter --name is required", storagectl_usage);
  auto* m = find_vm(env, p.positional[0]);
  if (!m)
    return 1;
  if (hardware_locked(env.reg, *m))
    return refuse_running(env, *m, "Storage controllers");
  auto edited = clone_machine(*m);
  if (!edited)
    return env.fail(error_text(edited.error()));
  auto hw = edited->hardware();
  auto* c = find_ctl(hw, name->value());
  if (p.has("remove")) {
    if (!c)
      return env.fail("Could not find a storage controller named '"
                      + name->value() + "'");
    std::erase_if(hw.storage, [&](auto& x) { return x.name == name->value(); });
  } else if (auto* add = p.last("add")) {
    auto* k = kind_by_bus(add->value());
    if (!k)
      return env.fail("Invalid --add bus '" + add->value()
                      + "' (ide, sata, scsi, sas, floppy, usb, pcie, virtio)");
    if (c)
      return env.fail("A storage controller named '" + name->value()
                      + "' already exists");
    if (auto* o = p.last("controller")) {
      auto* ck = kind_by_cli(o->value());
      if (!ck)
        return env.fail("Invalid --controller type '" + o->value() + "'");
      if (ck->bus != k->bus)
        return env.fail("Controller type " + o->value() + " does not fit the "
                        + add->value() + " bus");
    }
    uint32_t same_bus = 0;
    for (auto& x : hw.storage)
      if (auto* xk = kind_by_xml(x.type); xk && xk->bus == k->bus)
        ++same_bus;
    if (same_bus >= max_instances(hw, *k))
      return env.fail("Too many " + std::string{k->bus_label}
                      + " controllers: this machine allows "
                      + std::to_string(max_instances(hw, *k)));
    settings::storage_controller nc;
    nc.name = name->value();
    nc.type = std::string{k->xml_type};
    nc.port_count = k->default_ports;
    hw.storage.push_back(nc);
    c = &hw.storage.back();
    if (auto msg = edit_controller(p, hw, *c); !msg.empty())
      return env.fail(msg);
  } else {
    if (!c)
      return env.fail("Could not find a storage controller named '"
                      + name->value() + "'");
    if (auto msg = edit_controller(p, hw, *c); !msg.empty())
      return env.fail(msg);
  }
  edited->set_hardware(hw);
  if (auto err = commit_machine(*m, std::move(*edited)))
    return env.fail(error_text(err));
  env.event("settings", m, "storage");
  return 0;
}

} // namespace tb::cluster
