// Upgrading a machine read at an older settings version to 1.19 in memory.
// Only additions and one move: every element and attribute of the old file
// survives, and defaults that changed meaning are written out explicitly
// (virtualbox-compat.md 2.2).
#include "settings/machine_internal.hpp"

namespace tb::settings::detail {

namespace {

/// Before 1.16 an absent value meant something else than it means now.
void pin_pre_1_16_defaults(xml_node& hw) {
  auto& rd = hw.ensure_child("RemoteDisplay", TB_HARDWARE_ORDER);
  if (!rd.attr("enabled"))
    rd.set_attr("enabled", "true"); // absent meant enabled
  if (!hw.child("Paravirt"))
    hw.ensure_child("Paravirt", TB_HARDWARE_ORDER)
        .set_attr("provider", "Legacy");
  if (auto* net = hw.child("Network")) {
    for (auto* a : net->children("Adapter")) {
      if (!a->attr("cable"))
        a->set_attr("cable", "false");
      if (!a->attr("type"))
        a->set_attr("type", "Am79C970A");
    }
  }
  if (auto* audio = hw.child("AudioAdapter"); audio && !audio->attr("enabled"))
    audio->set_attr("enabled", "true");
}

/// Before 1.14: USBController enabled= enabledEhci= (+ DeviceFilters).
void convert_usb_controller(xml_node& hw) {
  auto* old = hw.child("USBController");
  if (!old)
    return;
  auto truthy = [&](const char* attr) {
    auto v = old->attr_or(attr, "false");
    return iequals(v, "true") || v == "1";
  };
  auto& usb = hw.ensure_child("USB", TB_HARDWARE_ORDER);
  auto& ctls =
      usb.ensure_child("Controllers", {"Controllers", "DeviceFilters"});
  if (truthy("enabled")) {
    auto& c = ctls.append_child("Controller");
    c.set_attr("name", "OHCI");
    c.set_attr("type", "OHCI");
  }
  if (truthy("enabledEhci")) {
    auto& c = ctls.append_child("Controller");
    c.set_attr("name", "EHCI");
    c.set_attr("type", "EHCI");
  }
  remove_if_empty(usb, "Controllers");
  if (auto* filters = old->child("DeviceFilters");
      filters && !usb.child("DeviceFilters"))
    usb.adopt_child(old->take_child(filters), {"Controllers", "DeviceFilters"});
  hw.remove_child(old);
  remove_if_empty(hw, "USB");
}

/// Machine or Snapshot: its Hardware, the StorageControllers that 6.x and
/// older kept beside it, and nested snapshots.
void upgrade_owner(xml_node& owner, const settings_version& from) {
  auto* hw = owner.child("Hardware");
  if (hw) {
    if (from.minor < 16)
      pin_pre_1_16_defaults(*hw);
    if (from.minor < 14)
      convert_usb_controller(*hw);
    if (auto* sc = owner.child("StorageControllers");
        sc && !hw->child("StorageControllers"))
      hw->adopt_child(owner.take_child(sc), TB_HARDWARE_ORDER);
  }
  for (auto* snap : owner.children("Snapshot"))
    upgrade_owner(*snap, from);
  if (auto* list = owner.child("Snapshots"))
    for (auto* snap : list->children("Snapshot"))
      upgrade_owner(*snap, from);
}

} // namespace

void upgrade_machine(xml_node& machine, const settings_version& from) {
  if (from.major == 1 && from.minor >= newest_settings_minor)
    return;
  upgrade_owner(machine, from);
}

} // namespace tb::settings::detail
