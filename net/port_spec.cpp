#include "net/port_spec.hpp"

#include <algorithm>
#include <charconv>
#include <string>

#include "net/errors.hpp"

namespace tb::net {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  return s;
}

bool to_port(std::string_view s, uint32_t& out) {
  s = trim(s);
  if (s.empty())
    return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size() && out <= 65535;
}

} // namespace

std::string to_string(net_errc x) {
  switch (x) {
  case net_errc::bad_port_spec:
    return "bad_port_spec";
  case net_errc::bad_address:
    return "bad_address";
  case net_errc::no_free_port:
    return "no_free_port";
  case net_errc::io_error:
    return "io_error";
  case net_errc::stopped:
    return "stopped";
  }
  return "net_errc(" + std::to_string(static_cast<int>(x)) + ")";
}

caf::error make_net_error(net_errc code, std::string msg) {
  return caf::make_error(code, std::move(msg));
}

caf::expected<std::vector<uint16_t>> parse_port_spec(std::string_view spec) {
  std::vector<uint16_t> out;
  auto bad = [&](std::string_view item) {
    return make_net_error(net_errc::bad_port_spec,
                          "port list \"" + std::string{spec} + "\": \""
                              + std::string{item}
                              + "\" is not a port (0-65535) or a range a-b");
  };
  auto add = [&](uint32_t p) {
    if (std::find(out.begin(), out.end(), p) == out.end())
      out.push_back(static_cast<uint16_t>(p));
  };
  std::string_view rest = spec;
  while (true) {
    auto comma = rest.find(',');
    auto item = trim(rest.substr(0, comma));
    auto dash = item.find('-');
    uint32_t a = 0, b = 0;
    if (dash == std::string_view::npos) {
      if (!to_port(item, a))
        return bad(item);
      add(a);
    } else {
      if (!to_port(item.substr(0, dash), a)
          || !to_port(item.substr(dash + 1), b) || a > b || a == 0)
        return bad(item);
      for (uint32_t p = a; p <= b; ++p)
        add(p);
    }
    if (comma == std::string_view::npos)
      break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

} // namespace tb::net
