// Fuzzes the command layer: each input line is one command line (split on
// spaces, double quotes group), run through run_command against a fresh
// global folder in /tmp. Nothing may crash, hang or throw.
//
// To keep the fuzzer inside its folder, inputs that name absolute paths or
// "..", or ask for media larger than 64 MiB, are skipped.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "cluster/commands.hpp"
#include "cluster/registry.hpp"

namespace {

std::vector<std::string> split_line(const std::string& line) {
  std::vector<std::string> argv;
  std::string cur;
  bool quoted = false, have = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
      have = true;
    } else if (c == ' ' && !quoted) {
      if (have)
        argv.push_back(cur);
      cur.clear();
      have = false;
    } else {
      cur += c;
      have = true;
    }
  }
  if (have)
    argv.push_back(cur);
  return argv;
}

bool safe(const std::vector<std::string>& argv) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const auto& a = argv[i];
    if (a.find("..") != std::string::npos || a.find('/') == 0
        || a.find("=/") != std::string::npos || a.find('~') == 0)
      return false;
    auto lower = a;
    for (auto& c : lower)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if ((lower.find("size") != std::string::npos || lower == "--resize")
        && i + 1 < argv.size()) {
      const auto& v = argv[i + 1];
      if (v.size() > 8 || v.find_first_not_of("0123456789") != std::string::npos
          || std::stoull(v.empty() ? "0" : v)
                 > (lower.find("byte") != std::string::npos ? (64ull << 20)
                                                            : 64ull))
        return false;
    }
  }
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096)
    return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::vector<std::string>> commands;
  size_t pos = 0;
  while (pos <= text.size() && commands.size() < 16) {
    auto nl = text.find('\n', pos);
    auto line = text.substr(pos, nl == std::string::npos ? std::string::npos
                                                         : nl - pos);
    auto argv = split_line(line);
    if (!safe(argv))
      return 0;
    commands.push_back(std::move(argv));
    if (nl == std::string::npos)
      break;
    pos = nl + 1;
  }
  char tmpl[] = "/tmp/tb_cli_fuzz_XXXXXX";
  if (!mkdtemp(tmpl))
    return 0;
  std::string root = tmpl;
  std::filesystem::create_directories(root + "/home");
  std::filesystem::create_directories(root + "/work");
  {
    auto reg = tb::cluster::registry::open(root + "/home");
    if (reg) {
      tb::cluster::command_context ctx{root + "/work", "secret\n"};
      tb::cluster::run_command(
          **reg, {"setproperty", "machinefolder", root + "/VMs"}, ctx);
      for (auto& argv : commands) {
        auto out = tb::cluster::run_command(**reg, argv, ctx);
        if (out.exit_code < 0 || out.exit_code > 2)
          std::abort();
      }
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
  return 0;
}
