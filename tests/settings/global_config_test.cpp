// VirtualBox.xml: default file, registry edits, and keeping the unknown.
#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "settings/errors.hpp"
#include "settings/global_config.hpp"
#include "test_util.hpp"
#include "tree_compare.hpp"

namespace tb::settings {
namespace {

namespace fs = std::filesystem;
using test::slurp;
using test::spit;
using test::temp_folder;

TEST(global_config, new_folder_gets_virtualbox_default_file) {
  temp_folder dir;
  auto g = global_config::load(dir.path());
  ASSERT_TRUE(g) << error_text(g.error());
  EXPECT_TRUE(g->machines().empty());
  ASSERT_FALSE(g->save());
  auto text = slurp(dir / "VirtualBox.xml");
  EXPECT_NE(text.find("version=\"1.12-linux\""), std::string::npos);
  EXPECT_NE(text.find("    <MachineRegistry/>\n"), std::string::npos) << text;
  EXPECT_NE(text.find("<DHCPServer networkName=\"HostInterfaceNetworking-"
                      "vboxnet0\" IPAddress=\"192.168.56.100\""),
            std::string::npos);
  EXPECT_NE(text.find("<SystemProperties LogHistoryCount=\"3\" proxyMode=\"0\""
                      " exclusiveHwVirt=\"true\"/>"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("defaultMachineFolder"), std::string::npos);
  auto data = test::reference_data();
  if (!data.empty() && std::system("command -v xmllint >/dev/null 2>&1") == 0) {
    auto cmd = "xmllint --noout --schema '" + data
               + "/VirtualBox-settings.xsd' '" + (dir / "VirtualBox.xml")
               + "' 2>/dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << text;
  }
}

TEST(global_config, registry_properties_and_extradata) {
  temp_folder dir;
  auto g = global_config::load(dir.path());
  ASSERT_TRUE(g);
  g->add_machine({"{AAAAAAAA-1111-2222-3333-444444444444}", "/vms/a/a.vbox"});
  g->add_machine({"{bbbbbbbb-1111-2222-3333-444444444444}", "/vms/b/b.vbox"});
  g->add_machine({"{aaaaaaaa-1111-2222-3333-444444444444}", "/vms/c/a.vbox"});
  auto p = g->properties();
  EXPECT_EQ(p.log_history_count, 3u);
  p.default_machine_folder = "/vms";
  p.vrde_auth_library = "VBoxAuthSimple";
  g->set_properties(p);
  g->set_extradata("telebox/example", "1");
  g->add_medium({"DVD", "{cccccccc-1111-2222-3333-444444444444}", "/i.iso",
                 "RAW", "Readonly", ""});
  ASSERT_FALSE(g->save());
  auto back = global_config::load(dir.path());
  ASSERT_TRUE(back) << error_text(back.error());
  auto ms = back->machines();
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(ms[0].uuid, "{aaaaaaaa-1111-2222-3333-444444444444}");
  EXPECT_EQ(ms[0].src, "/vms/c/a.vbox");
  EXPECT_EQ(back->machine_folder(), "/vms");
  EXPECT_EQ(back->properties().vrde_auth_library, "VBoxAuthSimple");
  EXPECT_EQ(back->extradata("telebox/example"), "1");
  EXPECT_EQ(back->media().size(), 1u);
  auto text = slurp(dir / "VirtualBox.xml");
  EXPECT_NE(text.find("<SystemProperties defaultMachineFolder=\"/vms\" "
                      "VRDEAuthLibrary=\"VBoxAuthSimple\" LogHistoryCount="
                      "\"3\" proxyMode=\"0\" exclusiveHwVirt=\"true\"/>"),
            std::string::npos)
      << text;
  // ExtraData comes first, MediaRegistry after MachineRegistry.
  EXPECT_LT(text.find("<ExtraData>"), text.find("<MachineRegistry>"));
  EXPECT_LT(text.find("<MachineRegistry>"), text.find("<MediaRegistry>"));
  EXPECT_LT(text.find("<MediaRegistry>"), text.find("<NetserviceRegistry>"));
  back->remove_machine("{AAAAAAAA-1111-2222-3333-444444444444}");
  EXPECT_EQ(back->machines().size(), 1u);
  ASSERT_FALSE(back->save());
  EXPECT_EQ(slurp(dir / "VirtualBox.xml-prev"), text);
}

TEST(global_config, relative_machine_src_resolves_against_folder) {
  auto g = global_config::parse(
      "<VirtualBox version=\"1.12-linux\"><Global><MachineRegistry>"
      "<MachineEntry uuid=\"{aaaaaaaa-1111-2222-3333-444444444444}\" "
      "src=\"Machines/a.vbox\"/></MachineRegistry></Global></VirtualBox>",
      "/home/u/.config/VirtualBox");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->machines()[0].src, "/home/u/.config/VirtualBox/Machines/a.vbox");
}

TEST(global_config, round_trips_virtualbox_files_keeping_everything) {
  auto data = test::reference_data();
  if (data.empty())
    GTEST_SKIP() << "shared/reference/data not found";
  for (auto name : {"global-1.12-linux-vbox7.0-updates.xml",
                    "global-1.12-windows-vbox4.3.6.xml"}) {
    SCOPED_TRACE(name);
    temp_folder dir;
    auto src = data + "/vbox-samples/" + name;
    fs::copy_file(src, dir / "VirtualBox.xml");
    auto g = global_config::load(dir.path());
    ASSERT_TRUE(g) << error_text(g.error());
    auto machines = g->machines();
    auto props = g->properties();
    auto extra = g->extradata_all();
    ASSERT_FALSE(g->save());
    auto again = global_config::load(dir.path());
    ASSERT_TRUE(again);
    EXPECT_EQ(again->machines().size(), machines.size());
    EXPECT_EQ(again->properties().default_machine_folder,
              props.default_machine_folder);
    EXPECT_EQ(again->extradata_all(), extra);
    auto orig = parse_xml(slurp(src), name);
    auto now = parse_xml(slurp(dir / "VirtualBox.xml"), name);
    ASSERT_TRUE(orig && now);
    EXPECT_EQ(
        test::missing_from(*orig->root, *now->root, "", "VirtualBox@version"),
        "");
    EXPECT_EQ(now->root->attr_or("version", ""), "1.12-linux");
    // Editing through the typed view keeps the unknown elements too.
    again->add_machine({"{dddddddd-1111-2222-3333-444444444444}", "/x.vbox"});
    auto p = again->properties();
    p.default_machine_folder = "/elsewhere";
    again->set_properties(p);
    ASSERT_FALSE(again->save());
    auto edited = parse_xml(slurp(dir / "VirtualBox.xml"), name);
    ASSERT_TRUE(edited);
    auto* dhcp = edited->root->child("Global")->child("NetserviceRegistry");
    EXPECT_EQ(dhcp != nullptr,
              orig->root->child("Global")->child("NetserviceRegistry")
                  != nullptr);
    if (orig->root->child("Global")->child("Updates")) {
      EXPECT_TRUE(edited->root->child("Global")->child("Updates"));
    }
  }
}

TEST(global_config, rejects_bad_files) {
  auto check = [](const std::string& text, settings_errc code,
                  const std::string& needle) {
    auto g = global_config::parse(text, "/cfg");
    ASSERT_FALSE(g) << text;
    EXPECT_EQ(g.error(), code);
    auto msg = error_text(g.error());
    EXPECT_NE(msg.find("/cfg/VirtualBox.xml"), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  };
  check("<VirtualBox version=\"1.12-linux\"/>", settings_errc::bad_schema,
        "<Global>");
  check("<VirtualBox version=\"1.12-linux\"><Global><MachineRegistry>"
        "<MachineEntry uuid=\"{aaaaaaaa-1111-2222-3333-444444444444}\"/>"
        "</MachineRegistry></Global></VirtualBox>",
        settings_errc::bad_schema, "src");
  check("<VirtualBox version=\"1.12-linux\"><Global><MachineRegistry>"
        "<MachineEntry uuid=\"nope\" src=\"/a\"/></MachineRegistry></Global>"
        "</VirtualBox>",
        settings_errc::invalid_value, "nope");
  check("<VirtualBox version=\"1.12-linux\"><Global><SystemProperties "
        "LogHistoryCount=\"lots\"/></Global></VirtualBox>",
        settings_errc::invalid_value, "LogHistoryCount");
  check("<VirtualBox version=\"1.12-linux\"><Global>",
        settings_errc::malformed_xml, "line 1");
}

TEST(global_config, old_file_is_written_at_1_12_after_a_backup) {
  temp_folder dir;
  spit(dir / "VirtualBox.xml",
       "<VirtualBox version=\"1.7-linux\"><Global><MachineRegistry/>"
       "</Global></VirtualBox>");
  auto g = global_config::load(dir.path());
  ASSERT_TRUE(g);
  EXPECT_EQ(g->version().minor, 12);
  ASSERT_FALSE(g->save());
  EXPECT_TRUE(fs::exists(dir / "VirtualBox-1.7-linux.xml"));
  EXPECT_NE(slurp(dir / "VirtualBox.xml").find("1.12-linux"),
            std::string::npos);
}

} // namespace
} // namespace tb::settings
