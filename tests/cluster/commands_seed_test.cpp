// Seed 002, section 7.1.3 ("Step by step: creating a virtual machine on a
// headless server"), steps 1-6 verbatim, checked through showvminfo, list
// hdds, a registry reopen and the real qemu-img.
#include <cstdio>
#include <filesystem>

#include "cli_fixture.hpp"

namespace tb::cluster::test {
namespace {

class seed_flow : public cli_fixture {};

std::string run_shell(const std::string& cmd, int& status) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) {
    status = -1;
    return out;
  }
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p))
    out.append(buf, n);
  status = pclose(p);
  return out;
}

TEST_F(seed_flow, headless_server_steps) {
  // 1. createvm
  auto r = ok({"createvm", "--name", "Windows XP", "--ostype", "WindowsXP",
               "--register"});
  auto vbox = vbox_path("Windows XP");
  EXPECT_EQ(r.out.rfind("Virtual machine 'Windows XP' is created and "
                        "registered.\nUUID: ",
                        0),
            0u)
      << r.out;
  EXPECT_NE(r.out.find("Settings file: '" + vbox + "'\n"), std::string::npos)
      << r.out;
  ASSERT_TRUE(std::filesystem::exists(vbox));
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].kind, "registered");
  EXPECT_EQ(r.events[0].name, "Windows XP");

  // 2. modifyvm
  ok({"modifyvm", "Windows XP", "--memory", "256", "--acpi", "on", "--boot1",
      "dvd", "--nic1", "nat"});

  // 3. createhd
  r = ok({"createhd", "--filename", "WinXP.vdi", "--size", "10000"});
  // Progress goes to stderr (as VBoxManage writes it), the result to stdout.
  EXPECT_EQ(r.err, "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%"
                   "...100%\n");
  EXPECT_EQ(r.out.rfind("Medium created. UUID: ", 0), 0u) << r.out;
  auto disk_uuid = r.out.substr(r.out.find("UUID: ") + 6, 36);
  auto disk = cwd + "/WinXP.vdi";
  ASSERT_TRUE(std::filesystem::exists(disk));

  // 4. storagectl
  ok({"storagectl", "Windows XP", "--name", "IDE Controller", "--add", "ide",
      "--controller", "PIIX4"});

  // 5. storageattach the disk
  ok({"storageattach", "Windows XP", "--storagectl", "IDE Controller", "--port",
      "0", "--device", "0", "--type", "hdd", "--medium", "WinXP.vdi"});

  // 6. the installation ISO
  auto iso = root + "/iso.iso";
  write_iso(iso);
  ok({"storageattach", "Windows XP", "--storagectl", "IDE Controller", "--port",
      "0", "--device", "1", "--type", "dvddrive", "--medium", iso});

  auto check = [&](std::map<std::string, std::string> m) {
    EXPECT_EQ(m["name"], "Windows XP");
    EXPECT_EQ(m["ostype"], "Windows XP (32-bit)");
    EXPECT_EQ(m["CfgFile"], vbox);
    EXPECT_EQ(m["memory"], "256");
    EXPECT_EQ(m["vram"], "16");
    EXPECT_EQ(m["acpi"], "on");
    EXPECT_EQ(m["boot1"], "dvd");
    EXPECT_EQ(m["nic1"], "nat");
    EXPECT_EQ(m["nictype1"], "82543GC");
    EXPECT_EQ(m["nic2"], "none");
    EXPECT_EQ(m["VMState"], "poweroff");
    EXPECT_EQ(m["storagecontrollername0"], "IDE Controller");
    EXPECT_EQ(m["storagecontrollertype0"], "PIIX4");
    EXPECT_EQ(m["storagecontrollerportcount0"], "2");
    EXPECT_EQ(m["IDE Controller-0-0"], disk);
    EXPECT_EQ(m["IDE Controller-ImageUUID-0-0"], disk_uuid);
    EXPECT_EQ(m["IDE Controller-0-1"], iso);
    EXPECT_EQ(m["IDE Controller-1-0"], "none");
    EXPECT_EQ(m["vrde"], "off");
  };
  check(info("Windows XP"));
  reopen();
  check(info("Windows XP"));

  r = ok({"list", "hdds"});
  EXPECT_NE(r.out.find("UUID:           " + disk_uuid), std::string::npos);
  EXPECT_NE(r.out.find("Location:       " + disk), std::string::npos);
  EXPECT_NE(r.out.find("Capacity:       10000 MBytes"), std::string::npos);
  EXPECT_NE(r.out.find("In use by VMs:  Windows XP (UUID: "), std::string::npos)
      << r.out;
  r = ok({"list", "vms"});
  EXPECT_EQ(r.out.find("\"Windows XP\" {"), 0u) << r.out;

  int status = 0;
  auto qemu = run_shell("qemu-img check -f vdi '" + disk + "'", status);
  EXPECT_EQ(status, 0) << qemu;
  auto qinfo = run_shell("qemu-img info -f vdi '" + disk + "'", status);
  EXPECT_EQ(status, 0) << qinfo;
  EXPECT_NE(qinfo.find("10485760000 bytes"), std::string::npos) << qinfo;

  // The human form carries the same facts.
  r = ok({"showvminfo", "Windows XP"});
  EXPECT_NE(r.out.find("Name:                        Windows XP\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Memory size:                 256MB\n"),
            std::string::npos);
  EXPECT_NE(r.out.find("#0: 'IDE Controller', Type: PIIX4, Instance: 0, "
                       "Ports: 2 (max 2), Bootable\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  Port 0, Unit 0: UUID: " + disk_uuid),
            std::string::npos);
}

TEST_F(seed_flow, old_remember_flag_and_openmedium) {
  // Seeds 000/001 spell step 3 with --remember and register the ISO with
  // the 3.x "openmedium dvd".
  ok({"createvm", "--name", "Windows XP", "--ostype", "WindowsXP",
      "--register"});
  ok({"createhd", "--filename", "WinXP.vdi", "--size", "64", "--remember"});
  auto iso = root + "/iso.iso";
  write_iso(iso, 65536);
  ok({"openmedium", "dvd", iso});
  auto r = ok({"list", "dvds"});
  EXPECT_NE(r.out.find("Location:       " + iso), std::string::npos) << r.out;
  ok({"storagectl", "Windows XP", "--name", "IDE Controller", "--add", "ide"});
  ok({"storageattach", "Windows XP", "--storagectl", "IDE Controller", "--port",
      "0", "--device", "1", "--type", "dvddrive", "--medium", iso});
  EXPECT_EQ(info("Windows XP")["IDE Controller-0-1"], iso);
}

TEST_F(seed_flow, list_ostypes_has_the_seed_type) {
  auto r = ok({"list", "ostypes"});
  EXPECT_NE(r.out.find("ID:          WindowsXP\nDescription: Windows XP "
                       "(32-bit)\nFamily ID:   Windows\nFamily Desc: "
                       "Microsoft Windows\n64 bit:      false\n\n"),
            std::string::npos);
  for (auto id : {"Windows7_64", "Windows10_64", "Windows11_64", "Ubuntu_64",
                  "Debian_64", "Debian12_64", "Linux_64", "Linux26_64", "Other",
                  "Other_64", "FreeBSD_64"})
    EXPECT_NE(r.out.find(std::string{"ID:          "} + id + "\n"),
              std::string::npos)
        << id;
}

TEST_F(seed_flow, ostype_defaults_apply) {
  ok({"createvm", "--name", "u", "--ostype", "Ubuntu_64", "--register"});
  auto m = info("u");
  EXPECT_EQ(m["memory"], "2048");
  EXPECT_EQ(m["nictype1"], "82540EM");
  EXPECT_EQ(m["graphicscontroller"], "vmsvga");
  EXPECT_EQ(m["longmode"], "on");
  EXPECT_EQ(m["ostype"], "Ubuntu (64-bit)");
  ok({"createvm", "--name", "d", "--ostype", "Debian12_64", "--register",
      "--default"});
  m = info("d");
  EXPECT_EQ(m["storagecontrollername0"], "SATA");
  EXPECT_EQ(m["storagecontrollertype0"], "IntelAhci");
  EXPECT_EQ(m["storagecontrollername1"], "IDE");
  EXPECT_EQ(m["IDE-1-0"], "emptydrive");
}

} // namespace
} // namespace tb::cluster::test
