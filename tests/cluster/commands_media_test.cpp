// Media lifetimes (closemedium, unregistervm --delete), registering
// VirtualBox-written .vbox files, renaming, and the option parser.
#include "cli_fixture.hpp"
#include "cluster/cli_args.hpp"

namespace tb::cluster::test {
namespace {

class media_cmds : public cli_fixture {};

TEST_F(media_cmds, closemedium_refuses_attached_then_deletes) {
  ok({"createvm", "--name", "vm", "--register"});
  ok({"storagectl", "vm", "--name", "SATA", "--add", "sata", "--portcount",
      "2"});
  ok({"createmedium", "disk", "--filename", "a.vdi", "--sizebyte", "1048576",
      "--variant", "Fixed"});
  ok({"storageattach", "vm", "--storagectl", "SATA", "--port", "1", "--type",
      "hdd", "--medium", "a.vdi", "--nonrotational", "on"});
  auto m = info("vm");
  EXPECT_EQ(m["SATA-1-0"], cwd + "/a.vdi");
  EXPECT_EQ(m["SATA-nonrotational-1-0"], "on");
  auto r = run({"closemedium", "disk", "a.vdi", "--delete"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("attached"), std::string::npos) << r.err;
  ok({"storageattach", "vm", "--storagectl", "SATA", "--port", "1", "--medium",
      "none"});
  EXPECT_EQ(info("vm")["SATA-1-0"], "none");
  ok({"closemedium", "disk", cwd + "/a.vdi", "--delete"});
  EXPECT_FALSE(std::filesystem::exists(cwd + "/a.vdi"));
  EXPECT_EQ(ok({"list", "hdds"}).out, "");
}

TEST_F(media_cmds, normal_disk_attaches_once) {
  ok({"createvm", "--name", "a", "--register"});
  ok({"createvm", "--name", "b", "--register"});
  for (auto vm : {"a", "b"})
    ok({"storagectl", vm, "--name", "IDE", "--add", "ide"});
  ok({"createhd", "--filename", "d.vdi", "--size", "8"});
  ok({"storageattach", "a", "--storagectl", "IDE", "--port", "0", "--device",
      "0", "--type", "hdd", "--medium", "d.vdi"});
  auto r = run({"storageattach", "b", "--storagectl", "IDE", "--port", "0",
                "--device", "0", "--type", "hdd", "--medium", "d.vdi"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("'a'"), std::string::npos) << r.err;
}

TEST_F(media_cmds, unregistervm_delete_removes_everything) {
  ok({"createvm", "--name", "gone", "--register"});
  auto folder = root + "/VMs/gone";
  ok({"storagectl", "gone", "--name", "IDE", "--add", "ide"});
  ok({"createhd", "--filename", folder + "/gone.vdi", "--size", "8"});
  ok({"storageattach", "gone", "--storagectl", "IDE", "--port", "0", "--device",
      "0", "--type", "hdd", "--medium", folder + "/gone.vdi"});
  std::filesystem::create_directories(folder + "/Logs");
  write_file(folder + "/Logs/VBox.log", "log");
  ok({"modifyvm", "gone", "--memory", "64"}); // makes a -prev
  auto r = ok({"unregistervm", "gone", "--delete"});
  EXPECT_FALSE(std::filesystem::exists(folder)) << folder;
  EXPECT_EQ(ok({"list", "vms"}).out, "");
  EXPECT_EQ(ok({"list", "hdds"}).out, "");
  ASSERT_FALSE(r.events.empty());
  EXPECT_EQ(r.events[0].kind, "unregistered");
}

TEST_F(media_cmds, unregister_keeps_files_without_delete) {
  ok({"createvm", "--name", "kept", "--register"});
  ok({"unregistervm", "kept"});
  EXPECT_TRUE(std::filesystem::exists(vbox_path("kept")));
  ok({"registervm", vbox_path("kept")});
  EXPECT_EQ(info("kept")["name"], "kept");
}

TEST_F(media_cmds, rename_moves_folder) {
  ok({"createvm", "--name", "old", "--register"});
  ok({"modifyvm", "old", "--name", "new"});
  EXPECT_FALSE(std::filesystem::exists(root + "/VMs/old"));
  EXPECT_TRUE(std::filesystem::exists(vbox_path("new")));
  EXPECT_EQ(info("new")["CfgFile"], vbox_path("new"));
  reopen();
  EXPECT_EQ(info("new")["name"], "new");
}

TEST_F(media_cmds, registers_virtualbox_written_files) {
  // shared/ sits beside the repository (in CI too).
  const std::string samples =
    std::string{TB_SOURCE_DIR} + "/../shared/reference/data/vbox-samples/";
  struct sample {
    const char* file;
    const char* name;
  };
  for (auto s :
       {sample{"machine-1.16-linux-vbox6.1-ubuntu-snapshot.vbox", "Ubuntu"},
        sample{"machine-1.19-windows-vbox7.0-win10-unattended.vbox", nullptr},
        sample{"machine-1.14-linux-vbox4.3-winxp.vbox", nullptr}}) {
    auto src = samples + s.file;
    if (!std::filesystem::exists(src)) {
      GTEST_SKIP() << "no sample " << src;
    }
    auto dir = root + "/samples/" + s.file;
    std::filesystem::create_directories(dir);
    auto dst = dir + "/" + s.file;
    std::filesystem::copy_file(src, dst);
    auto r = ok({"registervm", dst});
    (void)r;
    ASSERT_FALSE(reg->machines().empty());
    auto name = reg->machines().back()->name();
    if (s.name) {
      EXPECT_EQ(name, s.name);
    }
    auto m = info(name);
    EXPECT_EQ(m["CfgFile"], dst);
    EXPECT_FALSE(m["memory"].empty());
    EXPECT_FALSE(m["UUID"].empty());
    auto human = ok({"showvminfo", name});
    EXPECT_NE(human.out.find("Name:                        " + name),
              std::string::npos);
  }
  auto ubuntu = info("Ubuntu");
  EXPECT_EQ(ubuntu["memory"], "3042");
  EXPECT_EQ(ubuntu["VMState"], "saved"); // it has a stateFile
  EXPECT_EQ(ubuntu["SnapshotName"], "Captura 1");
  EXPECT_EQ(ubuntu["CurrentSnapshotUUID"],
            "85127d1f-9ff7-45ee-9bff-ab9e629583d0");
  EXPECT_EQ(ubuntu["VMStateChangeTime"], "2022-06-27T17:13:02.000000000Z");
  auto before = slurp(root
                      + "/samples/machine-1.16-linux-vbox6.1-ubuntu-"
                        "snapshot.vbox/machine-1.16-linux-vbox6.1-"
                        "ubuntu-snapshot.vbox");
  auto r = run({"modifyvm", "Ubuntu", "--memory", "1024"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("saved"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(root
                  + "/samples/machine-1.16-linux-vbox6.1-ubuntu-"
                    "snapshot.vbox/machine-1.16-linux-vbox6.1-ubuntu-"
                    "snapshot.vbox"),
            before);
  ok({"modifyvm", "Ubuntu", "--vrde", "on", "--vrdeport", "5100"});
  auto hdds = ok({"list", "hdds"}).out;
  EXPECT_NE(hdds.find("Parent UUID:    6b60802b-0427-4b15-a2b1-bb86665e9b8c\n"),
            std::string::npos)
      << hdds;
  EXPECT_NE(hdds.find("Type:           normal (differencing)\n"),
            std::string::npos);
}

TEST(cli_args, spellings) {
  std::vector<option_spec> specs{
      {"vrdeport"}, {"nic", 1, 8}, {"flag", 0}, {"cpuidset", 5}};
  std::vector<option_alias> aliases{{"vrdp*", "vrde"}, {"cpuid", "cpuidset"}};
  auto p =
      parse_args({"--vrdp-port=1", "--vrdeport", "2", "--nic3", "nat", "pos",
                  "--flag", "--cpuid", "1", "2", "3", "4", "5", "-5"},
                 specs, aliases);
  ASSERT_TRUE(p.error.empty()) << p.error;
  ASSERT_EQ(p.options.size(), 5u);
  EXPECT_EQ(p.options[0].name, "vrdeport");
  EXPECT_EQ(p.options[0].value(), "1");
  EXPECT_EQ(p.options[0].spelled, "--vrdp-port");
  EXPECT_EQ(p.options[2].index, 3);
  EXPECT_EQ(p.options[4].values.size(), 5u);
  EXPECT_EQ(p.positional, (std::vector<std::string>{"pos", "-5"}));
  EXPECT_FALSE(parse_args({"--nic0", "x"}, specs, aliases).error.empty());
  EXPECT_FALSE(parse_args({"--flag=1"}, specs, aliases).error.empty());
  EXPECT_FALSE(parse_args({"--nic1"}, specs, aliases).error.empty());
}

} // namespace
} // namespace tb::cluster::test

namespace tb::cluster::test {
namespace {

TEST_F(media_cmds, convert_clone_resize_show) {
  std::string raw(3 << 20, '\0');
  raw.replace(1 << 20, 5, "hello");
  write_file(cwd + "/disk.raw", raw);
  auto r = ok({"convertfromraw", "disk.raw", "disk.vdi"});
  EXPECT_NE(r.out.find("Converting from raw image file=\"" + cwd
                       + "/disk.raw\" to file=\"" + cwd + "/disk.vdi\"..."),
            std::string::npos)
      << r.out;
  r = ok({"clonemedium", "disk", "disk.vdi", "copy.vdi"});
  EXPECT_NE(r.err.find("100%\n"), std::string::npos);
  EXPECT_NE(r.out.find("Clone medium created in format 'VDI'. UUID: "),
            std::string::npos)
      << r.out;
  auto uuid = r.out.substr(r.out.find("UUID: ") + 6, 36);
  r = ok({"modifymedium", "disk", uuid, "--resize", "8"});
  EXPECT_NE(r.err.find("100%"), std::string::npos);
  r = ok({"showmediuminfo", "disk", "copy.vdi"});
  EXPECT_NE(r.out.find("UUID:           " + uuid), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Capacity:       8 MBytes"), std::string::npos) << r.out;
  ok({"modifyhd", cwd + "/copy.vdi", "--type", "immutable"});
  EXPECT_NE(ok({"list", "hdds"}).out.find("immutable"), std::string::npos);
  auto bad = run({"modifymedium", "copy.vdi", "--compact"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("--compact"), std::string::npos);
}

} // namespace
} // namespace tb::cluster::test

namespace tb::cluster::test {
namespace {

TEST_F(media_cmds, inaccessible_machine_is_listed_and_can_be_unregistered) {
  ok({"createvm", "--name", "broken", "--register", "--uuid",
      "22222222-3333-4444-5555-666666666666"});
  write_file(vbox_path("broken"), "<not xml");
  reopen();
  EXPECT_EQ(ok({"list", "vms"}).out,
            "\"<inaccessible>\" {22222222-3333-4444-5555-666666666666}\n");
  auto r = run({"showvminfo", "22222222-3333-4444-5555-666666666666"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("inaccessible"), std::string::npos) << r.err;
  ok({"unregistervm", "22222222-3333-4444-5555-666666666666"});
  EXPECT_EQ(ok({"list", "vms"}).out, "");
  reopen();
  EXPECT_EQ(ok({"list", "vms"}).out, "");
}

} // namespace
} // namespace tb::cluster::test
