// machine_config against VirtualBox's own files, its schema and bad input.
#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "settings/errors.hpp"
#include "settings/hash.hpp"
#include "settings/machine_config.hpp"
#include "test_util.hpp"
#include "tree_compare.hpp"

namespace tb::settings {
namespace {

namespace fs = std::filesystem;
using test::slurp;
using test::spit;
using test::temp_folder;

constexpr const char* uuid1 = "{11111111-2222-3333-4444-555555555555}";

std::string samples() {
  auto data = test::reference_data();
  return data.empty() ? data : data + "/vbox-samples";
}

bool have_xmllint() {
  return std::system("command -v xmllint >/dev/null 2>&1") == 0;
}

/// xmllint --schema; returns its output ("... validates" on success).
std::string validate(const std::string& file) {
  auto xsd = test::reference_data() + "/VirtualBox-settings.xsd";
  auto out = file + ".lint";
  auto cmd = "xmllint --noout --schema '" + xsd + "' '" + file + "' >'" + out
             + "' 2>&1";
  int rc = std::system(cmd.c_str());
  return slurp(out) + (rc == 0 ? "" : "(failed)");
}

TEST(machine_config, create_writes_virtualbox_7_layout) {
  temp_folder dir;
  auto path = dir / "demo/demo.vbox";
  fs::create_directory(dir / "demo");
  auto m = machine_config::create(path, "demo", uuid1, "Ubuntu_64");
  ASSERT_FALSE(m.save()) << "save";
  auto text = slurp(path);
  EXPECT_TRUE(
      text.starts_with("<?xml version=\"1.0\"?>\n<!--\n** DO NOT EDIT"));
  EXPECT_NE(text.find("version=\"1.19-linux\""), std::string::npos);
  EXPECT_NE(text.find("<Machine uuid=\"{11111111-2222-3333-4444-555555555555}"
                      "\" name=\"demo\" OSType=\"Ubuntu_64\" snapshotFolder="
                      "\"Snapshots\" lastStateChange=\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("      <CPU>\n        <PAE enabled=\"true\"/>\n"
                      "        <LongMode enabled=\"true\"/>\n"
                      "        <HardwareVirtExLargePages enabled=\"true\"/>\n"
                      "      </CPU>\n      <Memory RAMSize=\"128\"/>\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("<NAT/>"), std::string::npos);
  EXPECT_FALSE(fs::exists(path + "-prev"));
  auto back = machine_config::load(path);
  ASSERT_TRUE(back) << error_text(back.error());
  EXPECT_EQ(back->name(), "demo");
  EXPECT_EQ(back->uuid(), uuid1);
  auto hw = back->hardware();
  EXPECT_EQ(hw.memory_mb, 128u);
  EXPECT_EQ(hw.cpus, 1u);
  ASSERT_EQ(hw.nics.size(), 1u);
  EXPECT_EQ(hw.nics[0].attachment, "NAT");
  EXPECT_EQ(hw.nics[0].mac.substr(0, 6), "080027");
  EXPECT_FALSE(hw.vrde.enabled);
  EXPECT_TRUE(hw.rtc_utc);
}

TEST(machine_config, created_machine_validates_against_the_xsd) {
  if (test::reference_data().empty())
    GTEST_SKIP() << "shared/reference/data not found";
  if (!have_xmllint())
    GTEST_SKIP() << "xmllint not installed (libxml2-utils)";
  temp_folder dir;
  auto path = dir / "v.vbox";
  auto m = machine_config::create(path, "v", uuid1, "Debian_64");
  auto hw = m.hardware();
  hw.cpus = 2;
  hw.memory_mb = 2048;
  hw.vrde.enabled = true;
  hw.vrde.properties["TCP/Ports"] = "5000";
  hw.boot_order = {"DVD", "HardDisk", "None", "None"};
  hw.usb_controllers = {"OHCI", "EHCI"};
  hw.cpuid.push_back({1, 0, 0x11, 0x22, 0x33, 0x44});
  storage_controller sata;
  sata.name = "SATA";
  sata.type = "AHCI";
  sata.port_count = 1;
  sata.use_host_io_cache = false;
  attached_device disk;
  disk.type = "HardDisk";
  disk.image_uuid = "{aaaaaaaa-0000-0000-0000-000000000001}";
  sata.devices.push_back(disk);
  hw.storage.push_back(sata);
  m.set_hardware(hw);
  m.add_medium({"HardDisk", "{aaaaaaaa-0000-0000-0000-000000000001}", "v.vdi",
                "VDI", "Normal", ""});
  m.set_teleporter({true, 6000, "", teleporter_password_hash("pw")});
  m.set_description("a <test> & more");
  m.set_extradata("telebox/x", "1");
  ASSERT_FALSE(m.save());
  auto out = validate(path);
  EXPECT_NE(out.find("validates"), std::string::npos) << out << slurp(path);
}

TEST(machine_config, samples_validate_as_before_after_rewrite) {
  // Files the schema accepted before we touched them still pass after.
  if (samples().empty() || !have_xmllint())
    GTEST_SKIP() << "reference data or xmllint missing";
  temp_folder dir;
  for (auto name : {"machine-1.16-linux-vbox6.1-ubuntu-snapshot.vbox",
                    "machine-1.17-windows-vbox6.0-ubuntu-sharedfolder.vbox"}) {
    auto copy = dir / name;
    fs::copy_file(samples() + "/" + name, copy);
    auto m = machine_config::load(copy);
    ASSERT_TRUE(m) << error_text(m.error());
    ASSERT_FALSE(m->save());
    auto out = validate(copy);
    EXPECT_NE(out.find("validates"), std::string::npos) << name << out;
  }
}

/// The original tree with the one documented move applied: 1.19 keeps
/// StorageControllers inside Hardware (Machine and Snapshot level).
void move_storage_into_hardware(xml_node& owner) {
  auto* hw = owner.child("Hardware");
  if (auto* sc = owner.child("StorageControllers"); sc && hw)
    hw->adopt_child(owner.take_child(sc));
  for (auto* s : owner.children("Snapshot"))
    move_storage_into_hardware(*s);
  if (auto* list = owner.child("Snapshots"))
    for (auto* s : list->children("Snapshot"))
      move_storage_into_hardware(*s);
}

TEST(machine_config, round_trips_every_virtualbox_sample) {
  if (samples().empty())
    GTEST_SKIP() << "shared/reference/data/vbox-samples not found";
  temp_folder dir;
  int count = 0;
  for (const auto& e : fs::directory_iterator(samples())) {
    auto name = e.path().filename().string();
    if (!name.starts_with("machine-"))
      continue;
    ++count;
    SCOPED_TRACE(name);
    auto copy = dir / name;
    fs::copy_file(e.path(), copy);
    auto m = machine_config::load(copy);
    ASSERT_TRUE(m) << error_text(m.error());
    auto hw = m->hardware();
    auto media = m->media();
    auto tele = m->teleporter();
    auto extra = m->extradata_all();
    auto read_at = m->loaded_version();
    bool old = read_at.minor < 19;
    ASSERT_FALSE(m->save());
    auto again = machine_config::load(copy);
    ASSERT_TRUE(again) << error_text(again.error());
    EXPECT_EQ(again->hardware(), hw);
    EXPECT_EQ(again->media(), media);
    EXPECT_EQ(again->teleporter(), tele);
    EXPECT_EQ(again->extradata_all(), extra);
    EXPECT_EQ(again->name(), m->name());
    EXPECT_EQ(again->uuid(), m->uuid());
    EXPECT_EQ(again->os_type(), m->os_type());
    // Nothing of the original is lost.
    auto orig = parse_xml(slurp(e.path().string()), name);
    auto now = parse_xml(slurp(copy), name);
    ASSERT_TRUE(orig && now);
    auto* machine = orig->root->child("Machine");
    if (old)
      move_storage_into_hardware(*machine);
    EXPECT_EQ(
        test::missing_from(*orig->root, *now->root, "", "VirtualBox@version"),
        "");
    EXPECT_EQ(now->leading_comments, orig->leading_comments);
    if (!old) {
      // 1.19 files come back byte for byte, but for the writer's platform.
      auto expected = slurp(e.path().string());
      auto at = expected.find("version=\"" + read_at.to_string() + "\"");
      ASSERT_NE(at, std::string::npos);
      expected.replace(at, 9 + read_at.to_string().size() + 1,
                       "version=\"1.19-linux\"");
      EXPECT_EQ(slurp(copy), expected);
    }
    // Older files were backed up once under their old version's name.
    auto backup = upgrade_backup_path(copy, read_at);
    EXPECT_EQ(fs::exists(backup), old);
    if (old) {
      EXPECT_EQ(slurp(backup), slurp(e.path().string()));
    }
    // A second save changes nothing.
    auto first = slurp(copy);
    ASSERT_FALSE(again->save());
    EXPECT_EQ(slurp(copy), first);
  }
  EXPECT_GE(count, 7);
}

TEST(machine_config, reads_sample_values) {
  if (samples().empty())
    GTEST_SKIP() << "shared/reference/data/vbox-samples not found";
  auto m = machine_config::load(
      samples() + "/machine-1.19-windows-vbox7.0-debian-bridged-snapshot.vbox");
  ASSERT_TRUE(m) << error_text(m.error());
  auto hw = m->hardware();
  EXPECT_EQ(hw.cpus, 2u);
  EXPECT_EQ(hw.memory_mb, 2048u);
  EXPECT_FALSE(hw.pae);
  EXPECT_EQ(hw.graphics, "VMSVGA");
  EXPECT_EQ(hw.vram_mb, 30u);
  EXPECT_EQ(hw.pointing, "USBTablet");
  EXPECT_TRUE(hw.ioapic);
  EXPECT_TRUE(hw.rtc_utc);
  EXPECT_EQ(hw.usb_controllers, (std::vector<std::string>{"OHCI", "EHCI"}));
  ASSERT_EQ(hw.nics.size(), 1u);
  EXPECT_EQ(hw.nics[0].type, "82540EM");
  EXPECT_EQ(hw.nics[0].attachment, "BridgedInterface");
  EXPECT_EQ(hw.nics[0].attachment_name,
            "Intel(R) Ethernet Controller (3) I225-V");
  EXPECT_EQ(hw.nics[0].mac, "080027CF22CB");
  ASSERT_EQ(hw.storage.size(), 2u);
  EXPECT_EQ(hw.storage[1].name, "SATA");
  EXPECT_FALSE(hw.storage[1].use_host_io_cache);
  ASSERT_EQ(hw.storage[1].devices.size(), 1u);
  EXPECT_EQ(hw.storage[1].devices[0].image_uuid,
            "{09c1c225-f8fc-485e-a40a-00b3f8b34fc0}");
  auto media = m->media();
  ASSERT_EQ(media.size(), 3u);
  EXPECT_EQ(media[1].parent_uuid, media[0].uuid);
  EXPECT_EQ(media[2].kind, "DVD");
  EXPECT_EQ(m->extradata("GUI/LastCloseAction"), "PowerOff");
  // 1.16 kept StorageControllers beside Hardware.
  auto old = machine_config::load(
      samples() + "/machine-1.16-linux-vbox6.1-ubuntu-snapshot.vbox");
  ASSERT_TRUE(old);
  ASSERT_EQ(old->hardware().storage.size(), 1u);
  EXPECT_EQ(old->hardware().storage[0].type, "PIIX4");
  EXPECT_EQ(old->loaded_version().minor, 16);
  EXPECT_EQ(old->version().minor, 19);
}

std::string machine_text(const std::string& version, const std::string& hw,
                         const std::string& extra = "") {
  return "<?xml version=\"1.0\"?>\n<VirtualBox xmlns=\"http://www.virtualbox."
         "org/\" version=\""
         + version + "\"><Machine uuid=\"" + uuid1
         + "\" name=\"t\" OSType=\"Linux_64\">" + extra + "<Hardware>" + hw
         + "</Hardware></Machine></VirtualBox>";
}

TEST(machine_config, version_dependent_defaults) {
  // No RemoteDisplay element: enabled before 1.16, disabled since.
  auto v15 = machine_config::parse(machine_text("1.15-linux", ""), "/t/a.vbox");
  ASSERT_TRUE(v15) << error_text(v15.error());
  EXPECT_TRUE(v15->hardware().vrde.enabled);
  EXPECT_EQ(v15->hardware().paravirt, "Legacy");
  auto v16 = machine_config::parse(machine_text("1.16-linux", ""), "/t/a.vbox");
  ASSERT_TRUE(v16);
  EXPECT_FALSE(v16->hardware().vrde.enabled);
  EXPECT_EQ(v16->hardware().paravirt, "Default");
  // Old NIC defaults: Am79C970A, cable unplugged.
  auto nic = machine_config::parse(
      machine_text("1.12-linux",
                   "<Network><Adapter slot=\"0\" enabled=\"true\">"
                   "<NAT/></Adapter></Network>"),
      "/t/a.vbox");
  ASSERT_TRUE(nic);
  ASSERT_EQ(nic->hardware().nics.size(), 1u);
  EXPECT_EQ(nic->hardware().nics[0].type, "Am79C970A");
  EXPECT_FALSE(nic->hardware().nics[0].cable_connected);
  // Pre-1.14 USBController and pre-1.17 StorageControllers.
  auto usb = machine_config::parse(
      machine_text("1.12-linux", "<USBController enabled=\"true\" "
                                 "enabledEhci=\"true\"/>"),
      "/t/a.vbox");
  ASSERT_TRUE(usb);
  EXPECT_EQ(usb->hardware().usb_controllers,
            (std::vector<std::string>{"OHCI", "EHCI"}));
  auto sc = "<VirtualBox version=\"1.13-linux\"><Machine uuid=\""
            + std::string{uuid1}
            + "\" name=\"t\"><Hardware/><StorageControllers>"
              "<StorageController name=\"IDE\" type=\"PIIX4\"/>"
              "</StorageControllers></Machine></VirtualBox>";
  auto old = machine_config::parse(sc, "/t/a.vbox");
  ASSERT_TRUE(old) << error_text(old.error());
  ASSERT_EQ(old->hardware().storage.size(), 1u);
  EXPECT_EQ(old->hardware().storage[0].name, "IDE");
}

TEST(machine_config, writes_defaults_the_way_virtualbox_does) {
  auto m = machine_config::create("/t/w.vbox", "w", uuid1, "Linux_64");
  auto hw = m.hardware();
  hw.cpus = 4;
  hw.vrde.enabled = true;
  hw.vrde.auth_type = "External";
  hw.vrde.auth_timeout = 7000;
  m.set_hardware(hw);
  const auto& mh = *m.machine_node().child("Hardware");
  EXPECT_EQ(mh.child("CPU")->attr_or("count", ""), "4");
  const auto* rd = mh.child("RemoteDisplay");
  ASSERT_TRUE(rd);
  EXPECT_EQ(rd->attr_or("enabled", ""), "true");
  EXPECT_EQ(rd->attr_or("authType", ""), "External");
  EXPECT_EQ(rd->attr_or("authTimeout", ""), "7000");
  hw.cpus = 1;
  hw.vrde.enabled = false;
  hw.vrde.auth_type = "Null";
  hw.vrde.auth_timeout = 5000;
  m.set_hardware(hw);
  EXPECT_EQ(mh.child("CPU")->attr("count"), nullptr);
  EXPECT_EQ(mh.child("RemoteDisplay"), nullptr); // nothing left to say
  hw.vrde.auth_timeout = 0;
  hw.vrde.enabled = true;
  m.set_hardware(hw);
  EXPECT_EQ(mh.child("RemoteDisplay")->attr("authTimeout"), nullptr);
  EXPECT_EQ(mh.child("RemoteDisplay")->attr("authType"), nullptr);
}

TEST(machine_config, set_hardware_keeps_what_it_does_not_model) {
  auto text = machine_text(
      "1.19-linux",
      "<CPU count=\"2\" hotplug=\"false\"><PAE enabled=\"true\"/><X2APIC "
      "enabled=\"true\"/></CPU><Memory RAMSize=\"512\" PageFusion=\"false\"/>"
      "<Network><Adapter slot=\"0\" enabled=\"true\" speed=\"1000\"><NAT "
      "localhost-reachable=\"true\"><Forwarding name=\"ssh\" proto=\"1\" "
      "hostport=\"2222\" guestport=\"22\"/></NAT></Adapter></Network>"
      "<Future feature=\"x\"/>");
  auto m = machine_config::parse(text, "/t/k.vbox");
  ASSERT_TRUE(m) << error_text(m.error());
  auto before = parse_xml(text, "t");
  auto hw = m->hardware();
  m->set_hardware(hw); // no change: the tree must stay as it was
  EXPECT_EQ(test::missing_from(*before->root, *m->document().root, "",
                               "VirtualBox@version"),
            "");
  hw.memory_mb = 1024;
  hw.nics[0].attachment = "BridgedInterface";
  hw.nics[0].attachment_name = "eth0";
  m->set_hardware(hw);
  const auto& mh = *m->machine_node().child("Hardware");
  EXPECT_EQ(mh.child("Memory")->attr_or("PageFusion", ""), "false");
  EXPECT_EQ(mh.child("Memory")->attr_or("RAMSize", ""), "1024");
  EXPECT_TRUE(mh.child("CPU")->child("X2APIC"));
  EXPECT_TRUE(mh.child("Future"));
  const auto* a = mh.child("Network")->child("Adapter");
  EXPECT_EQ(a->attr_or("speed", ""), "1000");
  // NAT (with its port forwarding) is parked, not lost.
  ASSERT_TRUE(a->child("DisabledModes"));
  EXPECT_TRUE(a->child("DisabledModes")->child("NAT")->child("Forwarding"));
  EXPECT_EQ(a->child("BridgedInterface")->attr_or("name", ""), "eth0");
  hw.nics[0].attachment = "NAT";
  m->set_hardware(hw);
  EXPECT_TRUE(a->child("NAT")->child("Forwarding"));
  EXPECT_EQ(m->hardware().nics[0].attachment, "NAT");
}

TEST(machine_config, plain_teleporter_password_is_hashed) {
  auto m = machine_config::parse(
      machine_text("1.19-linux", "",
                   "<Teleporter enabled=\"true\" port=\"6000\" address=\"\" "
                   "password=\"secret\"/>"),
      "/t/p.vbox");
  ASSERT_TRUE(m);
  auto t = m->teleporter();
  EXPECT_TRUE(t.enabled);
  EXPECT_EQ(t.port, 6000u);
  EXPECT_EQ(t.password_hash, "#SHA-512##" + sha512_hex("secret"));
  EXPECT_EQ(write_xml(m->document()).find("\"secret\""), std::string::npos);
}

TEST(machine_config, media_and_extradata_edits) {
  auto m = machine_config::create("/t/m.vbox", "m", uuid1, "");
  EXPECT_EQ(m.os_type(), "Other");
  m.add_medium({"HardDisk", "{AAAAAAAA-0000-0000-0000-000000000001}", "m.vdi",
                "VDI", "Normal", ""});
  m.add_medium({"HardDisk", "{aaaaaaaa-0000-0000-0000-000000000002}",
                "Snapshots/d.vdi", "VDI", "Normal",
                "{aaaaaaaa-0000-0000-0000-000000000001}"});
  m.add_medium({"DVD", "{bbbbbbbb-0000-0000-0000-000000000001}", "/i.iso",
                "RAW", "Readonly", ""});
  auto media = m.media();
  ASSERT_EQ(media.size(), 3u);
  EXPECT_EQ(media[0].uuid, "{aaaaaaaa-0000-0000-0000-000000000001}");
  EXPECT_EQ(media[1].parent_uuid, media[0].uuid);
  EXPECT_EQ(media[2].format, "RAW");
  m.add_medium({"HardDisk", "{aaaaaaaa-0000-0000-0000-000000000001}",
                "moved.vdi", "VDI", "Immutable", ""});
  EXPECT_EQ(m.media()[0].location, "moved.vdi");
  EXPECT_EQ(m.media()[0].type, "Immutable");
  m.remove_medium("{bbbbbbbb-0000-0000-0000-000000000001}");
  EXPECT_EQ(m.media().size(), 2u);
  m.remove_medium("{aaaaaaaa-0000-0000-0000-000000000001}");
  EXPECT_TRUE(m.media().empty());
  EXPECT_EQ(m.machine_node().child("MediaRegistry"), nullptr);
  m.set_extradata("a", "1");
  m.set_extradata("b", "2");
  m.set_extradata("a", "3");
  EXPECT_EQ(m.extradata("a"), "3");
  m.set_extradata("a", "");
  EXPECT_EQ(m.extradata("a"), std::nullopt);
  EXPECT_EQ(m.extradata_all().size(), 1u);
  m.set_extradata("b", "");
  EXPECT_EQ(m.machine_node().child("ExtraData"), nullptr);
}

void expect_rejected(const std::string& text, settings_errc code,
                     const std::string& needle) {
  auto m = machine_config::parse(text, "/vms/bad.vbox");
  ASSERT_FALSE(m) << text;
  EXPECT_EQ(m.error(), code) << error_text(m.error());
  auto msg = error_text(m.error());
  EXPECT_NE(msg.find("/vms/bad.vbox"), std::string::npos) << msg;
  EXPECT_NE(msg.find(needle), std::string::npos) << msg;
}

TEST(machine_config, rejects_bad_files_with_clear_errors) {
  auto good = machine_text("1.19-linux", "<Memory RAMSize=\"64\"/>");
  for (size_t cut : {size_t{10}, size_t{60}, size_t{120}, good.size() - 5})
    expect_rejected(good.substr(0, cut), settings_errc::malformed_xml, "line");
  expect_rejected("<Foo version=\"1.19-linux\"/>", settings_errc::bad_schema,
                  "<Foo>");
  expect_rejected("<VirtualBox><Machine/></VirtualBox>",
                  settings_errc::bad_schema, "version");
  expect_rejected("<VirtualBox version=\"1.x-linux\"/>",
                  settings_errc::bad_version, "1.x-linux");
  expect_rejected("<VirtualBox version=\"1.19-linux\"><Global/></VirtualBox>",
                  settings_errc::bad_schema, "<Machine>");
  expect_rejected("<VirtualBox version=\"1.19-linux\"><Machine uuid=\""
                      + std::string{uuid1} + "\" name=\"x\"/></VirtualBox>",
                  settings_errc::bad_schema, "<Hardware>");
  expect_rejected("<VirtualBox version=\"1.19-linux\"><Machine name=\"x\">"
                  "<Hardware/></Machine></VirtualBox>",
                  settings_errc::bad_schema, "uuid");
  expect_rejected("<VirtualBox version=\"1.19-linux\"><Machine uuid=\"{xyz}\" "
                  "name=\"x\"><Hardware/></Machine></VirtualBox>",
                  settings_errc::invalid_value, "{xyz}");
  expect_rejected("<VirtualBox version=\"1.19-linux\"><Machine uuid=\""
                      + std::string{uuid1}
                      + "\"><Hardware/></Machine></VirtualBox>",
                  settings_errc::bad_schema, "name");
  expect_rejected(machine_text("1.19-linux", "<Memory RAMSize=\"abc\"/>"),
                  settings_errc::invalid_value, "RAMSize");
  expect_rejected(machine_text("1.19-linux", "<CPU count=\"0\"/>"),
                  settings_errc::invalid_value, "count");
  expect_rejected(machine_text("1.19-linux", "<HPET enabled=\"maybe\"/>"),
                  settings_errc::invalid_value, "maybe");
  expect_rejected(machine_text("1.19-linux", "<Chipset type=\"Z80\"/>"),
                  settings_errc::invalid_value, "Z80");
  expect_rejected(machine_text("1.19-linux",
                               "<StorageControllers><StorageController "
                               "name=\"S\" type=\"AHCI\"><AttachedDevice "
                               "type=\"HardDisk\" port=\"0\"/>"
                               "</StorageController></StorageControllers>"),
                  settings_errc::invalid_value, "device");
  expect_rejected(
      machine_text("1.19-linux", "",
                   "<MediaRegistry><HardDisks><HardDisk uuid=\"{aaaaaaaa-0000-"
                   "0000-0000-000000000001}\" location=\"a.vdi\"/></HardDisks>"
                   "</MediaRegistry>"),
      settings_errc::invalid_value, "format");
  expect_rejected(machine_text("1.19-linux", "",
                               "<MediaRegistry><DVDImages><Image "
                               "location=\"a.iso\"/></DVDImages>"
                               "</MediaRegistry>"),
                  settings_errc::invalid_value, "uuid");
  auto missing = machine_config::load("/nonexistent/x.vbox");
  ASSERT_FALSE(missing);
  EXPECT_NE(error_text(missing.error()).find("/nonexistent/x.vbox"),
            std::string::npos);
}

} // namespace
} // namespace tb::settings
