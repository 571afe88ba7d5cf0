// Global folder resolution and machine file names.
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "settings/paths.hpp"
#include "test_util.hpp"

namespace tb::settings {
namespace {

namespace fs = std::filesystem;
using test::temp_folder;

/// Sets environment variables for one test and restores them afterwards.
class env_guard {
public:
  env_guard() {
    for (auto n : names)
      if (const char* v = std::getenv(n))
        saved_.emplace_back(n, std::string{v});
      else
        saved_.emplace_back(n, std::nullopt);
  }
  ~env_guard() {
    for (auto& [n, v] : saved_)
      v ? ::setenv(n, v->c_str(), 1) : ::unsetenv(n);
  }
  static void set(const char* n, const std::string& v) {
    ::setenv(n, v.c_str(), 1);
  }

private:
  static constexpr const char* names[] = {"VBOX_USER_HOME", "XDG_CONFIG_HOME",
                                          "HOME"};
  std::vector<std::pair<const char*, std::optional<std::string>>> saved_;
};

TEST(paths, vbox_user_home_wins) {
  env_guard env;
  temp_folder dir;
  fs::create_directory(dir / ".VirtualBox");
  env.set("HOME", dir.path());
  env.set("VBOX_USER_HOME", dir / "custom");
  auto g = global_folder();
  ASSERT_TRUE(g);
  EXPECT_EQ(*g, dir / "custom");
  EXPECT_TRUE(fs::is_directory(*g)); // created
}

TEST(paths, legacy_dot_virtualbox_before_xdg) {
  env_guard env;
  temp_folder dir;
  ::unsetenv("VBOX_USER_HOME");
  env.set("HOME", dir.path());
  env.set("XDG_CONFIG_HOME", dir / "xdg");
  fs::create_directory(dir / ".VirtualBox");
  EXPECT_EQ(*global_folder(), dir / ".VirtualBox");
  fs::remove(dir / ".VirtualBox");
  auto g = global_folder();
  ASSERT_TRUE(g);
  EXPECT_EQ(*g, dir / "xdg/VirtualBox");
  struct stat st {};
  ASSERT_EQ(::stat(g->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(paths, default_is_dot_config) {
  env_guard env;
  temp_folder dir;
  ::unsetenv("VBOX_USER_HOME");
  ::unsetenv("XDG_CONFIG_HOME");
  env.set("HOME", dir.path());
  EXPECT_EQ(*global_folder(), dir / ".config/VirtualBox");
  EXPECT_EQ(default_machine_folder(), dir / "VirtualBox VMs");
  EXPECT_EQ(home_folder(), dir.path());
}

TEST(paths, sanitises_names_like_virtualbox) {
  EXPECT_EQ(sanitise_machine_name("Windows 10"), "Windows 10");
  EXPECT_EQ(sanitise_machine_name("a/b\\c:d*e"), "a_b_c_d_e");
  EXPECT_EQ(sanitise_machine_name(".hidden."), "_hidden_");
  EXPECT_EQ(sanitise_machine_name("-x"), "_x");
  EXPECT_EQ(sanitise_machine_name(" x "), "_x_");
  EXPECT_EQ(sanitise_machine_name("Caf\xC3\xA9 (1)"), "Caf\xC3\xA9 (1)");
  EXPECT_EQ(sanitise_machine_name("\xF0\x9F\x98\x80"), "_"); // emoji
  EXPECT_EQ(compose_machine_file("/vms", "a/b"), "/vms/a_b/a_b.vbox");
}

TEST(paths, absolute_and_relative) {
  EXPECT_EQ(absolute_path("disk.vdi", "/vms/a"), "/vms/a/disk.vdi");
  EXPECT_EQ(absolute_path("/x/../y/d.vdi", "/vms"), "/y/d.vdi");
  EXPECT_EQ(absolute_path("Snapshots/", "/vms/a"), "/vms/a/Snapshots");
  EXPECT_EQ(relative_if_inside("/vms/a/disk.vdi", "/vms/a"), "disk.vdi");
  EXPECT_EQ(relative_if_inside("/vms/a/disk.vdi", "/vms/a/"), "disk.vdi");
  EXPECT_EQ(relative_if_inside("/vms/ab/disk.vdi", "/vms/a"),
            "/vms/ab/disk.vdi");
}

} // namespace
} // namespace tb::settings
