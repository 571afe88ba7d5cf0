// Machine/Hardware/Network adapters and RemoteDisplay (VRDE): typed reads
// and VirtualBox-style writes (virtualbox-compat.md 2.5).
#include <algorithm>

#include "settings/machine_internal.hpp"

namespace tb::settings::detail {

namespace {

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

} // namespace

std::vector<nic_settings> read_nics(const xml_node& hw, value_reader& r) {
  std::vector<nic_settings> out;
  if (const auto* net = hw.child("Network"))
    for (const auto* a : net->children("Adapter"))
      out.push_back(read_nic(*a, r));
  return out;
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

} // namespace tb::settings::detail
