// Small shared pieces: UUID text, MAC generation, timestamps, ExtraData.
#include <algorithm>
#include <ctime>
#include <random>

#include "settings/machine_internal.hpp"

namespace tb::settings::detail {

namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
         || (c >= 'A' && c <= 'F');
}

std::string_view unbraced(std::string_view t) {
  if (t.size() >= 2 && t.front() == '{' && t.back() == '}')
    return t.substr(1, t.size() - 2);
  return t;
}

} // namespace

bool valid_uuid(std::string_view text) {
  auto t = unbraced(text);
  if (t.size() != 36)
    return false;
  for (size_t i = 0; i < t.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? t[i] != '-' : !is_hex(t[i]))
      return false;
  }
  return true;
}

std::string normal_uuid(std::string_view text) {
  if (text.empty())
    return {};
  std::string out = "{";
  for (char c : unbraced(text))
    out += c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  return out + "}";
}

bool same_uuid(std::string_view a, std::string_view b) {
  return iequals(unbraced(a), unbraced(b));
}

std::string random_mac() {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::random_device rd;
  std::string mac = "080027";
  auto bits = rd();
  for (int i = 0; i < 6; ++i, bits >>= 4)
    mac += digits[bits & 0xF];
  return mac;
}

std::string utc_timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<std::string> extradata(const xml_node& owner,
                                     const std::string& key) {
  if (const auto* ed = owner.child("ExtraData"))
    for (const auto* item : ed->children("ExtraDataItem"))
      if (item->attr_or("name", "") == key)
        return item->attr_or("value", "");
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>>
extradata_all(const xml_node& owner) {
  std::vector<std::pair<std::string, std::string>> out;
  if (const auto* ed = owner.child("ExtraData"))
    for (const auto* item : ed->children("ExtraDataItem"))
      if (const auto* name = item->attr("name"))
        out.emplace_back(*name, item->attr_or("value", ""));
  return out;
}

void set_extradata(xml_node& owner, const std::string& key,
                   const std::string& value,
                   std::initializer_list<std::string_view> owner_order) {
  if (value.empty() && !owner.child("ExtraData"))
    return;
  auto& ed = owner.ensure_child("ExtraData", owner_order);
  for (auto* item : ed.children("ExtraDataItem")) {
    if (item->attr_or("name", "") != key)
      continue;
    if (value.empty())
      ed.remove_child(item);
    else
      item->set_attr("value", value);
    remove_if_empty(owner, "ExtraData");
    return;
  }
  if (!value.empty()) {
    auto& item = ed.append_child("ExtraDataItem");
    item.set_attr("name", key);
    item.set_attr("value", value);
  }
  remove_if_empty(owner, "ExtraData");
}

} // namespace tb::settings::detail
