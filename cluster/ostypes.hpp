// The guest OS types `list ostypes` shows and `createvm --ostype` applies:
// VirtualBox's IDs with their recommended defaults (cluster/data/ostypes.json).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tb::cluster {

/// One guest OS type and the defaults VirtualBox recommends for it.
struct os_type {
  std::string id;          ///< "WindowsXP", "Ubuntu_64", ...
  std::string description; ///< "Windows XP (32-bit)".
  std::string family_id;
  std::string family_description;
  bool is_64bit = false;
  uint32_t cpus = 1;
  uint32_t ram_mb = 128;
  uint32_t vram_mb = 8;
  uint64_t disk_mb = 2048;   ///< Recommended hard disk size.
  std::string graphics;      ///< Display/@controller: VBoxVGA, VMSVGA...
  std::string nic_type;      ///< Adapter/@type: Am79C973, 82540EM, ...
  std::string hd_controller; ///< VBoxManage --controller name.
  std::string hd_bus;        ///< IDE, SATA, SCSI.
  std::string dvd_controller;
  std::string dvd_bus;
  std::string chipset;            ///< PIIX3 or ICH9.
  std::string firmware;           ///< BIOS or EFI.
  std::vector<std::string> hints; ///< ioapic, pae, rtcutc, usbtablet, ...

  bool has_hint(std::string_view h) const;
};

/// Every known type in VirtualBox's order. Loaded once; an unreadable table
/// yields an empty list (and `ostypes_error()` says why).
const std::vector<os_type>& ostypes();
/// Why the table could not be loaded, or empty.
const std::string& ostypes_error();
/// By ID, case-insensitively (VirtualBox accepts "windowsxp"). nullptr when
/// unknown.
const os_type* find_ostype(std::string_view id);

/// Parses an ostypes.json document (exposed for tests and fuzzing).
bool parse_ostypes(std::string_view json, std::vector<os_type>& out,
                   std::string& error);

} // namespace tb::cluster
