#include "settings/xml_values.hpp"

#include <charconv>

#include "settings/errors.hpp"

namespace tb::settings::detail {

namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

bool parse_u64(std::string_view s, uint64_t& out) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty() || s.front() == '-' || s.front() == '+')
    return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc{} && p == s.data() + s.size();
}

std::string quoted(std::string_view v) {
  return "\"" + std::string{v.substr(0, 64)} + (v.size() > 64 ? "...\"" : "\"");
}

} // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i]))
      return false;
  return true;
}

void value_reader::fail(const xml_node* n, std::string_view attr,
                        const std::string& why) {
  if (err_)
    return;
  std::string where = n ? "<" + n->name() + ">" : std::string{"element"};
  if (!attr.empty())
    where += " attribute " + std::string{attr};
  err_ = caf::make_error(settings_errc::invalid_value,
                         what_ + ": " + where + ": " + why);
}

bool value_reader::flag(const xml_node* n, std::string_view attr,
                        bool fallback) {
  const std::string* v = n ? n->attr(attr) : nullptr;
  if (!v)
    return fallback;
  for (auto t : {"true", "yes", "on", "1"})
    if (iequals(*v, t))
      return true;
  for (auto f : {"false", "no", "off", "0"})
    if (iequals(*v, f))
      return false;
  fail(n, attr, quoted(*v) + " is not a boolean");
  return fallback;
}

uint32_t value_reader::u32(const xml_node* n, std::string_view attr,
                           uint32_t fallback, uint32_t lo, uint32_t hi) {
  const std::string* v = n ? n->attr(attr) : nullptr;
  if (!v)
    return fallback;
  uint64_t x = 0;
  if (!parse_u64(*v, x)) {
    fail(n, attr, quoted(*v) + " is not a number");
    return fallback;
  }
  if (x < lo || x > hi) {
    fail(n, attr,
         quoted(*v) + " is out of range " + std::to_string(lo) + ".."
             + std::to_string(hi));
    return fallback;
  }
  return static_cast<uint32_t>(x);
}

int32_t value_reader::i32(const xml_node* n, std::string_view attr,
                          int32_t fallback, int32_t lo, int32_t hi) {
  const std::string* v = n ? n->attr(attr) : nullptr;
  if (!v)
    return fallback;
  std::string_view s = *v;
  bool neg = s.starts_with("-");
  if (neg)
    s.remove_prefix(1);
  uint64_t x = 0;
  if (!parse_u64(s, x) || x > (1ull << 31)) {
    fail(n, attr, quoted(*v) + " is not a number");
    return fallback;
  }
  auto val = neg ? -static_cast<int64_t>(x) : static_cast<int64_t>(x);
  if (val < lo || val > hi) {
    fail(n, attr,
         quoted(*v) + " is out of range " + std::to_string(lo) + ".."
             + std::to_string(hi));
    return fallback;
  }
  return static_cast<int32_t>(val);
}

std::string value_reader::str(const xml_node* n, std::string_view attr,
                              std::string_view fallback) {
  const std::string* v = n ? n->attr(attr) : nullptr;
  return v ? *v : std::string{fallback};
}

std::string
value_reader::choice(const xml_node* n, std::string_view attr,
                     std::string_view fallback,
                     std::initializer_list<std::string_view> allowed) {
  const std::string* v = n ? n->attr(attr) : nullptr;
  if (!v)
    return std::string{fallback};
  for (auto a : allowed)
    if (iequals(*v, a))
      return std::string{a};
  std::string list;
  for (auto a : allowed)
    list += (list.empty() ? "" : ", ") + std::string{a};
  fail(n, attr, quoted(*v) + " is not one of " + list);
  return std::string{fallback};
}

void set_or_omit(xml_node& n, std::string_view attr, std::string_view value,
                 std::string_view omitted) {
  if (value == omitted)
    n.remove_attr(attr);
  else
    n.set_attr(attr, value);
}

void set_or_omit(xml_node& n, std::string_view attr, uint32_t value,
                 uint32_t omitted) {
  if (value == omitted)
    n.remove_attr(attr);
  else
    n.set_attr(attr, std::to_string(value));
}

void set_or_omit(xml_node& n, std::string_view attr, bool value, bool omitted) {
  if (value == omitted)
    n.remove_attr(attr);
  else
    n.set_attr(attr, bool_str(value));
}

void set_flag_element(xml_node& parent, std::string_view name,
                      std::initializer_list<std::string_view> order, bool value,
                      bool omitted) {
  if (value == omitted) {
    auto* c = parent.child(name);
    if (!c)
      return;
    if (c->nodes().empty() && c->attrs().size() <= 1
        && (c->attrs().empty() || c->attrs()[0].first == "enabled"))
      parent.remove_child(c);
    else
      c->set_attr("enabled", bool_str(value));
    return;
  }
  parent.ensure_child(name, order).set_attr("enabled", bool_str(value));
}

void set_flag_element(xml_node& parent, std::string_view name,
                      std::initializer_list<std::string_view> order,
                      bool value) {
  parent.ensure_child(name, order).set_attr("enabled", bool_str(value));
}

void remove_if_empty(xml_node& parent, std::string_view name) {
  auto* c = parent.child(name);
  if (c && c->attrs().empty() && c->nodes().empty() && c->text().empty())
    parent.remove_child(c);
}

xml_node& insert_sorted(xml_node& parent, std::unique_ptr<xml_node> node,
                        std::string_view key,
                        std::initializer_list<std::string_view> order) {
  auto key_of = [&](const xml_node& n) {
    uint64_t k = 0;
    const auto* v = n.attr(key);
    return v && parse_u64(*v, k) ? k : UINT64_MAX;
  };
  auto mine = key_of(*node);
  for (auto* sib : parent.children(node->name()))
    if (key_of(*sib) > mine)
      return parent.insert_before(sib, std::move(node));
  auto same = parent.children(node->name());
  if (!same.empty())
    return parent.insert_after(same.back(), std::move(node));
  return parent.adopt_child(std::move(node), order);
}

} // namespace tb::settings::detail
