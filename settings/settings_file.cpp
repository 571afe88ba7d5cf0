// Versions, reading, crash-safe writing and upgrade backups of settings
// files (virtualbox-compat.md 2.2-2.3).
#include "settings/settings_file.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "settings/errors.hpp"

namespace tb::settings {

namespace {

/// Settings files are small; anything this big is not one.
constexpr off_t max_settings_size = 64 << 20;

caf::error io_fail(const std::string& what, const std::string& path, int err) {
  return caf::make_error(settings_errc::io_error,
                         what + " " + path + ": " + std::strerror(err));
}

bool parse_int(std::string_view s, int& out) {
  if (s.empty() || s.size() > 4)
    return false;
  for (char c : s)
    if (c < '0' || c > '9')
      return false;
  std::from_chars(s.data(), s.data() + s.size(), out);
  return true;
}

/// Writes everything; returns 0 or the errno that stopped it.
int write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    auto n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return errno;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

/// write_all, fsync and close; returns 0 or the first errno.
int write_sync_close(int fd, std::string_view data) {
  int err = write_all(fd, data);
  if (err == 0 && ::fsync(fd) != 0)
    err = errno;
  if (::close(fd) != 0 && err == 0)
    err = errno;
  return err;
}

std::string folder_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

/// Writes `text` to `tmp` and fsyncs it; removes it again on failure. The
/// mode is the replaced file's, else 0600 (the files hold password hashes).
caf::error write_temp(const std::string& tmp, std::string_view text,
                      mode_t mode) {
  int fd = ::open(tmp.c_str(),
                  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0)
    return io_fail("cannot create", tmp, errno);
  ::fchmod(fd, mode); // O_CREAT's mode does not apply to a stale file
  if (int err = write_sync_close(fd, text); err != 0) {
    ::unlink(tmp.c_str());
    return io_fail("cannot write", tmp, err);
  }
  return caf::none;
}

/// Makes `<path>-prev` a second name of the current `<path>` (when that is
/// at least 16 bytes). A hard link, unlike VirtualBox's rename, never leaves
/// a moment in which `<path>` is missing.
caf::error keep_previous(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return caf::none;
    return io_fail("cannot inspect", path, errno);
  }
  if (!S_ISREG(st.st_mode))
    return caf::make_error(settings_errc::io_error,
                           "cannot replace " + path + ": not a regular file");
  if (st.st_size < 16)
    return caf::none;
  auto prev = path + "-prev";
  if (::unlink(prev.c_str()) != 0 && errno != ENOENT)
    return io_fail("cannot remove", prev, errno);
  if (::link(path.c_str(), prev.c_str()) == 0)
    return caf::none;
  if (errno != EPERM && errno != ENOTSUP && errno != EMLINK)
    return io_fail("cannot keep backup", prev, errno);
  // No hard links on this file system: VirtualBox's way, a rename.
  if (::rename(path.c_str(), prev.c_str()) != 0)
    return io_fail("cannot keep backup", prev, errno);
  return caf::none;
}

caf::error sync_folder(const std::string& folder) {
  int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return io_fail("cannot open folder", folder, errno);
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0 && saved != EINVAL && saved != EROFS)
    return io_fail("cannot flush folder", folder, saved);
  return caf::none;
}

} // namespace

caf::expected<settings_version> settings_version::parse(std::string_view text) {
  auto bad = [&] {
    return caf::make_error(settings_errc::bad_version,
                           "malformed settings version \"" + std::string{text}
                               + "\" (expected e.g. 1.19-linux)");
  };
  auto dot = text.find('.');
  auto dash = text.find('-');
  if (dot == std::string_view::npos || dash == std::string_view::npos
      || dash < dot)
    return bad();
  settings_version v;
  if (!parse_int(text.substr(0, dot), v.major)
      || !parse_int(text.substr(dot + 1, dash - dot - 1), v.minor))
    return bad();
  auto platform = text.substr(dash + 1);
  if (platform.empty() || platform.size() > 16)
    return bad();
  for (char c : platform)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
      return bad();
  v.platform.assign(platform);
  return v;
}

std::string settings_version::to_string() const {
  return std::to_string(major) + "." + std::to_string(minor) + "-" + platform;
}

caf::expected<settings_version> settings_root_version(const xml_document& doc,
                                                      std::string_view what) {
  auto fail = [&](settings_errc code, const std::string& why) {
    return caf::make_error(code, std::string{what} + ": " + why);
  };
  if (!doc.root || doc.root->name() != "VirtualBox")
    return fail(settings_errc::bad_schema,
                "root element is <" + (doc.root ? doc.root->name() : "")
                    + ">, not <VirtualBox>");
  const auto* text = doc.root->attr("version");
  if (!text)
    return fail(settings_errc::bad_schema,
                "<VirtualBox> has no version attribute");
  auto v = settings_version::parse(*text);
  if (!v)
    return fail(settings_errc::bad_version,
                "malformed settings version \"" + *text + "\"");
  if (v->major != 1 || v->minor < 3)
    return fail(settings_errc::bad_version,
                "settings version " + *text
                    + " is not supported (readable: 1.3 to 1.19)");
  return v;
}

caf::expected<std::string> read_text_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return io_fail("cannot open", path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)
      || st.st_size > max_settings_size) {
    ::close(fd);
    return caf::make_error(settings_errc::io_error,
                           "cannot read " + path
                               + ": not a regular file of at most 64 MiB");
  }
  std::string text;
  char buf[65536];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int saved = errno;
      ::close(fd);
      return io_fail("cannot read", path, saved);
    }
    if (n == 0)
      break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > static_cast<size_t>(max_settings_size)) {
      ::close(fd);
      return caf::make_error(settings_errc::io_error,
                             "cannot read " + path + ": larger than 64 MiB");
    }
  }
  ::close(fd);
  return text;
}

caf::expected<xml_document> read_settings_file(const std::string& path) {
  auto text = read_text_file(path);
  if (!text)
    return std::move(text.error());
  auto doc = parse_xml(*text, path);
  if (!doc)
    return std::move(doc.error());
  if (auto v = settings_root_version(*doc, path); !v)
    return std::move(v.error());
  return doc;
}

caf::error write_settings_file(const std::string& path,
                               const xml_document& doc) {
  auto tmp = path + "-tmp";
  struct stat st {};
  mode_t mode = ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0600;
  if (auto err = write_temp(tmp, write_xml(doc), mode))
    return err;
  if (auto err = keep_previous(path)) {
    ::unlink(tmp.c_str());
    return err;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(tmp.c_str());
    return io_fail("cannot replace", path, saved);
  }
  return sync_folder(folder_of(path));
}

std::string upgrade_backup_path(const std::string& path,
                                const settings_version& read_version) {
  auto slash = path.rfind('/');
  auto dot = path.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)
      || dot == (slash == std::string::npos ? 0 : slash + 1))
    return path + "-" + read_version.to_string();
  return path.substr(0, dot) + "-" + read_version.to_string()
         + path.substr(dot);
}

caf::error copy_upgrade_backup(const std::string& path,
                               const settings_version& read_version) {
  auto target = upgrade_backup_path(path, read_version);
  struct stat st {};
  if (::stat(target.c_str(), &st) == 0)
    return caf::none; // once only
  auto text = read_text_file(path);
  if (!text)
    return caf::none; // nothing to back up; VirtualBox ignores this too
  int fd =
      ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return errno == ENOSPC ? io_fail("cannot back up to", target, ENOSPC)
                           : caf::none;
  int err = write_sync_close(fd, *text);
  if (err == 0)
    return caf::none;
  ::unlink(target.c_str());
  // Only a full disk stops the save (VirtualBox ignores other failures).
  return err == ENOSPC || err == EDQUOT
             ? io_fail("cannot back up to", target, err)
             : caf::none;
}

void backup_before_upgrade(const std::string& path,
                           const settings_version& read_version) {
  (void)copy_upgrade_backup(path, read_version);
}

} // namespace tb::settings
