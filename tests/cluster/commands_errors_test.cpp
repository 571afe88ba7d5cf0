// Bad input: the right exit code, a message naming the problem, and not one
// byte changed in the settings files.
#include "cli_fixture.hpp"

namespace tb::cluster::test {
namespace {

class bad_input : public cli_fixture {
protected:
  void SetUp() override {
    cli_fixture::SetUp();
    auto r = ok({"createvm", "--name", "vm", "--register", "--uuid",
                 "11111111-2222-3333-4444-555555555555"});
    vbox = vbox_path("vm");
    global = home + "/VirtualBox.xml";
  }

  // Runs a failing command and checks nothing on disk changed.
  command_output expect_unchanged(std::vector<std::string> argv, int code,
                                  const std::string& needle) {
    auto before_vm = slurp(vbox);
    auto before_global = slurp(global);
    auto r = run(argv);
    std::string line;
    for (auto& a : argv)
      line += a + " ";
    EXPECT_EQ(r.exit_code, code) << line << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << line << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("telebox: error: ", 0), 0u) << r.err;
    EXPECT_EQ(slurp(vbox), before_vm) << line;
    EXPECT_EQ(slurp(global), before_global) << line;
    EXPECT_TRUE(r.events.empty()) << line;
    return r;
  }

  std::string vbox, global;
};

TEST_F(bad_input, unknown_vm) {
  expect_unchanged({"modifyvm", "nope", "--memory", "256"}, 1, "'nope'");
  expect_unchanged({"showvminfo", "nope"}, 1, "'nope'");
  expect_unchanged({"setextradata", "nope", "k", "v"}, 1, "'nope'");
}

TEST_F(bad_input, bad_vrde_ports) {
  for (auto p : {"65536", "5000-4000", "abc", "", "5000,", "0-10", "5000,0",
                 "-5", "50 00"})
    expect_unchanged({"modifyvm", "vm", "--vrdeport", p}, 1, "--vrdeport");
  expect_unchanged({"modifyvm", "vm", "--vrdeproperty", "TCP/Ports=99999"}, 1,
                   "TCP/Ports");
}

TEST_F(bad_input, bad_values) {
  expect_unchanged({"modifyvm", "vm", "--memory", "abc"}, 1, "--memory");
  expect_unchanged({"modifyvm", "vm", "--memory", "2"}, 1, "--memory");
  expect_unchanged({"modifyvm", "vm", "--cpus", "0"}, 1, "--cpus");
  expect_unchanged({"modifyvm", "vm", "--acpi", "maybe"}, 1, "--acpi");
  expect_unchanged({"modifyvm", "vm", "--boot1", "usbstick"}, 1, "--boot1");
  expect_unchanged({"modifyvm", "vm", "--nic1", "wifi"}, 1, "--nic1");
  expect_unchanged({"modifyvm", "vm", "--nictype1", "rtl8139"}, 1,
                   "--nictype1");
  expect_unchanged({"modifyvm", "vm", "--macaddress1", "010203040506"}, 1,
                   "--macaddress1");
  expect_unchanged({"modifyvm", "vm", "--vrdevideochannelquality", "5"}, 1,
                   "--vrdevideochannelquality");
  expect_unchanged({"modifyvm", "vm", "--vrdeauthtype", "pam"}, 1,
                   "--vrdeauthtype");
  expect_unchanged({"modifyvm", "vm", "--vrdeproperty", "novalue"}, 1,
                   "--vrdeproperty");
  expect_unchanged({"modifyvm", "vm", "--teleporterport", "65536"}, 1,
                   "--teleporterport");
  expect_unchanged({"modifyvm", "vm", "--cpuidset", "xyz", "0", "0", "0", "0"},
                   1, "xyz");
  expect_unchanged({"modifyvm", "vm", "--ostype", "Plan9"}, 1, "Plan9");
  expect_unchanged({"modifyvm", "vm", "--teleporterpasswordfile", "nofile"}, 1,
                   "nofile");
  // A good option before a bad one changes nothing either.
  expect_unchanged({"modifyvm", "vm", "--memory", "512", "--vrde", "on",
                    "--vrdeport", "abc"},
                   1, "--vrdeport");
}

TEST_F(bad_input, syntax_errors_exit_2) {
  auto r = expect_unchanged({"modifyvm", "vm", "--bogus", "1"}, 2, "--bogus");
  EXPECT_NE(r.err.find("Usage: telebox modifyvm"), std::string::npos);
  expect_unchanged({"modifyvm", "vm", "--nic9", "nat"}, 2, "--nic9");
  expect_unchanged({"modifyvm", "vm", "--memory"}, 2, "--memory");
  expect_unchanged({"modifyvm", "vm", "--cpuidset", "1", "2"}, 2, "--cpuidset");
  expect_unchanged({"createvm"}, 2, "--name");
  expect_unchanged({"frobnicate"}, 2, "frobnicate");
  expect_unchanged({}, 2, "No command");
  expect_unchanged({"list"}, 2, "list");
  expect_unchanged({"createhd", "--filename", "x.vdi"}, 2, "--size");
}

TEST_F(bad_input, duplicates_refused) {
  expect_unchanged({"createvm", "--name", "vm", "--register"}, 1, "vm");
  expect_unchanged({"createvm", "--name", "other", "--register", "--uuid",
                    "{11111111-2222-3333-4444-555555555555}"},
                   1, "11111111-2222-3333-4444-555555555555");
  EXPECT_FALSE(std::filesystem::exists(vbox_path("other")));
  ok({"createvm", "--name", "second", "--register"});
  vbox = vbox_path("vm");
  expect_unchanged({"modifyvm", "vm", "--name", "second"}, 1, "second");
  expect_unchanged({"registervm", vbox}, 1, "already registered");
}

TEST_F(bad_input, storage_errors) {
  ok({"storagectl", "vm", "--name", "IDE", "--add", "ide"});
  expect_unchanged({"storagectl", "vm", "--name", "IDE2", "--add", "ide"}, 1,
                   "IDE");
  expect_unchanged({"storagectl", "vm", "--name", "IDE", "--add", "sata"}, 1,
                   "already exists");
  expect_unchanged({"storagectl", "vm", "--name", "X", "--add", "ide",
                    "--controller", "IntelAhci"},
                   1, "IntelAhci");
  expect_unchanged({"storagectl", "vm", "--name", "X", "--add", "tape"}, 1,
                   "tape");
  ok({"createhd", "--filename", "d.vdi", "--size", "16"});
  expect_unchanged({"storageattach", "vm", "--storagectl", "IDE", "--port", "2",
                    "--device", "0", "--type", "hdd", "--medium", "d.vdi"},
                   1, "port");
  expect_unchanged({"storageattach", "vm", "--storagectl", "IDE", "--port", "0",
                    "--device", "2", "--type", "hdd", "--medium", "d.vdi"},
                   1, "device");
  expect_unchanged({"storageattach", "vm", "--storagectl", "Nope", "--port",
                    "0", "--type", "hdd", "--medium", "d.vdi"},
                   1, "Nope");
  expect_unchanged({"storageattach", "vm", "--storagectl", "IDE", "--port", "0",
                    "--type", "hdd", "--medium", "missing.vdi"},
                   1, "missing.vdi");
  expect_unchanged({"createhd", "--filename", "d.vdi", "--size", "16"}, 1,
                   "already exists");
  expect_unchanged({"createhd", "--filename", "e.vdi", "--size", "0"}, 1,
                   "--size");
  expect_unchanged(
      {"createhd", "--filename", "e.vdi", "--size", "16", "--format", "VMDK"},
      1, "VMDK");
  expect_unchanged({"createhd", "--filename", "e.vdi", "--size", "16",
                    "--variant", "Split2G"},
                   1, "Split2G");
  EXPECT_FALSE(std::filesystem::exists(cwd + "/e.vdi"));
}

TEST_F(bad_input, host_verbs_are_not_handled_here) {
  auto r = run({"startvm", "vm", "--type", "headless"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not handled here"), std::string::npos);
}

} // namespace
} // namespace tb::cluster::test
