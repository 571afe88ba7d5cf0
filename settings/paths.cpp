// VirtualBox's folder conventions (virtualbox-compat.md 2.1).
#include "settings/paths.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "settings/errors.hpp"

namespace fs = std::filesystem;

namespace tb::settings {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string{v} : std::string{};
}

std::string cwd() {
  std::error_code ec;
  auto p = fs::current_path(ec);
  return ec ? std::string{"/"} : p.string();
}

/// Drops a trailing '/' (but keeps "/").
std::string strip_slash(std::string p) {
  while (p.size() > 1 && p.back() == '/')
    p.pop_back();
  return p;
}

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

/// mkdir -p with mode 0700 for every folder created.
caf::error make_folder(const std::string& p) {
  fs::path path{p};
  fs::path cur;
  for (const auto& part : path) {
    cur /= part;
    if (is_dir(cur.string()))
      continue;
    if (::mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST)
      return caf::make_error(settings_errc::io_error,
                             "cannot create folder " + cur.string() + ": "
                                 + std::strerror(errno));
  }
  return caf::none;
}

/// Whether `cp` may appear in a machine file name (VBox's allowed set).
bool allowed_in_name(uint32_t cp) {
  if (cp >= 0xA0 && cp <= 0xD7AF)
    return true;
  if (cp >= 0x80)
    return false;
  char c = static_cast<char>(cp);
  return c == ' ' || c == '(' || c == ')' || c == '-' || c == '.' || c == '_'
         || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
         || (c >= 'A' && c <= 'Z');
}

} // namespace

std::string home_folder() {
  auto home = env("HOME");
  if (!home.empty())
    return home;
  if (const auto* pw = ::getpwuid(::getuid()); pw && pw->pw_dir)
    return pw->pw_dir;
  return "/";
}

caf::expected<std::string> global_folder() {
  std::string folder;
  auto user_home = env("VBOX_USER_HOME");
  if (!user_home.empty()) {
    folder = absolute_path(user_home, cwd());
  } else if (auto legacy = home_folder() + "/.VirtualBox"; is_dir(legacy)) {
    return legacy;
  } else {
    auto xdg = env("XDG_CONFIG_HOME");
    if (xdg.empty())
      xdg = home_folder() + "/.config";
    folder = absolute_path(xdg, cwd()) + "/VirtualBox";
  }
  if (!is_dir(folder))
    if (auto err = make_folder(folder))
      return err;
  return folder;
}

std::string default_machine_folder() {
  return home_folder() + "/VirtualBox VMs";
}

std::string sanitise_machine_name(const std::string& name) {
  // Decode UTF-8 code point by code point; each disallowed one (and each
  // invalid byte) becomes a single '_'.
  std::string out;
  for (size_t i = 0; i < name.size();) {
    auto b0 = static_cast<unsigned char>(name[i]);
    size_t len = b0 < 0x80         ? 1
                 : (b0 >> 5) == 6  ? 2
                 : (b0 >> 4) == 14 ? 3
                 : (b0 >> 3) == 30 ? 4
                                   : 0;
    uint32_t cp = 0;
    bool ok = len != 0 && i + len <= name.size();
    if (ok) {
      cp = len == 1 ? b0 : b0 & (0x7F >> len);
      for (size_t k = 1; k < len && ok; ++k) {
        auto b = static_cast<unsigned char>(name[i + k]);
        ok = (b & 0xC0) == 0x80;
        cp = (cp << 6) | (b & 0x3F);
      }
    }
    if (ok && allowed_in_name(cp)) {
      out.append(name, i, len);
      i += len;
    } else {
      out += '_';
      i += ok ? len : 1;
    }
  }
  if (!out.empty()
      && (out.front() == '.' || out.front() == '-' || out.front() == ' '))
    out.front() = '_';
  if (!out.empty() && (out.back() == '.' || out.back() == ' '))
    out.back() = '_';
  return out;
}

std::string compose_machine_file(const std::string& base_folder,
                                 const std::string& name) {
  auto clean = sanitise_machine_name(name);
  return base_folder + "/" + clean + "/" + clean + ".vbox";
}

std::string absolute_path(const std::string& path, const std::string& base) {
  if (!path.empty() && path.front() == '/')
    return strip_slash(fs::path{path}.lexically_normal().string());
  return strip_slash((fs::path{base} / path).lexically_normal().string());
}

std::string relative_if_inside(const std::string& path,
                               const std::string& folder) {
  if (folder.empty())
    return path;
  std::string prefix = folder;
  if (prefix.back() != '/')
    prefix += '/';
  if (path.size() > prefix.size() && path.starts_with(prefix))
    return path.substr(prefix.size());
  return path;
}

} // namespace tb::settings
