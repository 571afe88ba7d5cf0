// Running telebox's real binaries from tests: a command line with its own
// environment, its exit code and what it printed.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace tb::test {

struct process_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs `argv` (argv[0] a path) with `env` added to the current environment
/// and `input` on stdin; waits at most `timeout_s` seconds (then kills it).
process_result run_process(const std::vector<std::string>& argv,
                           const std::map<std::string, std::string>& env = {},
                           const std::string& input = {}, int timeout_s = 60);

/// A fresh empty folder under $TMPDIR, removed by the destructor.
class temp_folder {
public:
  temp_folder();
  ~temp_folder();
  temp_folder(const temp_folder&) = delete;
  temp_folder& operator=(const temp_folder&) = delete;
  const std::string& path() const { return path_; }

private:
  std::string path_;
};

/// Whole contents of a file ("" when missing).
std::string read_file(const std::string& path);

} // namespace tb::test
