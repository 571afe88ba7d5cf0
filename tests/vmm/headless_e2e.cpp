// telebox-headless as a process: settings made with the settings library in
// a scratch VBOX_USER_HOME, the probe guest as kernel; checks stdout, exit
// codes, Logs/VBox.log and Logs/serial.log, SIGTERM handling, and the
// no-kernel error.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "settings/global_config.hpp"
#include "settings/machine_config.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in{p};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A scratch global folder with one registered machine "probe".
class headless_e2e : public testing::Test {
protected:
  void SetUp() override {
    home_ = fs::temp_directory_path()
            / ("tb-headless-" + std::to_string(::getpid()) + "-"
               + testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(home_);
    fs::create_directories(home_);
  }
  void TearDown() override { fs::remove_all(home_); }

  void make_vm(const std::string& cmdline, bool with_kernel = true) {
    auto global = tb::settings::global_config::load(home_.string());
    ASSERT_TRUE(global) << tb::error_text(global.error());
    auto path = (home_ / "VMs" / "probe" / "probe.vbox").string();
    fs::create_directories(home_ / "VMs" / "probe");
    auto cfg = tb::settings::machine_config::create(
        path, "probe", "{4a3c1d52-9d0e-4f4e-8b7a-0c1d2e3f4a5b}", "Other_64");
    auto hw = cfg.hardware();
    hw.memory_mb = 64;
    hw.long_mode = true;
    cfg.set_hardware(hw);
    if (with_kernel) {
      cfg.set_extradata("telebox/kernel", TB_PROBE_GUEST);
      cfg.set_extradata("telebox/cmdline", cmdline);
    }
    ASSERT_FALSE(cfg.save());
    global->add_machine({cfg.uuid(), path});
    ASSERT_FALSE(global->save());
    folder_ = home_ / "VMs" / "probe";
  }

  /// Starts telebox-headless with stdout/stderr to files.
  pid_t spawn(std::vector<std::string> args) {
    pid_t pid = fork();
    if (pid == 0) {
      setenv("VBOX_USER_HOME", home_.c_str(), 1);
      int out = ::open((home_ / "stdout").c_str(), O_WRONLY | O_CREAT, 0644);
      int err = ::open((home_ / "stderr").c_str(), O_WRONLY | O_CREAT, 0644);
      dup2(out, 1);
      dup2(err, 2);
      std::vector<char*> argv{const_cast<char*>(TB_HEADLESS)};
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(TB_HEADLESS, argv.data());
      _exit(127);
    }
    return pid;
  }

  /// Exit code, or -1 if it did not end within `limit`.
  int wait_exit(pid_t pid, std::chrono::seconds limit = 60s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      int st = 0;
      if (waitpid(pid, &st, WNOHANG) == pid)
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      std::this_thread::sleep_for(10ms);
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return -1;
  }

  bool wait_stdout(const std::string& what, std::chrono::seconds limit = 30s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (slurp(home_ / "stdout").find(what) != std::string::npos)
        return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  fs::path home_, folder_;
};

} // namespace

TEST_F(headless_e2e, boots_to_marker_and_exits_when_the_guest_powers_off) {
  make_vm("telebox.poweroff=1");
  auto pid = spawn({"--startvm", "probe", "--serial-stdout"});
  EXPECT_EQ(wait_exit(pid), 0);
  auto out = slurp(home_ / "stdout");
  EXPECT_NE(out.find("telebox Headless Interface"), std::string::npos);
  EXPECT_NE(out.find("VM 'probe' has been successfully started."),
            std::string::npos);
  EXPECT_NE(out.find("TELEBOX-GUEST-READY"), std::string::npos);
  EXPECT_NE(slurp(folder_ / "Logs" / "serial.log").find("TELEBOX-POWEROFF"),
            std::string::npos);
  auto log = slurp(folder_ / "Logs" / "VBox.log");
  EXPECT_NE(log.find("to 'poweroff' (guest entered ACPI S5)"),
            std::string::npos);
  EXPECT_NE(log.find("All VM threads joined"), std::string::npos);
}

TEST_F(headless_e2e, sigterm_powers_off_cleanly) {
  make_vm("telebox.ticker=10");
  auto pid = spawn({"--startvm", "{4a3c1d52-9d0e-4f4e-8b7a-0c1d2e3f4a5b}",
                    "--serial-stdout"});
  ASSERT_TRUE(wait_stdout("TK 2 "));
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid), 0);
  auto log = slurp(folder_ / "Logs" / "VBox.log");
  EXPECT_NE(log.find("Got signal"), std::string::npos);
  EXPECT_NE(log.find("All VM threads joined"), std::string::npos);
}

TEST_F(headless_e2e, logs_rotate_across_runs) {
  make_vm("telebox.poweroff=1");
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(wait_exit(spawn({"--startvm", "probe"})), 0);
  EXPECT_TRUE(fs::exists(folder_ / "Logs" / "VBox.log"));
  EXPECT_TRUE(fs::exists(folder_ / "Logs" / "VBox.log.1"));
  EXPECT_TRUE(fs::exists(folder_ / "Logs" / "VBox.log.2"));
}

TEST_F(headless_e2e, machine_without_kernel_fails_clearly) {
  make_vm("", false);
  EXPECT_EQ(wait_exit(spawn({"--startvm", "probe"})), 1);
  EXPECT_NE(slurp(home_ / "stderr")
                .find("VM 'probe' has no kernel: BIOS boot is not supported "
                      "yet; set one with telebox modifyvm probe --kernel "
                      "<file>"),
            std::string::npos);
}

TEST_F(headless_e2e, unknown_machine_and_bad_option_are_errors) {
  make_vm("");
  EXPECT_EQ(wait_exit(spawn({"--startvm", "nosuchvm"})), 1);
  EXPECT_NE(slurp(home_ / "stderr").find("nosuchvm"), std::string::npos);
  EXPECT_EQ(wait_exit(spawn({"--startvm", "probe", "--vrde", "maybe"})), 2);
}

TEST_F(headless_e2e, vrde_on_starts_the_server) {
  make_vm("telebox.poweroff=1");
  EXPECT_EQ(wait_exit(spawn({"--startvm", "probe", "--vrde", "on"})), 0);
  // The default port 3389 may be taken on a shared host: then VBoxHeadless's
  // failure line is the right answer.
  auto out = slurp(home_ / "stdout");
  EXPECT_TRUE(out.find("VRDE server is listening on port 3389.")
                  != std::string::npos
              || out.find("VRDE server failed to start.") != std::string::npos)
      << out;
  EXPECT_EQ(out.find("VRDE server is inactive."), std::string::npos);
}
