// Versions, reading and crash-safe writing of settings files.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "settings/errors.hpp"
#include "settings/settings_file.hpp"
#include "test_util.hpp"

namespace tb::settings {
namespace {

using test::slurp;
using test::spit;
using test::temp_folder;
namespace fs = std::filesystem;

TEST(settings_version, parses_and_compares) {
  auto v = settings_version::parse("1.16-linux");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->major, 1);
  EXPECT_EQ(v->minor, 16);
  EXPECT_EQ(v->platform, "linux");
  EXPECT_EQ(v->to_string(), "1.16-linux");
  auto w = settings_version::parse("1.9-windows");
  ASSERT_TRUE(w);
  EXPECT_LT(*w, *v);
  EXPECT_EQ(*settings_version::parse("1.16-macosx"), *v);
  for (auto bad : {"1.x-linux", "1.16", "-linux", "1.-linux", "a.b-c", "1.16-",
                   "1.16-Linux!", "", "11111.1-linux"}) {
    auto r = settings_version::parse(bad);
    EXPECT_FALSE(r) << bad;
    if (!r)
      EXPECT_EQ(r.error(), settings_errc::bad_version);
  }
}

std::string doc_text(const std::string& version, const std::string& body) {
  return "<?xml version=\"1.0\"?>\n<VirtualBox xmlns=\"http://www.virtualbox."
         "org/\" version=\""
         + version + "\">\n" + body + "</VirtualBox>\n";
}

TEST(read_settings_file, checks_root_and_version) {
  temp_folder dir;
  auto check = [&](const std::string& text, settings_errc code,
                   const std::string& needle) {
    auto path = dir / "x.vbox";
    spit(path, text);
    auto r = read_settings_file(path);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error(), code) << error_text(r.error());
    auto msg = error_text(r.error());
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  };
  check("<Other version=\"1.19-linux\"/>", settings_errc::bad_schema,
        "<Other>");
  check("<VirtualBox/>", settings_errc::bad_schema, "no version");
  check("<VirtualBox version=\"1.x-linux\"/>", settings_errc::bad_version,
        "1.x-linux");
  check("<VirtualBox version=\"1.2-linux\"/>", settings_errc::bad_version,
        "not supported");
  check("<VirtualBox version=\"2.0-linux\"/>", settings_errc::bad_version,
        "not supported");
  check(doc_text("1.19-linux", "<Machine>").substr(0, 80),
        settings_errc::malformed_xml, "line");
  auto missing = read_settings_file(dir / "nope.vbox");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), settings_errc::io_error);
  EXPECT_NE(error_text(missing.error()).find(dir / "nope.vbox"),
            std::string::npos);
  spit(dir / "future.vbox", doc_text("1.25-linux", ""));
  EXPECT_TRUE(read_settings_file(dir / "future.vbox"));
}

xml_document make_doc(const std::string& marker, size_t pad = 0) {
  auto doc = parse_xml(doc_text("1.19-linux", "<Global/>"), "t");
  auto& g = *doc->root->child("Global");
  g.set_attr("marker", marker);
  g.set_attr("pad", std::string(pad, 'x'));
  return std::move(*doc);
}

TEST(write_settings_file, keeps_prev_and_leaves_no_tmp) {
  temp_folder dir;
  auto path = dir / "VirtualBox.xml";
  ASSERT_FALSE(write_settings_file(path, make_doc("one")));
  EXPECT_FALSE(fs::exists(path + "-prev")); // nothing to keep yet
  EXPECT_FALSE(fs::exists(path + "-tmp"));
  auto first = slurp(path);
  ASSERT_FALSE(write_settings_file(path, make_doc("two")));
  EXPECT_EQ(slurp(path + "-prev"), first);
  EXPECT_FALSE(fs::exists(path + "-tmp"));
  EXPECT_EQ(slurp(path), write_xml(make_doc("two")));
  // A file under 16 bytes is not worth a -prev.
  spit(path, "tiny");
  ASSERT_FALSE(write_settings_file(path, make_doc("three")));
  EXPECT_EQ(slurp(path + "-prev"), first);
}

TEST(write_settings_file, new_files_are_private_existing_modes_kept) {
  temp_folder dir;
  auto path = dir / "VirtualBox.xml";
  ASSERT_FALSE(write_settings_file(path, make_doc("one")));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ::chmod(path.c_str(), 0640);
  ASSERT_FALSE(write_settings_file(path, make_doc("two")));
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

void expect_failure_keeps_original(const std::string& path,
                                   const std::string& needle) {
  auto before = slurp(path);
  auto err = write_settings_file(path, make_doc("new"));
  ASSERT_TRUE(err);
  EXPECT_EQ(err, settings_errc::io_error);
  EXPECT_NE(error_text(err).find(needle), std::string::npos) << error_text(err);
  EXPECT_EQ(slurp(path), before);
  EXPECT_FALSE(fs::is_regular_file(path + "-tmp"));
}

TEST(write_settings_file, failure_points_leave_original) {
  temp_folder dir;
  auto path = dir / "m.vbox";
  ASSERT_FALSE(write_settings_file(path, make_doc("old")));
  // The temp name is taken by a folder: creating it fails.
  fs::create_directory(path + "-tmp");
  expect_failure_keeps_original(path, path + "-tmp");
  fs::remove(path + "-tmp");
  // The -prev name is a non-empty folder: keeping the backup fails.
  fs::create_directories(path + "-prev/x");
  expect_failure_keeps_original(path, path + "-prev");
  fs::remove_all(path + "-prev");
  // A folder that does not exist.
  auto err = write_settings_file(dir / "no/such/m.vbox", make_doc("x"));
  ASSERT_TRUE(err);
  EXPECT_NE(error_text(err).find(dir / "no/such/m.vbox"), std::string::npos);
}

TEST(write_settings_file, read_only_folder) {
  temp_folder dir;
  auto path = dir / "m.vbox";
  ASSERT_FALSE(write_settings_file(path, make_doc("old")));
  auto before = slurp(path);
  ::chmod(dir.path().c_str(), 0555);
  // Root ignores folder permissions: run the write as "nobody" then.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0))
      ::_exit(3);
    auto e = write_settings_file(path, make_doc("new"));
    if (!e)
      ::_exit(1);
    ::_exit(error_text(e).find(path) != std::string::npos ? 0 : 2);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::chmod(dir.path().c_str(), 0700);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(slurp(path), before);
  EXPECT_FALSE(fs::exists(path + "-tmp"));
}

TEST(write_settings_file, sigkill_never_leaves_a_broken_file) {
  temp_folder dir;
  auto path = dir / "m.vbox";
  // Big enough that a write takes a while, so kills land inside one.
  auto a = make_doc("A", 400000);
  auto b = make_doc("B", 300000);
  auto text_a = write_xml(a);
  auto text_b = write_xml(b);
  ASSERT_FALSE(write_settings_file(path, a));
  int mid_write = 0; // kills that left a -tmp behind: inside a rewrite
  for (int round = 0; round < 25; ++round) {
    int done[2];
    ASSERT_EQ(::pipe(done), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(done[0]);
      for (int i = 0;; ++i) {
        if (!write_settings_file(path, i % 2 ? a : b)) {
          char c = 1;
          (void)!::write(done[1], &c, 1); // one complete rewrite
        }
      }
    }
    ::close(done[1]);
    // Let the child finish 1..3 rewrites, then kill it in the next one.
    for (int k = 0; k <= round % 3; ++k) {
      char c = 0;
      ASSERT_EQ(::read(done[0], &c, 1), 1) << "child made no progress";
    }
    ::usleep(static_cast<useconds_t>((round % 5) * 300));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(done[0]);
    EXPECT_TRUE(WIFSIGNALED(status));
    auto now = slurp(path);
    ASSERT_TRUE(now == text_a || now == text_b) << "round " << round;
    ASSERT_TRUE(read_settings_file(path)) << "round " << round;
    mid_write += fs::exists(path + "-tmp");
  }
  RecordProperty("kills_inside_a_rewrite", mid_write);
  std::printf("%d of 25 kills landed inside a rewrite\n", mid_write);
}

TEST(upgrade_backup, copies_once_under_versioned_name) {
  temp_folder dir;
  auto path = dir / "MyVM.vbox";
  spit(path, doc_text("1.16-linux", ""));
  auto v = *settings_version::parse("1.16-linux");
  EXPECT_EQ(upgrade_backup_path(path, v), dir / "MyVM-1.16-linux.vbox");
  EXPECT_EQ(upgrade_backup_path(dir / "VirtualBox.xml", v),
            dir / "VirtualBox-1.16-linux.xml");
  backup_before_upgrade(path, v);
  EXPECT_EQ(slurp(dir / "MyVM-1.16-linux.vbox"), slurp(path));
  spit(path, "changed");
  backup_before_upgrade(path, v);
  EXPECT_EQ(slurp(dir / "MyVM-1.16-linux.vbox"), doc_text("1.16-linux", ""));
}

} // namespace
} // namespace tb::settings
