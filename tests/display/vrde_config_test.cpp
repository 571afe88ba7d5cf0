// make_vrde_config: VirtualBox's defaults and lookup rules for RemoteDisplay
// settings, VRDE properties and extradata (virtualbox-compat.md 4, 5).
#include <map>

#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "display/vrde_config.hpp"

using namespace tb::display;
using tb::settings::vrde_settings;

namespace {

extradata_fn from_map(std::map<std::string, std::string> m) {
  return [m](const std::string& k) -> std::optional<std::string> {
    auto it = m.find(k);
    if (it == m.end())
      return std::nullopt;
    return it->second;
  };
}

vrde_config make(const vrde_settings& v,
                 std::map<std::string, std::string> ed = {},
                 const std::string& global_lib = "") {
  auto c = make_vrde_config(v, from_map(std::move(ed)), global_lib, "/vm");
  EXPECT_TRUE(c) << tb::error_text(c.error());
  return c ? *c : vrde_config{};
}

std::string failure(const vrde_settings& v,
                    const std::string& global_lib = "") {
  auto c = make_vrde_config(v, {}, global_lib, "/vm");
  EXPECT_FALSE(c);
  return c ? std::string{} : tb::error_text(c.error());
}

} // namespace

TEST(vrde_config, defaults) {
  vrde_settings v;
  v.enabled = true;
  auto c = make(v);
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.ports, "3389");
  EXPECT_EQ(c.address, "");
  EXPECT_EQ(c.auth_type, vrde_auth_type::null);
  EXPECT_EQ(c.auth_library_name, "VBoxAuth");
  EXPECT_EQ(c.auth_timeout_ms, 5000u);
  EXPECT_EQ(c.security, vrde_security::negotiate);
  EXPECT_FALSE(c.multi_con);
  EXPECT_FALSE(c.client.disable_display);
  EXPECT_EQ(c.machine_folder, "/vm");
}

TEST(vrde_config, ports_and_address) {
  vrde_settings v;
  v.properties["TCP/Ports"] = "5000,5010-5012";
  v.properties["TCP/Address"] = "::1";
  auto c = make(v);
  EXPECT_EQ(c.ports, "5000,5010-5012");
  EXPECT_EQ(c.address, "::1");
  v.properties["TCP/Ports"] = "0"; // VirtualBox stores 0 as the default
  EXPECT_EQ(make(v).ports, "3389");
  v.properties["TCP/Ports"] = "50x";
  EXPECT_NE(failure(v).find("TCP/Ports=\"50x\""), std::string::npos);
}

TEST(vrde_config, auth_types) {
  vrde_settings v;
  v.auth_type = "External";
  EXPECT_EQ(make(v).auth_type, vrde_auth_type::external);
  v.auth_type = "guest"; // accepted here, refused by start_vrde
  EXPECT_EQ(make(v).auth_type, vrde_auth_type::guest);
  v.auth_type = "Kerberos";
  EXPECT_NE(failure(v).find("Kerberos"), std::string::npos);
}

TEST(vrde_config, auth_library_precedence) {
  vrde_settings v;
  v.auth_type = "External";
  EXPECT_EQ(make(v, {}, "VBoxAuthSimple").auth_library,
            vrde_auth_library::simple);
  v.auth_library = "VBoxAuth"; // the machine's library wins
  EXPECT_EQ(make(v, {}, "VBoxAuthSimple").auth_library, vrde_auth_library::pam);
  v.auth_library = "VRDPAuth"; // legacy name of VBoxAuth
  EXPECT_EQ(make(v).auth_library, vrde_auth_library::pam);
  v.auth_library = "/opt/lib/MyAuth.so";
  EXPECT_EQ(failure(v),
            "VRDE authentication library /opt/lib/MyAuth.so is not supported "
            "(telebox implements VBoxAuth and VBoxAuthSimple)");
  v.auth_type = "Null"; // the library only matters for external
  EXPECT_TRUE(make_vrde_config(v, {}, "", "/vm"));
}

TEST(vrde_config, security_method_case_insensitive) {
  vrde_settings v;
  for (auto [text, want] : {std::pair{"Negotiate", vrde_security::negotiate},
                            std::pair{"RDP", vrde_security::rdp},
                            std::pair{"tls", vrde_security::tls},
                            std::pair{"TLS", vrde_security::tls},
                            std::pair{"rdp", vrde_security::rdp}}) {
    v.properties["Security/Method"] = text;
    EXPECT_EQ(make(v).security, want) << text;
  }
  v.properties["Security/Method"] = "ssh";
  EXPECT_NE(failure(v).find("Security/Method=\"ssh\""), std::string::npos);
}

TEST(vrde_config, certificate_paths) {
  vrde_settings v;
  v.properties["Security/ServerCertificate"] = "/c.pem";
  EXPECT_NE(failure(v).find("must be set together"), std::string::npos);
  v.properties["Security/ServerPrivateKey"] = "/k.pem";
  v.properties["Security/CACertificate"] = "/ca.pem";
  auto c = make(v);
  EXPECT_EQ(c.server_certificate, "/c.pem");
  EXPECT_EQ(c.server_private_key, "/k.pem");
  EXPECT_EQ(c.ca_certificate, "/ca.pem");
}

TEST(vrde_config, client_features_property_then_extradata_then_legacy) {
  vrde_settings v;
  auto ed = from_map({{"VRDE/Feature/Client/DisableInput", "1"},
                      {"VRDP/Feature/Client/DisableUSB", "1"},
                      {"VRDP/Feature/Client/DisableAudio", "true"},
                      {"VRDE/Feature/Client/DisableClipboard", "0"},
                      {"VRDP/Feature/Client/DisableClipboard", "1"}});
  v.properties["Client/DisableDisplay"] = "1";
  v.properties["Client/DisableUpstreamAudio"] = "yes";
  EXPECT_TRUE(client_feature_disabled(v, ed, "DisableDisplay"));
  EXPECT_TRUE(client_feature_disabled(v, ed, "DisableInput"));
  EXPECT_TRUE(client_feature_disabled(v, ed, "DisableUSB"));
  EXPECT_FALSE(client_feature_disabled(v, ed, "DisableAudio")); // not "1"
  // The newer extradata key is set ("0"), so the legacy one is not read.
  EXPECT_FALSE(client_feature_disabled(v, ed, "DisableClipboard"));
  EXPECT_FALSE(client_feature_disabled(v, ed, "DisableUpstreamAudio"));
  // The property wins over extradata.
  v.properties["Client/DisableInput"] = "0";
  EXPECT_FALSE(client_feature_disabled(v, ed, "DisableInput"));
  auto c = make_vrde_config(v, ed, "", "/vm");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->client.disable_display);
  EXPECT_FALSE(c->client.disable_input);
  EXPECT_TRUE(c->client.disable_usb);
  EXPECT_FALSE(c->client.disable_audio);
}
