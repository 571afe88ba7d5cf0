// A machine's settings file (<Name>.vbox) in VirtualBox's schema.
//
// The XML tree is the source of truth: the typed structs below are views
// read from it and written back into it, touching only what they model, so
// elements and attributes telebox does not understand survive a rewrite.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "settings/settings_file.hpp"
#include "settings/xml.hpp"

namespace tb::settings {

/// Machine/RemoteDisplay with its VRDEProperties (virtualbox-compat.md 2.5).
struct vrde_settings {
  bool enabled = false;
  std::string auth_type = "Null"; ///< Null | External | Guest.
  uint32_t auth_timeout = 5000;   ///< Milliseconds.
  bool multi_con = false;
  bool reuse_con = false;
  std::string auth_library; ///< Empty: the global VRDEAuthLibrary.
  std::string ext_pack;
  std::map<std::string, std::string> properties; ///< TCP/Ports, ...
  friend bool operator==(const vrde_settings&, const vrde_settings&) = default;
};

/// Machine/Teleporter. The password is only ever held hashed.
struct teleporter_settings {
  bool enabled = false;
  uint32_t port = 0;
  std::string address;
  std::string password_hash; ///< "#SHA-512##<128 hex>" or empty.
  friend bool operator==(const teleporter_settings&,
                         const teleporter_settings&) = default;
};

/// Hardware/Network/Adapter.
struct nic_settings {
  uint32_t slot = 0; ///< 0-based; --nic1 is slot 0.
  bool enabled = false;
  std::string type = "Am79C973";
  std::string mac; ///< 12 hex digits, e.g. 080027AABBCC.
  bool cable_connected = true;
  std::string attachment;      ///< "", NAT, BridgedInterface, InternalNetwork,
                               ///< HostOnlyInterface, GenericInterface, ...
  std::string attachment_name; ///< Interface/network name where applicable.
  friend bool operator==(const nic_settings&, const nic_settings&) = default;
};

/// Hardware/CPU/CpuIdTree/CpuIdLeaf.
struct cpuid_leaf {
  uint32_t leaf = 0;
  uint32_t subleaf = 0;
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
  friend bool operator==(const cpuid_leaf&, const cpuid_leaf&) = default;
};

/// StorageController/AttachedDevice.
struct attached_device {
  std::string type; ///< HardDisk | DVD | Floppy.
  int32_t port = 0;
  int32_t device = 0;
  std::string image_uuid; ///< Braced; empty for an empty drive.
  std::string host_drive; ///< HostDrive/@src for host passthrough.
  bool hotpluggable = false;
  bool nonrotational = false;
  bool discard = false;
  bool passthrough = false;
  bool temp_eject = false;
  friend bool operator==(const attached_device&,
                         const attached_device&) = default;
};

/// Hardware/StorageControllers/StorageController.
struct storage_controller {
  std::string name;
  std::string type; ///< AHCI, PIIX3, PIIX4, ICH6, LsiLogic, ...
  uint32_t port_count = 2;
  bool use_host_io_cache = true;
  bool bootable = true;
  std::vector<attached_device> devices;
  friend bool operator==(const storage_controller&,
                         const storage_controller&) = default;
};

/// MediaRegistry entry (HardDisks/HardDisk, DVDImages/Image, ...).
struct medium_entry {
  std::string kind;            ///< HardDisk | DVD | Floppy.
  std::string uuid;            ///< Braced.
  std::string location;        ///< As stored: relative to the machine folder or
                               ///< absolute.
  std::string format;          ///< VDI, RAW, ...
  std::string type = "Normal"; ///< DVD images read as "Readonly".
  /// Braced UUID of the parent of a differencing disk; empty for a base.
  std::string parent_uuid;
  friend bool operator==(const medium_entry&, const medium_entry&) = default;
};

/// The parts of Machine/Hardware telebox models. Defaults are VirtualBox's
/// code defaults for the file's settings version.
struct hardware_settings {
  uint32_t memory_mb = 128;
  uint32_t cpus = 1;
  bool pae = true;
  bool long_mode = true;
  bool hwvirtex = true;
  bool nested_paging = true;
  bool vtx_vpid = true;
  bool large_pages = true;
  bool acpi = true;
  bool ioapic = false;
  bool hpet = false;
  std::string chipset = "PIIX3";
  std::string firmware = "BIOS";    ///< BIOS | EFI | EFI32 | EFI64 ...
  std::string paravirt = "Default"; ///< None|Default|Legacy|Minimal|...
  std::array<std::string, 4> boot_order{"Floppy", "DVD", "HardDisk", "None"};
  std::string pointing = "PS2Mouse";    ///< HID/@Pointing.
  std::string keyboard = "PS2Keyboard"; ///< HID/@Keyboard.
  std::string graphics = "VBoxVGA";     ///< Display/@controller.
  uint32_t vram_mb = 8;
  uint32_t monitors = 1;
  bool rtc_utc = false;
  std::vector<cpuid_leaf> cpuid;
  std::vector<nic_settings> nics; ///< One per Adapter element present.
  std::vector<std::string> usb_controllers; ///< Types: OHCI, EHCI, XHCI.
  vrde_settings vrde;
  std::vector<storage_controller> storage;
  friend bool operator==(const hardware_settings&,
                         const hardware_settings&) = default;
};

/// One loaded (or new) machine settings file.
class machine_config {
public:
  /// A new machine at `path` (not yet written). `os_type` may be empty.
  static machine_config create(const std::string& path, const std::string& name,
                               const std::string& uuid_braced,
                               const std::string& os_type);
  /// Reads and validates `path`. Errors name the file and the problem.
  static caf::expected<machine_config> load(const std::string& path);
  /// Parses from text (fuzzing, tests); `path` is used for relative paths.
  static caf::expected<machine_config> parse(std::string_view text,
                                             const std::string& path);

  /// Writes atomically (settings_file.hpp). A file read at an older version
  /// is first copied to <stem>-<version>.vbox once, then written as 1.19
  /// (VirtualBox 7.0 does the same).
  caf::error save();

  const std::string& path() const { return path_; }
  /// Folder the settings file lives in (relative media paths resolve here).
  std::string folder() const;
  std::string uuid() const; ///< Braced, lowercase.
  std::string name() const;
  void set_name(const std::string& name);
  std::string os_type() const;
  void set_os_type(const std::string& os_type);
  std::string description() const;
  void set_description(const std::string& text);
  /// The version the file is written at (1.19 once loaded: older files are
  /// upgraded in memory on load, see save()).
  settings_version version() const { return version_; }
  /// The version the file had when it was read (new machines: 1.19).
  settings_version loaded_version() const { return loaded_version_; }

  hardware_settings hardware() const;
  void set_hardware(const hardware_settings& hw);
  teleporter_settings teleporter() const;
  void set_teleporter(const teleporter_settings& t);

  std::vector<medium_entry> media() const;
  /// Adds or replaces (by UUID) a media registry entry.
  void add_medium(const medium_entry& m);
  void remove_medium(const std::string& uuid_braced);

  std::optional<std::string> extradata(const std::string& key) const;
  /// Sets a key; an empty value deletes it (VBoxManage semantics).
  void set_extradata(const std::string& key, const std::string& value);
  std::vector<std::pair<std::string, std::string>> extradata_all() const;

  /// Machine/@lastStateChange etc. are left to the host service.
  xml_node& machine_node();
  const xml_node& machine_node() const;
  const xml_document& document() const { return doc_; }

private:
  machine_config() = default;
  std::string path_;
  xml_document doc_;
  settings_version version_;
  settings_version loaded_version_; ///< For the upgrade backup on save.
};

} // namespace tb::settings
