// Every VRDE, teleporter and extradata command of seeds 000-002 (old
// --vrdp* spellings, 4.0+ --vrde* and 7.0 dashed names) round-trips through
// showvminfo --machinereadable and getextradata.
#include "cli_fixture.hpp"

namespace tb::cluster::test {
namespace {

class vrde_cmds : public cli_fixture {
protected:
  void SetUp() override {
    cli_fixture::SetUp();
    ok({"createvm", "--name", "VM name", "--register"});
  }
};

TEST_F(vrde_cmds, seed_vrde_commands) {
  ok({"modifyvm", "VM name", "--vrde", "on"});
  auto m = info("VM name");
  EXPECT_EQ(m["vrde"], "on");
  EXPECT_EQ(m["vrdeport"], "-1");
  EXPECT_EQ(m["vrdeports"], "3389");
  EXPECT_EQ(m["vrdeproperty[TCP/Ports]"], "3389");
  EXPECT_EQ(m["vrdeproperty[TCP/Address]"], "<not set>");
  EXPECT_EQ(m["vrdeproperty[Audio/LogPath]"], "<not set>");
  ok({"modifyvm", "VM name", "--vrdeport", "5000,5010-5012"});
  EXPECT_EQ(info("VM name")["vrdeports"], "5000,5010-5012");
  ok({"modifyvm", "VM name", "--vrdeauthtype", "external"});
  ok({"modifyvm", "VM name", "--vrdemulticon", "on"});
  ok({"modifyvm", "VM name", "--vrdevideochannel", "on"});
  ok({"modifyvm", "VM name", "--vrdevideochannelquality", "75"});
  m = info("VM name");
  EXPECT_EQ(m["vrdeauthtype"], "external");
  EXPECT_EQ(m["vrdemulticon"], "on");
  EXPECT_EQ(m["vrdevideochannel"], "on");
  EXPECT_EQ(m["vrdevideochannelquality"], "75");
  EXPECT_EQ(m["vrdeproperty[VideoChannel/Enabled]"], "true");
  for (auto p : {"DisableDisplay", "DisableInput", "DisableUSB", "DisableAudio",
                 "DisableClipboard", "DisableUpstreamAudio"})
    ok({"modifyvm", "VM name", "--vrdeproperty",
        std::string{"Client/"} + p + "=1"});
  m = info("VM name");
  for (auto p : {"DisableDisplay", "DisableInput", "DisableUSB", "DisableAudio",
                 "DisableClipboard", "DisableUpstreamAudio"})
    EXPECT_EQ(m[std::string{"vrdeproperty[Client/"} + p + "]"], "1") << p;
  ok({"modifyvm", "VM name", "--vrdeproperty", "Client/DisableDisplay="});
  EXPECT_EQ(info("VM name")["vrdeproperty[Client/DisableDisplay]"],
            "<not set>");
  ok({"modifyvm", "VM name", "--vrdeproperty", "Security/Method=negotiate"});
  ok({"modifyvm", "VM name", "--vrdeproperty",
      "Security/CACertificate=path/ca_cert.pem"});
  ok({"modifyvm", "VM name", "--vrdeproperty",
      "Security/ServerCertificate=path/server_cert.pem"});
  ok({"modifyvm", "VM name", "--vrdeproperty",
      "Security/ServerPrivateKey=path/server_key_private.pem"});
  m = info("VM name");
  EXPECT_EQ(m["vrdeproperty[Security/Method]"], "negotiate");
  EXPECT_EQ(m["vrdeproperty[Security/CACertificate]"], "path/ca_cert.pem");
  EXPECT_EQ(m["vrdeproperty[Security/ServerCertificate]"],
            "path/server_cert.pem");
  EXPECT_EQ(m["vrdeproperty[Security/ServerPrivateKey]"],
            "path/server_key_private.pem");
  reopen();
  EXPECT_EQ(info("VM name")["vrdeproperty[Security/Method]"], "negotiate");
}

TEST_F(vrde_cmds, old_vrdp_spellings) {
  ok({"modifyvm", "VM name", "--vrdp", "on"});
  ok({"modifyvm", "VM name", "--vrdpport", "5000,5010-5012"});
  ok({"modifyvm", "VM name", "--vrdpauthtype", "external"});
  ok({"modifyvm", "VM name", "--vrdpmulticon", "on"});
  ok({"modifyvm", "VM name", "--vrdpreusecon", "on"});
  ok({"modifyvm", "VM name", "--vrdpvideochannel", "on"});
  ok({"modifyvm", "VM name", "--vrdpvideochannelquality", "75"});
  ok({"modifyvm", "VM name", "--vrdpaddress", "127.0.0.1"});
  auto m = info("VM name");
  EXPECT_EQ(m["vrde"], "on");
  EXPECT_EQ(m["vrdeports"], "5000,5010-5012");
  EXPECT_EQ(m["vrdeauthtype"], "external");
  EXPECT_EQ(m["vrdemulticon"], "on");
  EXPECT_EQ(m["vrdereusecon"], "on");
  EXPECT_EQ(m["vrdevideochannelquality"], "75");
  EXPECT_EQ(m["vrdeaddress"], "127.0.0.1");
}

TEST_F(vrde_cmds, dashed_names_and_equals_form) {
  ok({"modifyvm", "VM name", "--vrde=on", "--vrde-port", "default",
      "--vrde-multi-con", "on", "--vrde-video-channel-quality=40",
      "--vrde-auth-type=guest", "--vrde-property", "TCP/Address=::"});
  auto m = info("VM name");
  EXPECT_EQ(m["vrdeports"], "3389");
  EXPECT_EQ(m["vrdemulticon"], "on");
  EXPECT_EQ(m["vrdeauthtype"], "guest");
  EXPECT_EQ(m["vrdeaddress"], "::");
  EXPECT_EQ(m["vrdeproperty[VideoChannel/Quality]"], "40");
  ok({"modifyvm", "VM name", "--vrdeport", "0"});
  EXPECT_EQ(info("VM name")["vrdeports"], "3389");
}

TEST_F(vrde_cmds, teleporter) {
  ok({"modifyvm", "VM name", "--teleporter", "on", "--teleporterport", "6000"});
  auto m = info("VM name");
  EXPECT_EQ(m["teleporterenabled"], "on");
  EXPECT_EQ(m["teleporterport"], "6000");
  ok({"modifyvm", "VM name", "--teleporter-address", "10.0.0.1",
      "--teleporterpassword", "secret"});
  m = info("VM name");
  EXPECT_EQ(m["teleporteraddress"], "10.0.0.1");
  const std::string hash =
      "#SHA-512##bd2b1aaf7ef4f09be9f52ce2d8d599674d81aa9d6a4421696dc4d93dd061"
      "9d682ce56b4d64a9ef097761ced99e0f67265b5f76085e5b0ee7ca4696b2ad6fe2b2";
  EXPECT_EQ(m["teleporterpassword"], hash);
  EXPECT_EQ(slurp(vbox_path("VM name")).find("secret\""), std::string::npos);
  ok({"modifyvm", "VM name", "--teleporterpassword", ""});
  EXPECT_EQ(info("VM name")["teleporterpassword"], "");
  ok({"modifyvm", "VM name", "--teleporterpasswordfile", "stdin"}, "secret\n");
  EXPECT_EQ(info("VM name")["teleporterpassword"], hash);
  write_file(cwd + "/pw.txt", "secret");
  ok({"modifyvm", "VM name", "--teleporterpassword", "x"});
  ok({"modifyvm", "VM name", "--teleporter-password-file", "pw.txt"});
  EXPECT_EQ(info("VM name")["teleporterpassword"], hash);
}

TEST_F(vrde_cmds, extradata_and_auth_library) {
  auto r = ok({"internalcommands", "passwordhash", "secret"});
  EXPECT_EQ(r.out, "Password hash: 2bb80d537b1da3e38bd30361aa855686bde0eacd7162"
                   "fef6a25fe97bf527a25b\n");
  ok({"setproperty", "vrdeauthlibrary", "VBoxAuthSimple"});
  r = ok({"list", "systemproperties"});
  EXPECT_NE(r.out.find("VRDE auth library:               VBoxAuthSimple\n"),
            std::string::npos)
      << r.out;
  ok({"setproperty", "vrdpauthlibrary", "default"});
  r = ok({"list", "systemproperties"});
  EXPECT_NE(r.out.find("VRDE auth library:               VBoxAuth\n"),
            std::string::npos);
  ok({"modifyvm", "VM name", "--vrdeauthtype", "external"});
  ok({"setextradata", "VM name", "VBoxAuthSimple/users/john",
      "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"});
  ok({"setextradata", "VM name", "VBoxAuthSimple/users/jane", "secret"});
  for (auto f : {"DisableDisplay", "DisableInput", "DisableUSB", "DisableAudio",
                 "DisableClipboard"})
    ok({"setextradata", "VM name", std::string{"VRDP/Feature/Client/"} + f,
        "1"});
  ok({"setextradata", "VM name", "VRDP/Feature/Client/DisableDisplay"});
  reopen();
  r = ok({"getextradata", "VM name", "VBoxAuthSimple/users/john"});
  EXPECT_EQ(r.out, "Value: 2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25f"
                   "e97bf527a25b\n");
  r = ok({"getextradata", "VM name", "VRDP/Feature/Client/DisableDisplay"});
  EXPECT_EQ(r.out, "No value set!\n");
  r = ok({"getextradata", "VM name", "enumerate"});
  EXPECT_NE(r.out.find("Key: VRDP/Feature/Client/DisableInput, Value: 1\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Key: VBoxAuthSimple/users/jane, Value: secret\n"),
            std::string::npos);
  ok({"setextradata", "global", "GUI/Test", "yes"});
  EXPECT_EQ(ok({"getextradata", "global", "GUI/Test"}).out, "Value: yes\n");
}

TEST_F(vrde_cmds, running_machine_allows_vrde_only) {
  auto uuid = info("VM name")["UUID"];
  reg->set_state("{" + uuid + "}", {"running", 1'000'000'000, 5004, 42});
  auto before = slurp(vbox_path("VM name"));
  auto r = run({"modifyvm", "VM name", "--memory", "512"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--memory"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("running"), std::string::npos) << r.err;
  r = run({"modifyvm", "VM name", "--vrdeport", "5001", "--teleporter", "on"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--teleporter"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(vbox_path("VM name")), before);
  ok({"modifyvm", "VM name", "--vrde", "on", "--vrdeport", "5004"});
  auto m = info("VM name");
  EXPECT_EQ(m["VMState"], "running");
  EXPECT_EQ(m["vrdeport"], "5004");
  EXPECT_EQ(m["VMStateChangeTime"], "1970-01-01T00:00:01.000000000Z");
  EXPECT_EQ(ok({"list", "runningvms"}).out, "\"VM name\" {" + uuid + "}\n");
  r = run({"storagectl", "VM name", "--name", "SATA", "--add", "sata"});
  EXPECT_EQ(r.exit_code, 1);
  r = run({"unregistervm", "VM name"});
  EXPECT_EQ(r.exit_code, 1);
}

TEST_F(vrde_cmds, kernel_initrd_cmdline) {
  write_file(cwd + "/bzImage", "kernel");
  write_file(cwd + "/initrd.img", "initrd");
  ok({"modifyvm", "VM name", "--kernel", "bzImage", "--initrd", "initrd.img",
      "--cmdline", "console=ttyS0 root=/dev/vda"});
  auto m = info("VM name");
  EXPECT_EQ(m["telebox-kernel"], cwd + "/bzImage");
  EXPECT_EQ(m["telebox-initrd"], cwd + "/initrd.img");
  EXPECT_EQ(m["telebox-cmdline"], "console=ttyS0 root=/dev/vda");
  EXPECT_EQ(ok({"getextradata", "VM name", "telebox/kernel"}).out,
            "Value: " + cwd + "/bzImage\n");
  auto human = ok({"showvminfo", "VM name"}).out;
  EXPECT_NE(human.find("Kernel:                      " + cwd + "/bzImage\n"),
            std::string::npos)
      << human;
  auto before = slurp(vbox_path("VM name"));
  auto r = run({"modifyvm", "VM name", "--kernel", "missing"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(cwd + "/missing"), std::string::npos);
  EXPECT_EQ(slurp(vbox_path("VM name")), before);
}

TEST_F(vrde_cmds, hardware_options_round_trip) {
  ok({"modifyvm",
      "VM name",
      "--cpus",
      "2",
      "--ioapic",
      "on",
      "--pae",
      "off",
      "--longmode",
      "on",
      "--hpet",
      "on",
      "--boot2",
      "disk",
      "--boot3",
      "net",
      "--boot4",
      "none",
      "--nic2",
      "intnet",
      "--intnet2",
      "lab",
      "--nictype2",
      "virtio",
      "--cableconnected2",
      "off",
      "--macaddress2",
      "080027aabbcc",
      "--cpuid-set",
      "1",
      "0",
      "0",
      "0",
      "80000000",
      "--cpuidset",
      "7:1",
      "1",
      "2",
      "3",
      "4",
      "--paravirtprovider",
      "kvm",
      "--largepages",
      "off",
      "--nestedpaging",
      "off",
      "--vtxvpid",
      "off",
      "--hwvirtex",
      "on",
      "--usbohci",
      "on",
      "--usb-xhci",
      "on",
      "--mouse",
      "usbtablet",
      "--keyboard",
      "usb",
      "--graphicscontroller",
      "vmsvga",
      "--monitorcount",
      "2",
      "--vram",
      "64",
      "--firmware",
      "efi",
      "--description",
      "a \"quoted\" machine"});
  auto m = info("VM name");
  EXPECT_EQ(m["cpus"], "2");
  EXPECT_EQ(m["ioapic"], "on");
  EXPECT_EQ(m["pae"], "off");
  EXPECT_EQ(m["hpet"], "on");
  EXPECT_EQ(m["boot2"], "disk");
  EXPECT_EQ(m["boot3"], "net");
  EXPECT_EQ(m["boot4"], "none");
  EXPECT_EQ(m["nic2"], "intnet");
  EXPECT_EQ(m["intnet2"], "lab");
  EXPECT_EQ(m["nictype2"], "virtio");
  EXPECT_EQ(m["cableconnected2"], "off");
  EXPECT_EQ(m["macaddress2"], "080027AABBCC");
  EXPECT_EQ(m["paravirtprovider"], "kvm");
  EXPECT_EQ(m["largepages"], "off");
  EXPECT_EQ(m["nestedpaging"], "off");
  EXPECT_EQ(m["vtxvpid"], "off");
  EXPECT_EQ(m["usb"], "on");
  EXPECT_EQ(m["xhci"], "on");
  EXPECT_EQ(m["ehci"], "off");
  EXPECT_EQ(m["hidpointing"], "usbtablet");
  EXPECT_EQ(m["hidkeyboard"], "usbkbd");
  EXPECT_EQ(m["graphicscontroller"], "vmsvga");
  EXPECT_EQ(m["monitorcount"], "2");
  EXPECT_EQ(m["vram"], "64");
  EXPECT_EQ(m["firmware"], "EFI");
  EXPECT_EQ(m["description"], "a \"quoted\" machine");
  auto out = ok({"showvminfo", "VM name", "--machinereadable"}).out;
  EXPECT_NE(out.find("cpuid=00000001,00000000,00000000,00000000,00000000,"
                     "80000000\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("cpuid=00000007,00000001,00000001,00000002,00000003,"
                     "00000004\n"),
            std::string::npos);
  ok({"modifyvm", "VM name", "--cpuidremove", "7:1"});
  out = ok({"showvminfo", "VM name", "--machinereadable"}).out;
  EXPECT_EQ(out.find("cpuid=00000007"), std::string::npos);
  ok({"modifyvm", "VM name", "--cpuidremoveall", "--usbohci", "off"});
  out = ok({"showvminfo", "VM name", "--machinereadable"}).out;
  EXPECT_EQ(out.find("cpuid="), std::string::npos);
  EXPECT_EQ(info("VM name")["usb"], "off");
}

} // namespace
} // namespace tb::cluster::test
