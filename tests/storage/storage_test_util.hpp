// Helpers for storage tests: scratch folders, running qemu-img, files.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "actors/error_text.hpp"

namespace tb::storage::test {

/// A fresh folder under /tmp, removed with everything in it.
class scratch_dir {
public:
  scratch_dir() {
    char tmpl[] = "/tmp/tb-storage-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

/// Output and exit status of a shell command.
struct command_result {
  int status = -1;
  std::string out;
};

inline command_result run(const std::string& cmd) {
  command_result r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p)
    return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    r.out.append(buf, n);
  r.status = ::pclose(p);
  return r;
}

inline std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_file(const std::string& path,
                       const std::vector<uint8_t>& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()),
            static_cast<std::streamsize>(data.size()));
}

inline std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<uint8_t> v(n);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint32_t r = gen();
    std::memcpy(v.data() + i, &r, 4);
  }
  for (; i < n; ++i)
    v[i] = static_cast<uint8_t>(gen());
  return v;
}

/// qemu-img convert -O raw of `image` read back.
inline std::vector<uint8_t> qemu_raw(const std::string& image,
                                     const std::string& scratch) {
  auto r = run("qemu-img convert -O raw '" + image + "' '" + scratch + "'");
  if (r.status != 0)
    return {};
  auto data = read_file(scratch);
  std::filesystem::remove(scratch);
  return data;
}

} // namespace tb::storage::test
