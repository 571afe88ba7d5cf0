// `controlvm <vm> teleport --host H --port P [--password PW | --passwordfile
// F] [--maxdowntime ms] [--timeout ms]`, parsed as VBoxManage does.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace tb::cluster {

struct teleport_request {
  std::string host;
  uint16_t port = 0;
  std::string password; ///< Plain; read from the file when one was given.
  std::chrono::milliseconds max_downtime{250};
  std::chrono::milliseconds timeout{0}; ///< 0: no limit.
};

/// Parses the arguments after "teleport". `cwd` resolves a relative
/// password file; `input` is the client's stdin for "--passwordfile stdin".
caf::expected<teleport_request>
parse_teleport_request(const std::vector<std::string>& args,
                       const std::string& cwd, const std::string& input);

} // namespace tb::cluster
