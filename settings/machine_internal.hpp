// Internal to tb_settings: the pieces machine_config and global_config are
// assembled from. Not part of the public API.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "settings/machine_config.hpp"
#include "settings/xml_values.hpp"

namespace tb::settings::detail {

/// Machine/Hardware (or Snapshot/Hardware) as typed settings.
hardware_settings read_hardware(const xml_node& hw, value_reader& r);
/// Writes the fields of `want` that differ from `have` (what the tree holds
/// now), the way VirtualBox writes them; nothing else is touched.
void write_hardware(xml_node& hw, const hardware_settings& want,
                    const hardware_settings& have);

/// Hardware/Network/Adapter elements and Hardware/RemoteDisplay.
std::vector<nic_settings> read_nics(const xml_node& hw, value_reader& r);
void write_nics(xml_node& hw, const std::vector<nic_settings>& want,
                const std::vector<nic_settings>& have);
void read_vrde(const xml_node* remote_display, value_reader& r,
               vrde_settings& v);
void write_vrde(xml_node& hw, const vrde_settings& want,
                const vrde_settings& have);

std::vector<storage_controller> read_storage(const xml_node* controllers,
                                             value_reader& r);
void write_storage(xml_node& hw, const std::vector<storage_controller>& want);

/// MediaRegistry of `owner` (Machine or Global), flattened.
std::vector<medium_entry> read_media(const xml_node& owner);
/// Rejects registry entries VirtualBox would refuse (no uuid, location or,
/// for base disks, format).
caf::error check_media(const xml_node& owner, const std::string& what);
void add_medium(xml_node& owner, const medium_entry& m,
                std::initializer_list<std::string_view> owner_order);
void remove_medium(xml_node& owner, const std::string& uuid);

/// ExtraData/ExtraDataItem of `owner`.
std::optional<std::string> extradata(const xml_node& owner,
                                     const std::string& key);
std::vector<std::pair<std::string, std::string>>
extradata_all(const xml_node& owner);
void set_extradata(xml_node& owner, const std::string& key,
                   const std::string& value,
                   std::initializer_list<std::string_view> owner_order);

/// Brings a Machine element read at `from` to 1.19's layout and makes the
/// defaults that changed since `from` explicit (virtualbox-compat.md 2.2).
void upgrade_machine(xml_node& machine, const settings_version& from);

/// "{8-4-4-4-12}" (braces optional) with hex digits.
bool valid_uuid(std::string_view text);
/// Braced, lowercase.
std::string normal_uuid(std::string_view text);
bool same_uuid(std::string_view a, std::string_view b);

/// "080027" followed by six random hex digits, as VirtualBox generates.
std::string random_mac();
/// Now as "YYYY-MM-DDTHH:MM:SSZ".
std::string utc_timestamp();

} // namespace tb::settings::detail
