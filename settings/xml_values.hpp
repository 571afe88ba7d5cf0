// Internal to tb_settings: typed reads and VirtualBox-style writes of
// attribute values, and the schema's write order of sibling elements
// (virtualbox-compat.md 2.5). Not part of the public API.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include <caf/error.hpp>

#include "settings/xml.hpp"

namespace tb::settings::detail {

/// Reads typed attribute values, remembering the first malformed one so
/// that load() can reject the file with a message naming file and value.
class value_reader {
public:
  explicit value_reader(std::string what) : what_(std::move(what)) {}

  /// true/false (also yes/no, on/off, 1/0, any case), as VirtualBox reads.
  bool flag(const xml_node* n, std::string_view attr, bool fallback);
  /// Decimal or 0x-hex, within [lo, hi].
  uint32_t u32(const xml_node* n, std::string_view attr, uint32_t fallback,
               uint32_t lo = 0, uint32_t hi = UINT32_MAX);
  int32_t i32(const xml_node* n, std::string_view attr, int32_t fallback,
              int32_t lo, int32_t hi);
  std::string str(const xml_node* n, std::string_view attr,
                  std::string_view fallback = {});
  /// One of `allowed`, matched case-insensitively, in its canonical form.
  std::string choice(const xml_node* n, std::string_view attr,
                     std::string_view fallback,
                     std::initializer_list<std::string_view> allowed);
  /// Records a failure found by the caller.
  void fail(const xml_node* n, std::string_view attr, const std::string& why);

  bool ok() const { return !err_; }
  const caf::error& error() const { return err_; }

private:
  std::string what_;
  caf::error err_;
};

/// Case-insensitive ASCII comparison.
bool iequals(std::string_view a, std::string_view b);

inline const char* bool_str(bool v) {
  return v ? "true" : "false";
}

/// Sets `attr` to `value`, or removes it when `value` equals `omitted`.
void set_or_omit(xml_node& n, std::string_view attr, std::string_view value,
                 std::string_view omitted);
void set_or_omit(xml_node& n, std::string_view attr, uint32_t value,
                 uint32_t omitted);
void set_or_omit(xml_node& n, std::string_view attr, bool value, bool omitted);

/// A flag element such as <PAE enabled="true"/>. When `value` equals
/// `omitted` VirtualBox writes no element: an element holding nothing else
/// is removed, one with other content keeps an explicit value.
void set_flag_element(xml_node& parent, std::string_view name,
                      std::initializer_list<std::string_view> order, bool value,
                      bool omitted);
/// The same, for a flag VirtualBox always writes.
void set_flag_element(xml_node& parent, std::string_view name,
                      std::initializer_list<std::string_view> order,
                      bool value);

/// Removes child `name` when it has no attributes, children or text.
void remove_if_empty(xml_node& parent, std::string_view name);

/// Inserts `node` among the `name` siblings of `parent` so that their
/// numeric `key` attribute stays ascending (Adapter slots, Order positions).
xml_node& insert_sorted(xml_node& parent, std::unique_ptr<xml_node> node,
                        std::string_view key,
                        std::initializer_list<std::string_view> order);

// Write order of sibling elements, from Settings.cpp's build*XML.
#define TB_MACHINE_ORDER                                                       \
  {                                                                            \
    "Description", "Teleporter", "MediaRegistry", "ExtraData", "Snapshot",     \
        "Hardware", "StorageControllers", "Debugging", "Autostart",            \
        "Recording", "Groups"                                                  \
  }
#define TB_HARDWARE_ORDER                                                      \
  {                                                                            \
    "CPU", "Memory", "Firmware", "HID", "HPET", "Chipset", "Iommu",            \
        "Paravirt", "Boot", "Display", "VideoCapture", "RemoteDisplay",        \
        "BIOS", "TrustedPlatformModule", "USBController", "USB", "Network",    \
        "UART", "LPT", "AudioAdapter", "RTC", "SharedFolders", "Clipboard",    \
        "DragAndDrop", "IO", "HostPci", "EmulatedUSB", "Guest",                \
        "GuestProperties", "StorageControllers"                                \
  }
#define TB_CPU_ORDER                                                           \
  {                                                                            \
    "HardwareVirtEx", "HardwareVirtExNestedPaging", "HardwareVirtExVPID",      \
        "HardwareVirtExUX", "PAE", "LongMode", "X2APIC", "APIC",               \
        "TripleFaultReset", "IBPBOn", "SpecCtrl", "SpecCtrlByHost",            \
        "L1DFlushOn", "MDSClearOn", "NestedHWVirt",                            \
        "HardwareVirtExVirtVmsaveVmload", "HardwareVirtExLargePages",          \
        "HardwareVirtForce", "HardwareVirtExUseNativeApi", "CpuTree",          \
        "CpuIdTree"                                                            \
  }
#define TB_BIOS_ORDER                                                          \
  {                                                                            \
    "ACPI", "IOAPIC", "APIC", "Logo", "BootMenu", "TimeOffset", "PXEDebug",    \
        "NVRAM", "SmbiosUuidLittleEndian"                                      \
  }
#define TB_MEDIA_ORDER                                                         \
  { "HardDisks", "DVDImages", "FloppyImages" }

} // namespace tb::settings::detail
