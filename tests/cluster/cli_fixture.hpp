// A fresh global folder per test and helpers to run telebox commands on it
// through run_command, exactly as the host service does.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "cluster/commands.hpp"
#include "cluster/registry.hpp"

namespace tb::cluster::test {

class cli_fixture : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tb_cluster_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root = tmpl;
    home = root + "/home";
    cwd = root + "/work";
    std::filesystem::create_directories(home);
    std::filesystem::create_directories(cwd);
    reopen();
    auto r = run({"setproperty", "machinefolder", root + "/VMs"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  void TearDown() override {
    reg.reset();
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }

  void reopen() {
    reg.reset();
    auto r = registry::open(home);
    ASSERT_TRUE(r) << tb::error_text(r.error());
    reg = std::move(*r);
  }

  command_output run(std::vector<std::string> argv, std::string input = {}) {
    command_context ctx{cwd, std::move(input)};
    return run_command(*reg, argv, ctx);
  }

  /// Runs and expects success.
  command_output ok(std::vector<std::string> argv, std::string input = {}) {
    auto r = run(argv, std::move(input));
    std::string line;
    for (auto& a : argv)
      line += a + " ";
    EXPECT_EQ(r.exit_code, 0) << line << "\n" << r.err;
    return r;
  }

  /// showvminfo --machinereadable as key -> value (quotes removed).
  std::map<std::string, std::string> info(const std::string& vm) {
    auto r = ok({"showvminfo", vm, "--machinereadable"});
    return parse_machine_readable(r.out);
  }

  static std::string unquote(const std::string& s, size_t& pos) {
    std::string out;
    ++pos; // opening quote
    while (pos < s.size() && s[pos] != '"') {
      if (s[pos] == '\\' && pos + 1 < s.size())
        ++pos;
      out += s[pos++];
    }
    ++pos; // closing quote
    return out;
  }

  static std::map<std::string, std::string>
  parse_machine_readable(const std::string& text) {
    std::map<std::string, std::string> m;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      size_t pos = 0;
      std::string key;
      if (!line.empty() && line[0] == '"') {
        key = unquote(line, pos);
      } else {
        pos = line.find('=');
        if (pos == std::string::npos)
          continue;
        key = line.substr(0, pos);
      }
      if (pos >= line.size() || line[pos] != '=')
        continue;
      ++pos;
      std::string value = pos < line.size() && line[pos] == '"'
                              ? unquote(line, pos)
                              : line.substr(pos);
      m[key] = value;
    }
    return m;
  }

  static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  static void write_file(const std::string& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary);
    out << data;
  }

  /// A minimal ISO 9660 image: a primary volume descriptor, zeros elsewhere.
  static void write_iso(const std::string& path, size_t size = 1 << 20) {
    std::string d(size, '\0');
    d[0x8000] = 1;
    d.replace(0x8001, 5, "CD001");
    d[0x8006] = 1;
    uint32_t blocks = static_cast<uint32_t>(size / 2048);
    for (int i = 0; i < 4; ++i)
      d[0x8000 + 80 + i] = static_cast<char>(blocks >> (8 * i));
    d[0x8000 + 128] = 0;
    d[0x8000 + 129] = 8; // 2048
    write_file(path, d);
  }

  std::string vbox_path(const std::string& name) {
    return root + "/VMs/" + name + "/" + name + ".vbox";
  }

  std::string root, home, cwd;
  std::unique_ptr<registry> reg;
};

} // namespace tb::cluster::test
