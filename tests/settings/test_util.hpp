// Helpers shared by the settings tests: temp folders and fixtures.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace tb::settings::test {

/// A fresh folder under /tmp, removed when the object goes away.
class temp_folder {
public:
  temp_folder() {
    std::string tmpl = "/tmp/tb-settings-XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~temp_folder() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path_, ec);
  }
  temp_folder(const temp_folder&) = delete;
  temp_folder& operator=(const temp_folder&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const {
    return path_ + "/" + name;
  }

private:
  std::string path_;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void spit(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

/// shared/reference/data beside the repository (CI: ../shared), or empty.
inline std::string reference_data() {
  for (auto rel : {"/../shared/reference/data", "/shared/reference/data"}) {
    auto p =
        std::filesystem::weakly_canonical(std::string{TB_SOURCE_DIR} + rel);
    if (std::filesystem::is_directory(p))
      return p.string();
  }
  return {};
}

} // namespace tb::settings::test
