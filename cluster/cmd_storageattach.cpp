// storageattach: attach, change or remove a medium in a controller slot.
// A file given by name joins the machine's media registry automatically.
#include <filesystem>
#include <system_error>

#include "actors/error_text.hpp"
#include "cluster/cmd_storage.hpp"
#include "cluster/cmd_verbs.hpp"
#include "settings/paths.hpp"
#include "storage/medium_create.hpp"

namespace fs = std::filesystem;

namespace tb::cluster {

namespace {

constexpr const char* usage =
    "storageattach <uuid|vmname> --storagectl <name> --port <number> "
    "[--device <number>] [--type dvddrive|hdd|fdd] "
    "[--medium none|emptydrive|<uuid>|<filename>|host:<drive>] "
    "[--mtype normal|writethrough|immutable|shareable|readonly|multiattach] "
    "[--nonrotational on|off] [--discard on|off] [--hotpluggable on|off] "
    "[--passthrough on|off] [--tempeject on|off]";

std::string device_type(std::string_view t) {
  auto v = lower(t);
  if (v == "hdd")
    return "HardDisk";
  if (v == "dvddrive")
    return "DVD";
  if (v == "fdd")
    return "Floppy";
  return "";
}

std::string medium_type(std::string_view t) {
  static const char* types[] = {"Normal",    "Writethrough", "Immutable",
                                "Shareable", "Readonly",     "MultiAttach"};
  for (auto* x : types)
    if (lower(x) == lower(t))
      return x;
  return "";
}

struct attach_request {
  settings::storage_controller* ctl = nullptr;
  int32_t port = 0, device = 0;
  std::string type; // HardDisk | DVD | Floppy
};

// The medium to attach: an existing registration or a new entry.
struct medium_choice {
  settings::medium_entry entry;
  std::string path;
  bool from_global = false;
  bool is_new = false;
};

// Resolves --medium <uuid|file> for a device of `type`; "" or an error.
std::string choose_medium(cmd_env& env, const std::string& value,
                          const std::string& type, medium_choice& out) {
  if (auto uid = storage::uuid::parse(value)) {
    auto med = find_medium(env.reg, uid->to_braced());
    if (!med)
      return "Could not find a registered medium with UUID " + uid->to_string();
    if (med->entry.kind != type)
      return "Medium " + med->path + " is a " + med->entry.kind
             + " medium, not " + type;
    out = {med->entry, med->path, med->owner == nullptr, false};
    return "";
  }
  auto path = client_path(env, value);
  if (auto med = find_medium(env.reg, path)) {
    if (med->entry.kind != type)
      return "Medium " + med->path + " is registered as " + med->entry.kind
             + ", not " + type;
    out = {med->entry, med->path, med->owner == nullptr, false};
    return "";
  }
  auto info = storage::probe_medium(path);
  if (!info)
    return "Could not open the medium '" + path
           + "': " + error_text(info.error());
  bool vdi = info->format == storage::medium_format::vdi;
  bool iso = info->format == storage::medium_format::iso;
  if (type == "HardDisk" && iso)
    return "'" + path + "' is an ISO image; attach it with --type dvddrive";
  if (type != "HardDisk" && vdi)
    return "'" + path
           + "' is a VDI hard disk image; attach it with "
             "--type hdd";
  auto id = info->id.is_null() ? storage::uuid::random() : info->id;
  if (auto clash = find_medium(env.reg, id.to_braced()))
    return "Cannot register '" + path + "': a medium with the same UUID "
           + id.to_string() + " is already registered (" + clash->path + ")";
  out.entry.kind = type;
  out.entry.uuid = id.to_braced();
  out.entry.location = path;
  out.entry.format = vdi ? "VDI" : "RAW";
  out.path = path;
  out.is_new = true;
  return "";
}

settings::attached_device* slot(settings::storage_controller& c, int32_t port,
                                int32_t device) {
  for (auto& d : c.devices)
    if (d.port == port && d.device == device)
      return &d;
  return nullptr;
}

// Parses the on/off flags onto `d`; "" or an error.
std::string apply_flags(const parsed_args& p, settings::attached_device& d) {
  for (auto [opt, field] : {std::pair{"nonrotational", &d.nonrotational},
                            std::pair{"discard", &d.discard},
                            std::pair{"hotpluggable", &d.hotpluggable},
                            std::pair{"passthrough", &d.passthrough},
                            std::pair{"tempeject", &d.temp_eject}})
    if (auto* o = p.last(opt))
      if (!parse_on_off(o->value(), *field))
        return "Invalid --" + std::string{opt} + " value '" + o->value()
               + "' (on or off)";
  return "";
}

// Checks that a normal hard disk is not attached anywhere else.
std::string check_exclusive(cmd_env& env, const medium_choice& mc,
                            const settings::machine_config& m,
                            const attach_request& rq) {
  auto t = lower(mc.entry.type);
  if (mc.entry.kind != "HardDisk" || mc.is_new
      || (t != "normal" && t != "writethrough"))
    return "";
  for (auto* user : medium_users(env.reg, mc.entry.uuid)) {
    if (user->uuid() != m.uuid())
      return "Medium '" + mc.path + "' is already attached to virtual machine '"
             + user->name() + "'";
    for (auto& c : user->hardware().storage)
      for (auto& d : c.devices)
        if (plain_uuid(d.image_uuid) == plain_uuid(mc.entry.uuid)
            && !(c.name == rq.ctl->name && d.port == rq.port
                 && d.device == rq.device))
          return "Medium '" + mc.path + "' is already attached to port "
                 + std::to_string(d.port) + ", device "
                 + std::to_string(d.device) + " of controller '" + c.name + "'";
  }
  return "";
}

// Fills `rq` from --storagectl/--port/--device; "" or an error.
std::string locate(const parsed_args& p, settings::hardware_settings& hw,
                   attach_request& rq) {
  auto* ctl = p.last("storagectl");
  for (auto& c : hw.storage)
    if (c.name == ctl->value())
      rq.ctl = &c;
  if (!rq.ctl)
    return "Could not find a storage controller named '" + ctl->value() + "'";
  auto* k = kind_by_xml(rq.ctl->type);
  uint32_t max_ports = k ? k->max_ports : rq.ctl->port_count;
  uint32_t per_port = k ? k->devices_per_port : 1;
  uint64_t n = 0;
  if (!parse_uint(p.last("port")->value(), 0, max_ports - 1, n))
    return "The port number '" + p.last("port")->value()
           + "' is out of range [0.." + std::to_string(max_ports - 1)
           + "] for controller '" + rq.ctl->name + "'";
  rq.port = static_cast<int32_t>(n);
  if (auto* d = p.last("device")) {
    if (!parse_uint(d->value(), 0, per_port - 1, n))
      return "The device number '" + d->value() + "' is out of range [0.."
             + std::to_string(per_port - 1) + "] for controller '"
             + rq.ctl->name + "'";
    rq.device = static_cast<int32_t>(n);
  }
  return "";
}

} // namespace

int cmd_storageattach(cmd_env& env, const cmd_args& args) {
  static const std::vector<option_spec> specs{
      {"storagectl"},   {"port"},        {"device"},        {"type"},
      {"medium"},       {"mtype"},       {"nonrotational"}, {"discard"},
      {"hotpluggable"}, {"passthrough"}, {"tempeject"},     {"comment"}};
  auto p = parse_args(args, specs);
  if (!p.error.empty())
    return env.syntax(p.error, usage);
  if (p.positional.size() != 1)
    return env.syntax("Expected exactly one machine", usage);
  if (!p.has("storagectl") || !p.has("port"))
    return env.syntax("Parameters --storagectl and --port are required", usage);
  if (p.has("comment"))
    return env.fail("--comment is not supported by telebox");
  auto* m = find_vm(env, p.positional[0]);
  if (!m)
    return 1;
  if (hardware_locked(env.reg, *m))
    return refuse_running(env, *m, "Storage attachments");
  auto edited = clone_machine(*m);
  if (!edited)
    return env.fail(error_text(edited.error()));
  auto hw = edited->hardware();
  attach_request rq;
  if (auto msg = locate(p, hw, rq); !msg.empty())
    return env.fail(msg);
  auto* existing = slot(*rq.ctl, rq.port, rq.device);
  if (auto* t = p.last("type")) {
    rq.type = device_type(t->value());
    if (rq.type.empty())
      return env.fail("Invalid --type '" + t->value()
                      + "' (hdd, dvddrive or fdd)");
  } else if (existing) {
    rq.type = existing->type;
  }
  bool floppy_ctl = rq.ctl->type == "I82078";
  if (!rq.type.empty() && (rq.type == "Floppy") != floppy_ctl)
    return env.fail(floppy_ctl ? "Only floppy drives (--type fdd) attach to "
                                 "a floppy controller"
                               : "Floppy drives need a floppy controller");
  std::string mtype;
  if (auto* o = p.last("mtype")) {
    mtype = medium_type(o->value());
    if (mtype.empty())
      return env.fail("Invalid --mtype '" + o->value() + "'");
  }

  settings::attached_device dev;
  if (existing)
    dev = *existing;
  dev.port = rq.port;
  dev.device = rq.device;
  std::optional<medium_choice> chosen;
  auto* med_opt = p.last("medium");
  std::string value = med_opt ? med_opt->value() : "";
  auto lv = lower(value);
  if (!med_opt) {
    if (!existing)
      return env.fail("No device attached to port " + std::to_string(rq.port)
                      + ", device " + std::to_string(rq.device)
                      + " of controller '" + rq.ctl->name + "'; give --medium");
  } else if (lv == "none") {
    if (!existing)
      return env.fail("No storage device attached to device slot "
                      + std::to_string(rq.device) + " on port "
                      + std::to_string(rq.port) + " of controller '"
                      + rq.ctl->name + "'");
    std::erase_if(rq.ctl->devices, [&](auto& d) {
      return d.port == rq.port && d.device == rq.device;
    });
  } else if (rq.type.empty()) {
    return env.syntax("Parameter --type is required for an empty slot", usage);
  } else if (lv == "emptydrive" || lv.rfind("host:", 0) == 0) {
    if (rq.type == "HardDisk")
      return env.fail("--medium " + value + " needs --type dvddrive or fdd");
    dev.type = rq.type;
    dev.image_uuid.clear();
    dev.host_drive = lv == "emptydrive" ? "" : value.substr(5);
  } else if (lv == "additions") {
    return env.fail("--medium additions is not supported: telebox ships no "
                    "Guest Additions image");
  } else {
    medium_choice mc;
    if (auto msg = choose_medium(env, value, rq.type, mc); !msg.empty())
      return env.fail(msg);
    if (auto msg = check_exclusive(env, mc, *m, rq); !msg.empty())
      return env.fail(msg);
    dev.type = rq.type;
    dev.image_uuid = mc.entry.uuid;
    dev.host_drive.clear();
    chosen = mc;
  }
  if (med_opt && lv != "none") {
    if (auto msg = apply_flags(p, dev); !msg.empty())
      return env.fail(msg);
    std::erase_if(rq.ctl->devices, [&](auto& d) {
      return d.port == rq.port && d.device == rq.device;
    });
    if (rq.port >= static_cast<int32_t>(rq.ctl->port_count))
      rq.ctl->port_count = static_cast<uint32_t>(rq.port) + 1;
    rq.ctl->devices.push_back(dev);
  } else if (!med_opt) {
    if (auto msg = apply_flags(p, *existing); !msg.empty())
      return env.fail(msg);
  }
  edited->set_hardware(hw);

  bool global_changed = false;
  if (chosen) {
    auto entry = chosen->entry;
    if (!mtype.empty())
      entry.type = mtype;
    entry.location = settings::relative_if_inside(chosen->path, m->folder());
    if (chosen->from_global) {
      env.reg.global().remove_medium(entry.uuid);
      global_changed = true;
    }
    bool in_this = false;
    for (auto& e : m->media())
      in_this = in_this || e.uuid == entry.uuid;
    // Every machine lists the media it uses, so its file stands alone.
    if (!in_this || !mtype.empty())
      edited->add_medium(entry);
  } else if (!mtype.empty()) {
    return env.fail("--mtype needs a medium to apply to");
  }
  if (auto err = commit_machine(*m, std::move(*edited))) {
    if (global_changed)
      env.reg.global().add_medium(chosen->entry);
    return env.fail(error_text(err));
  }
  if (global_changed)
    if (auto err = env.reg.global().save())
      return env.fail("Attached, but the global media registry could not be "
                      "updated: "
                      + error_text(err));
  env.event("settings", m, "storage");
  return 0;
}

} // namespace tb::cluster
