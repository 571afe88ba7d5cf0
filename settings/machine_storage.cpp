// StorageControllers and the MediaRegistry (virtualbox-compat.md 2.5).
#include <algorithm>
#include <functional>

#include "settings/machine_internal.hpp"

namespace tb::settings::detail {

namespace {

const std::initializer_list<std::string_view> controller_types = {
    "AHCI",   "LsiLogic",    "BusLogic", "PIIX3", "PIIX4",     "ICH6",
    "I82078", "LsiLogicSas", "USB",      "NVMe",  "VirtioSCSI"};

attached_device read_device(const xml_node& d, value_reader& r) {
  attached_device a;
  if (!d.attr("type"))
    r.fail(&d, "type", "missing");
  a.type = r.choice(&d, "type", "HardDisk", {"HardDisk", "DVD", "Floppy"});
  if (!d.attr("port") || !d.attr("device"))
    r.fail(&d, d.attr("port") ? "device" : "port", "missing");
  a.port = r.i32(&d, "port", 0, 0, 65535);
  a.device = r.i32(&d, "device", 0, 0, 65535);
  if (const auto* img = d.child("Image"))
    a.image_uuid = normal_uuid(img->attr_or("uuid", ""));
  if (const auto* host = d.child("HostDrive"))
    a.host_drive = host->attr_or("src", "");
  a.hotpluggable = r.flag(&d, "hotpluggable", false);
  a.nonrotational = r.flag(&d, "nonrotational", false);
  a.discard = r.flag(&d, "discard", false);
  a.passthrough = r.flag(&d, "passthrough", false);
  a.temp_eject = r.flag(&d, "tempeject", false);
  return a;
}

} // namespace

std::vector<storage_controller> read_storage(const xml_node* controllers,
                                             value_reader& r) {
  std::vector<storage_controller> out;
  if (!controllers)
    return out;
  for (const auto* c : controllers->children("StorageController")) {
    storage_controller s;
    if (!c->attr("name") || !c->attr("type"))
      r.fail(c, c->attr("name") ? "type" : "name", "missing");
    s.name = c->attr_or("name", "");
    s.type = r.choice(c, "type", "PIIX4", controller_types);
    s.port_count = r.u32(c, "PortCount", s.port_count, 0, 255);
    s.use_host_io_cache = r.flag(c, "useHostIOCache", true);
    s.bootable = r.flag(c, "Bootable", true);
    for (const auto* d : c->children("AttachedDevice"))
      s.devices.push_back(read_device(*d, r));
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

void write_device(xml_node& d, const attached_device& a) {
  if (a.type == "DVD")
    d.set_attr("passthrough", bool_str(a.passthrough));
  else
    d.remove_attr("passthrough");
  d.set_attr("type", a.type);
  d.set_attr("hotpluggable", bool_str(a.hotpluggable));
  d.set_attr("port", std::to_string(a.port));
  d.set_attr("device", std::to_string(a.device));
  set_or_omit(d, "nonrotational", a.nonrotational, false);
  set_or_omit(d, "discard", a.discard, false);
  set_or_omit(d, "tempeject", a.temp_eject, false);
  d.remove_children("Image");
  d.remove_children("HostDrive");
  if (!a.image_uuid.empty())
    d.append_child("Image").set_attr("uuid", normal_uuid(a.image_uuid));
  else if (!a.host_drive.empty())
    d.append_child("HostDrive").set_attr("src", a.host_drive);
}

void write_controller(xml_node& c, const storage_controller& s) {
  bool fresh = c.attrs().empty();
  c.set_attr("name", s.name);
  c.set_attr("type", s.type);
  c.set_attr("PortCount", std::to_string(s.port_count));
  c.set_attr("useHostIOCache", bool_str(s.use_host_io_cache));
  c.set_attr("Bootable", bool_str(s.bootable));
  if (fresh && s.type == "AHCI") {
    c.set_attr("IDE0MasterEmulationPort", "0");
    c.set_attr("IDE0SlaveEmulationPort", "1");
    c.set_attr("IDE1MasterEmulationPort", "2");
    c.set_attr("IDE1SlaveEmulationPort", "3");
  }
  // Re-append devices in the wanted order, reusing existing elements so
  // attributes telebox does not model (bandwidthGroup, ...) survive.
  std::vector<std::unique_ptr<xml_node>> devices;
  for (const auto& a : s.devices) {
    std::unique_ptr<xml_node> node;
    for (auto* d : c.children("AttachedDevice"))
      if (d->attr_or("port", "") == std::to_string(a.port)
          && d->attr_or("device", "") == std::to_string(a.device)) {
        node = c.take_child(d);
        break;
      }
    if (!node)
      node = std::make_unique<xml_node>("AttachedDevice");
    write_device(*node, a);
    devices.push_back(std::move(node));
  }
  c.remove_children("AttachedDevice");
  for (auto& d : devices)
    c.adopt_child(std::move(d));
}

} // namespace

void write_storage(xml_node& hw, const std::vector<storage_controller>& want) {
  if (want.empty() && !hw.child("StorageControllers"))
    return;
  auto& list = hw.ensure_child("StorageControllers", TB_HARDWARE_ORDER);
  std::vector<std::unique_ptr<xml_node>> kept;
  for (const auto& s : want) {
    std::unique_ptr<xml_node> node;
    for (auto* c : list.children("StorageController"))
      if (c->attr_or("name", "") == s.name) {
        node = list.take_child(c);
        break;
      }
    if (!node)
      node = std::make_unique<xml_node>("StorageController");
    write_controller(*node, s);
    kept.push_back(std::move(node));
  }
  list.remove_children("StorageController");
  for (auto& c : kept)
    list.adopt_child(std::move(c));
  remove_if_empty(hw, "StorageControllers");
}

// --- MediaRegistry ---------------------------------------------------------

namespace {

struct media_kind {
  const char* kind;
  const char* list;
  const char* element;
};

constexpr media_kind media_kinds[] = {{"HardDisk", "HardDisks", "HardDisk"},
                                      {"DVD", "DVDImages", "Image"},
                                      {"Floppy", "FloppyImages", "Image"}};

const media_kind* kind_of(std::string_view kind) {
  for (const auto& k : media_kinds)
    if (iequals(k.kind, kind))
      return &k;
  return nullptr;
}

void collect(const xml_node& n, const media_kind& k, const std::string& parent,
             std::vector<medium_entry>& out) {
  for (const auto* e : n.children(k.element)) {
    medium_entry m;
    m.kind = k.kind;
    m.uuid = normal_uuid(e->attr_or("uuid", ""));
    m.location = e->attr_or("location", "");
    bool disk = m.kind == "HardDisk";
    m.format = e->attr_or("format", disk ? "" : "RAW");
    m.type = m.kind == "DVD" ? "Readonly" : "Normal";
    if (const auto* t = e->attr("type"))
      for (auto known : {"Normal", "Immutable", "Writethrough", "Shareable",
                         "Readonly", "MultiAttach"})
        if (iequals(*t, known))
          m.type = known;
    m.parent_uuid = parent;
    out.push_back(m);
    if (disk)
      collect(*e, k, m.uuid, out);
  }
}

/// The registry element for `uuid` and its parent node, searched depth
/// first through nested differencing disks.
std::pair<xml_node*, xml_node*>
find_medium(xml_node& parent, const char* element, const std::string& uuid) {
  for (auto* e : parent.children(element)) {
    if (same_uuid(e->attr_or("uuid", ""), uuid))
      return {e, &parent};
    auto found = find_medium(*e, element, uuid);
    if (found.first)
      return found;
  }
  return {nullptr, nullptr};
}

void check_entries(const xml_node& n, const media_kind& k, value_reader& r,
                   int depth) {
  for (const auto* e : n.children(k.element)) {
    const auto* uuid = e->attr("uuid");
    if (!uuid)
      r.fail(e, "uuid", "missing");
    else if (!valid_uuid(*uuid))
      r.fail(e, "uuid", "\"" + *uuid + "\" is not a UUID");
    if (!e->attr("location"))
      r.fail(e, "location", "missing");
    if (std::string_view{k.kind} == "HardDisk") {
      if (depth == 0 && !e->attr("format"))
        r.fail(e, "format", "missing");
      check_entries(*e, k, r, depth + 1);
    }
  }
}

} // namespace

caf::error check_media(const xml_node& owner, const std::string& what) {
  value_reader r{what};
  if (const auto* reg = owner.child("MediaRegistry"))
    for (const auto& k : media_kinds)
      if (const auto* list = reg->child(k.list))
        check_entries(*list, k, r, 0);
  return r.error();
}

std::vector<medium_entry> read_media(const xml_node& owner) {
  std::vector<medium_entry> out;
  const auto* reg = owner.child("MediaRegistry");
  if (!reg)
    return out;
  for (const auto& k : media_kinds)
    if (const auto* list = reg->child(k.list))
      collect(*list, k, "", out);
  return out;
}

void add_medium(xml_node& owner, const medium_entry& m,
                std::initializer_list<std::string_view> owner_order) {
  const auto* k = kind_of(m.kind);
  if (!k)
    k = &media_kinds[0];
  auto& reg = owner.ensure_child("MediaRegistry", owner_order);
  auto& list = reg.ensure_child(k->list, TB_MEDIA_ORDER);
  auto [e, parent] = find_medium(list, k->element, m.uuid);
  if (!e) {
    xml_node* under = &list;
    if (!m.parent_uuid.empty())
      if (auto* p = find_medium(list, k->element, m.parent_uuid).first)
        under = p;
    e = &under->append_child(k->element);
    e->set_attr("uuid", normal_uuid(m.uuid));
  }
  e->set_attr("location", m.location);
  bool disk = std::string_view{k->kind} == "HardDisk";
  if (disk)
    e->set_attr("format", m.format.empty() ? "VDI" : m.format);
  else
    set_or_omit(*e, "format", iequals(m.format, "RAW") ? "" : m.format, "");
  bool base =
      disk && (parent == nullptr || parent == &list) && m.parent_uuid.empty();
  if (base)
    e->set_attr("type", m.type.empty() ? "Normal" : m.type);
}

void remove_medium(xml_node& owner, const std::string& uuid) {
  auto* reg = owner.child("MediaRegistry");
  if (!reg)
    return;
  for (const auto& k : media_kinds) {
    auto* list = reg->child(k.list);
    if (!list)
      continue;
    auto [e, parent] = find_medium(*list, k.element, uuid);
    if (e)
      parent->remove_child(e);
    remove_if_empty(*reg, k.list);
  }
  remove_if_empty(owner, "MediaRegistry");
}

} // namespace tb::settings::detail
