// Parsing of `controlvm teleport` arguments.
#include "cluster/teleport_request.hpp"

#include <fstream>
#include <iterator>

#include "cluster/teleport_wire.hpp"

namespace tb::cluster {

namespace {

caf::error bad(std::string text) {
  return caf::make_error(teleport_errc::malformed,
                         "controlvm teleport: " + std::move(text));
}

bool parse_number(const std::string& s, uint64_t max, uint64_t& out) {
  if (s.empty() || s.size() > 10)
    return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max)
    return false;
  out = v;
  return true;
}

/// The first line of a password file, as VBoxManage reads it.
caf::expected<std::string> read_password_file(const std::string& path,
                                              const std::string& cwd,
                                              const std::string& input) {
  std::string text;
  if (path == "stdin") {
    text = input;
  } else {
    auto full = path.front() == '/' ? path : cwd + "/" + path;
    std::ifstream in(full, std::ios::binary);
    if (!in)
      return bad("cannot read the password file '" + path + "'");
    text.assign(std::istreambuf_iterator<char>(in),
                std::istreambuf_iterator<char>());
  }
  auto nl = text.find_first_of("\r\n");
  return nl == std::string::npos ? text : text.substr(0, nl);
}

} // namespace

caf::expected<teleport_request>
parse_teleport_request(const std::vector<std::string>& args,
                       const std::string& cwd, const std::string& input) {
  teleport_request r;
  std::string password_file;
  bool have_port = false, have_password = false;
  for (size_t i = 0; i < args.size(); ++i) {
    auto opt = args[i];
    std::string value;
    if (auto eq = opt.find('='); opt.rfind("--", 0) == 0 && eq != opt.npos) {
      value = opt.substr(eq + 1);
      opt = opt.substr(0, eq);
    } else if (opt != "--detailed-progress" && opt != "-d") {
      if (i + 1 >= args.size())
        return bad("option " + opt + " needs a value");
      value = args[++i];
    }
    uint64_t n = 0;
    if (opt == "--host" || opt == "-h") {
      r.host = value;
    } else if (opt == "--port" || opt == "-P") {
      if (!parse_number(value, 65535, n) || n == 0)
        return bad("port '" + value + "' is not a number from 1 to 65535");
      r.port = static_cast<uint16_t>(n);
      have_port = true;
    } else if (opt == "--password" || opt == "-W") {
      r.password = value;
      have_password = true;
    } else if (opt == "--passwordfile" || opt == "--password-file"
               || opt == "-w") {
      password_file = value;
    } else if (opt == "--maxdowntime" || opt == "--max-downtime"
               || opt == "-D") {
      if (!parse_number(value, 3600000, n) || n == 0)
        return bad("max downtime '" + value + "' is not a number of ms");
      r.max_downtime = std::chrono::milliseconds(n);
    } else if (opt == "--timeout" || opt == "-t") {
      if (!parse_number(value, 86400000, n))
        return bad("timeout '" + value + "' is not a number of ms");
      r.timeout = std::chrono::milliseconds(n);
    } else if (opt != "--detailed-progress" && opt != "-d") {
      return bad("unknown option '" + opt + "'");
    }
  }
  if (r.host.empty())
    return bad("--host is required");
  if (!have_port)
    return bad("--port is required");
  if (have_password && !password_file.empty())
    return bad("give either --password or --passwordfile, not both");
  if (!password_file.empty()) {
    auto pw = read_password_file(password_file, cwd, input);
    if (!pw)
      return pw.error();
    r.password = *pw;
  }
  return r;
}

} // namespace tb::cluster
