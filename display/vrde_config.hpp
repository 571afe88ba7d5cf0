// The VRDE server's configuration as one plain struct, derived from a
// machine's RemoteDisplay settings, its extradata and the global
// VRDEAuthLibrary (virtualbox-compat.md 4, 5).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <caf/expected.hpp>

#include "settings/machine_config.hpp"

namespace tb::display {

enum class vrde_auth_type { null, external, guest };
/// The external libraries telebox implements itself.
enum class vrde_auth_library {
  pam,    ///< "VBoxAuth" (and the legacy "VRDPAuth"): host users via PAM.
  simple, ///< "VBoxAuthSimple": SHA-256 hashes in the VM's extradata.
};
enum class vrde_security { negotiate, rdp, tls };

/// Client/Disable* features (exactly "1" disables).
struct vrde_client_features {
  bool disable_display = false;
  bool disable_input = false;
  bool disable_usb = false;
  bool disable_audio = false;
  bool disable_clipboard = false;
  bool disable_upstream_audio = false;
};

/// Reads one of the VM's extradata keys at the moment it is needed (a user
/// added with setextradata while the VM runs can log on at once). Called
/// from the server's authentication threads: must be thread-safe.
using extradata_fn =
    std::function<std::optional<std::string>(const std::string&)>;

struct vrde_config {
  bool enabled = false;
  std::string ports = "3389"; ///< TCP/Ports, "5000,5010-5012".
  std::string address;        ///< TCP/Address; empty = IPv4 and IPv6.
  vrde_auth_type auth_type = vrde_auth_type::null;
  vrde_auth_library auth_library = vrde_auth_library::pam;
  std::string auth_library_name = "VBoxAuth";
  uint32_t auth_timeout_ms = 5000;
  bool multi_con = false;
  bool reuse_con = false;
  vrde_security security = vrde_security::negotiate;
  /// PEM paths; empty = the generated pair in the machine folder.
  std::string server_certificate;
  std::string server_private_key;
  std::string ca_certificate;
  /// Where vrde-cert.pem / vrde-key.pem are kept when no paths are set.
  std::string machine_folder;
  vrde_client_features client;
  /// The VM's extradata (VBoxAuthSimple users); may be empty.
  extradata_fn extradata;
};

/// Builds the configuration. `global_auth_library` is VirtualBox.xml's
/// VRDEAuthLibrary. Fails, naming the value, for an unknown auth type or
/// Security/Method, a malformed TCP/Ports, or an auth library telebox does
/// not implement. Guest authentication is accepted here (showvminfo must
/// show it) and refused by start_vrde.
caf::expected<vrde_config>
make_vrde_config(const settings::vrde_settings& vrde, extradata_fn extradata,
                 const std::string& global_auth_library,
                 const std::string& machine_folder);

/// The effective value of a Client/<feature> switch: the VRDE property,
/// then extradata VRDE/Feature/Client/<feature>, then the legacy
/// VRDP/Feature/Client/<feature>; true only for exactly "1".
bool client_feature_disabled(const settings::vrde_settings& vrde,
                             const extradata_fn& extradata,
                             const std::string& feature);

/// The names VirtualBox shows for the auth type: "null", "external", "guest".
std::string to_string(vrde_auth_type t);

} // namespace tb::display
