// The telebox CLI through the real host service: autostart, the endpoint
// file, seed 002's headless steps, events, concurrent clients, crashes.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/support/process.hpp"

namespace {

using tb::test::process_result;
using tb::test::read_file;
using tb::test::run_process;
using tb::test::temp_folder;

/// Alive and not a zombie (PID 1 here may not reap orphans promptly).
bool process_alive(int pid) {
  if (::kill(pid, 0) != 0)
    return false;
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size()
         || stat[paren + 2] != 'Z';
}

class cli : public ::testing::Test {
protected:
  std::string home() const { return home_.path() + "/vbox"; }

  process_result tb(std::vector<std::string> args, std::string input = {}) {
    args.insert(args.begin(), std::string{TB_BINARY_DIR} + "/bin/telebox");
    return run_process(args, env(), input);
  }

  std::map<std::string, std::string> env() const {
    return {{"VBOX_USER_HOME", home()},
            {"HOME", home_.path()},
            {"TELEBOX_IDLE_EXIT_MS", "1000"}};
  }

  int daemon_pid() const {
    std::ifstream in(home() + "/teleboxd.endpoint");
    std::string magic, secret;
    int port = 0, pid = 0;
    in >> magic >> port >> secret >> pid;
    return pid;
  }

  void TearDown() override {
    if (int pid = daemon_pid(); pid > 0)
      ::kill(pid, SIGTERM);
  }

  temp_folder home_;
};

TEST_F(cli, first_command_starts_the_host_service_on_loopback_only) {
  auto r = tb({"list", "vms"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  struct stat st {};
  ASSERT_EQ(::stat((home() + "/teleboxd.endpoint").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(home() + "/teleboxd.endpoint");
  std::string magic, secret;
  int port = 0;
  in >> magic >> port >> secret;
  char hex_port[8];
  std::snprintf(hex_port, sizeof(hex_port), "%04X", port);
  // The listener's local address in /proc/net/tcp is 0100007F (127.0.0.1).
  auto tcp = read_file("/proc/net/tcp");
  EXPECT_NE(tcp.find(std::string{"0100007F:"} + hex_port), std::string::npos);
  EXPECT_EQ(tcp.find(std::string{"00000000:"} + hex_port), std::string::npos);
  EXPECT_EQ(read_file("/proc/net/tcp6")
                .find(std::string{":"} + hex_port + " 00000000"),
            std::string::npos);
}

TEST_F(cli, seed_002_steps_one_to_five_run_verbatim) {
  ASSERT_EQ(::mkdir(home().c_str(), 0700), 0);
  auto work = home_.path() + "/work";
  std::filesystem::create_directories(work);
  ASSERT_EQ(::chdir(work.c_str()), 0);
  auto r = tb({"createvm", "--name", "Windows XP", "--ostype", "WindowsXP",
               "--register"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Virtual machine 'Windows XP' is created and "
                       "registered."),
            std::string::npos);
  r = tb({"modifyvm", "Windows XP", "--memory", "256", "--acpi", "on",
          "--boot1", "dvd", "--nic1", "nat"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = tb({"createhd", "--filename", "WinXP.vdi", "--size", "10000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // VBoxManage prints progress on stderr, the result on stdout.
  EXPECT_NE(r.err.find("0%...10%...20%"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("Medium created. UUID: "), std::string::npos);
  r = tb({"storagectl", "Windows XP", "--name", "IDE Controller", "--add",
          "ide", "--controller", "PIIX4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = tb({"storageattach", "Windows XP", "--storagectl", "IDE Controller",
          "--port", "0", "--device", "0", "--type", "hdd", "--medium",
          "WinXP.vdi"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = tb({"showvminfo", "Windows XP", "--machinereadable"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("memory=256\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("acpi=\"on\"\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("boot1=\"dvd\"\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nic1=\"nat\"\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("storagecontrollername0=\"IDE Controller\"\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\"IDE Controller-0-0\"=\"" + work + "/WinXP.vdi\""),
            std::string::npos)
      << r.out;
  auto check = run_process({"/usr/bin/qemu-img", "check", work + "/WinXP.vdi"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

TEST_F(cli, watchers_hear_about_registrations) {
  ASSERT_EQ(tb({"list", "vms"}).exit_code, 0);
  process_result watched;
  std::thread watcher([&] { watched = tb({"watch", "--count", "1"}); });
  // Give the watcher time to subscribe before the event happens.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto r = tb({"createvm", "--name", "w1", "--register"});
  watcher.join();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(watched.out.find("registered"), std::string::npos)
      << watched.out << watched.err;
  EXPECT_NE(watched.out.find("\"w1\""), std::string::npos) << watched.out;
}

TEST_F(cli, two_clients_changing_one_machine_lose_no_update) {
  ASSERT_EQ(tb({"createvm", "--name", "shared", "--register"}).exit_code, 0);
  auto writer = [&](const std::string& prefix) {
    for (int i = 0; i < 15; ++i)
      tb({"setextradata", "shared", prefix + std::to_string(i), "v"});
  };
  std::thread a(writer, "a"), b(writer, "b");
  a.join();
  b.join();
  auto r = tb({"getextradata", "shared", "enumerate"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (int i = 0; i < 15; ++i) {
    EXPECT_NE(r.out.find("Key: a" + std::to_string(i) + ", Value: v"),
              std::string::npos);
    EXPECT_NE(r.out.find("Key: b" + std::to_string(i) + ", Value: v"),
              std::string::npos);
  }
}

TEST_F(cli, killing_the_host_service_mid_write_leaves_valid_files) {
  ASSERT_EQ(tb({"createvm", "--name", "crash", "--register"}).exit_code, 0);
  for (int round = 0; round < 20; ++round) {
    std::thread writer([&] {
      for (int i = 0; i < 5; ++i)
        tb({"setextradata", "crash", "k" + std::to_string(round),
            std::string(200 + i, 'x')});
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + round * 7));
    if (int pid = daemon_pid(); pid > 0)
      ::kill(pid, SIGKILL);
    writer.join();
    auto r = tb({"showvminfo", "crash", "--machinereadable"});
    ASSERT_EQ(r.exit_code, 0) << "round " << round << ": " << r.err;
    ASSERT_NE(r.out.find("name=\"crash\""), std::string::npos);
  }
}

TEST_F(cli, unknown_machine_is_an_error_on_stderr_with_exit_code_one) {
  auto r = tb({"showvminfo", "no-such-vm"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("no-such-vm"), std::string::npos) << r.err;
}

TEST_F(cli, host_service_exits_when_idle) {
  ASSERT_EQ(tb({"list", "vms"}).exit_code, 0);
  int pid = daemon_pid();
  ASSERT_GT(pid, 0);
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gone = !process_alive(pid);
  }
  EXPECT_TRUE(gone);
  EXPECT_FALSE(std::filesystem::exists(home() + "/teleboxd.endpoint"));
}

} // namespace
