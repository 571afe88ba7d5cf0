// Storage controller kinds: VBoxManage names, settings names, port limits.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tb::cluster {

/// One storage controller type (StorageController/@type).
struct controller_kind {
  std::string_view xml_type;  ///< AHCI, PIIX4, LsiLogic, ...
  std::string_view cli_name;  ///< --controller value: IntelAhci, PIIX4, ...
  std::string_view bus;       ///< --add value: ide, sata, scsi, ...
  std::string_view bus_label; ///< Default controller name: IDE, SATA, ...
  uint32_t min_ports, max_ports, default_ports, devices_per_port;
};

/// By settings type name (case-insensitive); nullptr when unknown.
const controller_kind* kind_by_xml(std::string_view xml_type);
/// By --controller value (case-insensitive).
const controller_kind* kind_by_cli(std::string_view cli_name);
/// The default controller for an --add bus (case-insensitive).
const controller_kind* kind_by_bus(std::string_view bus);

} // namespace tb::cluster
