#include "display/vrde_config.hpp"

#include <algorithm>
#include <cctype>

#include "actors/error_text.hpp"
#include "display/vrde_errors.hpp"
#include "net/port_spec.hpp"

namespace tb::display {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string property(const settings::vrde_settings& v, const std::string& k) {
  auto it = v.properties.find(k);
  return it == v.properties.end() ? std::string{} : it->second;
}

caf::expected<vrde_auth_type> parse_auth_type(const std::string& s) {
  auto l = lower(s);
  if (l == "null" || l.empty())
    return vrde_auth_type::null;
  if (l == "external")
    return vrde_auth_type::external;
  if (l == "guest")
    return vrde_auth_type::guest;
  return make_vrde_error(vrde_errc::bad_property,
                         "VRDE authentication type \"" + s
                             + "\" is invalid (null, external or guest)");
}

caf::expected<vrde_auth_library> parse_library(const std::string& name) {
  // VirtualBox maps the legacy name VRDPAuth to VBoxAuth.
  if (name == "VBoxAuth" || name == "VRDPAuth")
    return vrde_auth_library::pam;
  if (name == "VBoxAuthSimple")
    return vrde_auth_library::simple;
  return make_vrde_error(vrde_errc::unsupported,
                         "VRDE authentication library " + name
                             + " is not supported (telebox implements "
                               "VBoxAuth and VBoxAuthSimple)");
}

caf::expected<vrde_security> parse_security(const std::string& s) {
  auto l = lower(s);
  if (l.empty() || l == "negotiate")
    return vrde_security::negotiate;
  if (l == "rdp")
    return vrde_security::rdp;
  if (l == "tls")
    return vrde_security::tls;
  return make_vrde_error(vrde_errc::bad_property,
                         "VRDE property Security/Method=\"" + s
                             + "\" is invalid (Negotiate, RDP or TLS)");
}

} // namespace

std::string to_string(vrde_auth_type t) {
  switch (t) {
  case vrde_auth_type::null:
    return "null";
  case vrde_auth_type::external:
    return "external";
  case vrde_auth_type::guest:
    return "guest";
  }
  return "null";
}

bool client_feature_disabled(const settings::vrde_settings& vrde,
                             const extradata_fn& extradata,
                             const std::string& feature) {
  auto it = vrde.properties.find("Client/" + feature);
  if (it != vrde.properties.end() && !it->second.empty())
    return it->second == "1";
  if (!extradata)
    return false;
  for (const char* prefix : {"VRDE/Feature/Client/", "VRDP/Feature/Client/"}) {
    auto v = extradata(prefix + feature);
    if (v && !v->empty())
      return *v == "1";
  }
  return false;
}

caf::expected<vrde_config>
make_vrde_config(const settings::vrde_settings& vrde, extradata_fn extradata,
                 const std::string& global_auth_library,
                 const std::string& machine_folder) {
  vrde_config c;
  c.enabled = vrde.enabled;
  c.ports = property(vrde, "TCP/Ports");
  if (c.ports.empty() || c.ports == "0")
    c.ports = "3389"; // VirtualBox stores "0" as the default port
  if (auto p = net::parse_port_spec(c.ports); !p)
    return make_vrde_error(vrde_errc::bad_property,
                           "VRDE property TCP/Ports=\"" + c.ports
                               + "\" is invalid: " + error_text(p.error()));
  c.address = property(vrde, "TCP/Address");
  auto at = parse_auth_type(vrde.auth_type);
  if (!at)
    return at.error();
  c.auth_type = *at;
  c.auth_library_name = !vrde.auth_library.empty()     ? vrde.auth_library
                        : !global_auth_library.empty() ? global_auth_library
                                                       : "VBoxAuth";
  if (c.auth_type == vrde_auth_type::external) {
    auto lib = parse_library(c.auth_library_name);
    if (!lib)
      return lib.error();
    c.auth_library = *lib;
  }
  c.auth_timeout_ms = vrde.auth_timeout;
  c.multi_con = vrde.multi_con;
  c.reuse_con = vrde.reuse_con;
  auto sec = parse_security(property(vrde, "Security/Method"));
  if (!sec)
    return sec.error();
  c.security = *sec;
  c.server_certificate = property(vrde, "Security/ServerCertificate");
  c.server_private_key = property(vrde, "Security/ServerPrivateKey");
  c.ca_certificate = property(vrde, "Security/CACertificate");
  if (c.server_certificate.empty() != c.server_private_key.empty())
    return make_vrde_error(vrde_errc::bad_property,
                           "VRDE properties Security/ServerCertificate and "
                           "Security/ServerPrivateKey must be set together");
  c.machine_folder = machine_folder;
  auto& f = c.client;
  f.disable_display =
      client_feature_disabled(vrde, extradata, "DisableDisplay");
  f.disable_input = client_feature_disabled(vrde, extradata, "DisableInput");
  f.disable_usb = client_feature_disabled(vrde, extradata, "DisableUSB");
  f.disable_audio = client_feature_disabled(vrde, extradata, "DisableAudio");
  f.disable_clipboard =
      client_feature_disabled(vrde, extradata, "DisableClipboard");
  f.disable_upstream_audio =
      client_feature_disabled(vrde, extradata, "DisableUpstreamAudio");
  c.extradata = std::move(extradata);
  return c;
}

} // namespace tb::display
