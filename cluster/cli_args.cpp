// Option parsing shared by every verb.
#include "cluster/cli_args.hpp"

#include <cctype>
#include <cstdint>

namespace tb::cluster {

bool parsed_args::has(std::string_view name) const {
  return last(name) != nullptr;
}

const parsed_option* parsed_args::last(std::string_view name) const {
  const parsed_option* found = nullptr;
  for (auto& o : options)
    if (o.name == name)
      found = &o;
  return found;
}

std::string lower(std::string_view s) {
  std::string r{s};
  for (auto& c : r)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

namespace {

// 7.0 spells options with dashes between words; the undashed names remain
// aliases, so both map to the undashed form.
std::string undash(std::string_view s) {
  std::string r;
  for (char c : s)
    if (c != '-')
      r += c;
  return r;
}

const option_spec* find_spec(const std::vector<option_spec>& specs,
                             std::string_view name, int& index) {
  for (auto& s : specs)
    if (s.max_index == 0 && s.name == name) {
      index = 0;
      return &s;
    }
  size_t digits = name.size();
  while (digits > 0
         && std::isdigit(static_cast<unsigned char>(name[digits - 1])))
    --digits;
  if (digits == name.size() || digits == 0 || name.size() - digits > 3)
    return nullptr;
  auto base = name.substr(0, digits);
  int n = std::stoi(std::string{name.substr(digits)});
  for (auto& s : specs)
    if (s.max_index > 0 && s.name == base) {
      if (n < 1 || n > s.max_index)
        return nullptr;
      index = n;
      return &s;
    }
  return nullptr;
}

std::string canonical(std::string_view raw,
                      const std::vector<option_alias>& aliases) {
  auto name = undash(raw);
  for (auto& a : aliases) {
    // "vrdp*" maps every name starting with "vrdp" ("vrdpport" too).
    if (!a.from.empty() && a.from.back() == '*') {
      auto prefix = a.from.substr(0, a.from.size() - 1);
      if (name.compare(0, prefix.size(), prefix) == 0)
        return std::string{a.to} + name.substr(prefix.size());
    } else if (name == a.from) {
      return std::string{a.to};
    }
  }
  return name;
}

} // namespace

parsed_args parse_args(const std::vector<std::string>& args,
                       const std::vector<option_spec>& specs,
                       const std::vector<option_alias>& aliases) {
  parsed_args r;
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    bool is_option = a.size() > 1 && a[0] == '-'
                     && !std::isdigit(static_cast<unsigned char>(a[1]));
    if (!is_option) {
      r.positional.push_back(a);
      continue;
    }
    std::string_view body{a};
    body.remove_prefix(body.size() > 2 && body[1] == '-' ? 2 : 1);
    std::string inline_value;
    bool has_inline = false;
    if (auto eq = body.find('='); eq != std::string_view::npos) {
      inline_value = std::string{body.substr(eq + 1)};
      body = body.substr(0, eq);
      has_inline = true;
    }
    auto name = canonical(body, aliases);
    int index = 0;
    auto* spec = find_spec(specs, name, index);
    std::string spelled = a.substr(0, a.find('='));
    if (!spec) {
      r.error = "Unknown option: " + spelled;
      return r;
    }
    parsed_option o{std::string{spec->name}, index, spelled, {}};
    int need = spec->values;
    if (has_inline) {
      if (need == 0) {
        r.error = "Option " + spelled + " takes no value";
        return r;
      }
      o.values.push_back(inline_value);
      --need;
    }
    for (; need > 0; --need) {
      if (++i >= args.size()) {
        r.error = "Option " + spelled + " needs "
                  + (spec->values > 1 ? std::to_string(spec->values) + " values"
                                      : std::string{"a value"});
        return r;
      }
      o.values.push_back(args[i]);
    }
    r.options.push_back(std::move(o));
  }
  return r;
}

bool parse_on_off(std::string_view text, bool& out) {
  auto t = lower(text);
  if (t == "on") {
    out = true;
    return true;
  }
  if (t == "off") {
    out = false;
    return true;
  }
  return false;
}

bool parse_uint(std::string_view text, uint64_t lo, uint64_t hi,
                uint64_t& out) {
  if (text.empty() || text.size() > 19)
    return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v < lo || v > hi)
    return false;
  out = v;
  return true;
}

bool parse_hex32(std::string_view text, uint32_t& out) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
    text.remove_prefix(2);
  if (text.empty() || text.size() > 8)
    return false;
  uint32_t v = 0;
  for (char c : text) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return false;
    v = v << 4 | static_cast<uint32_t>(d);
  }
  out = v;
  return true;
}

} // namespace tb::cluster
