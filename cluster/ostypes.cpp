// Loads the OS type table with simdjson. The JSON is embedded at build time
// by cluster/ostypes.cmake; without that step it is read from the source tree
// next to this file, so a fresh checkout works either way.
#include "cluster/ostypes.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include <simdjson.h>

namespace tb::cluster {

#ifdef TB_OSTYPES_EMBEDDED
namespace detail {
extern const char* const ostypes_json_text;
} // namespace detail
#endif

bool os_type::has_hint(std::string_view h) const {
  return std::find(hints.begin(), hints.end(), h) != hints.end();
}

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size()
         && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
              return std::tolower(static_cast<unsigned char>(x))
                     == std::tolower(static_cast<unsigned char>(y));
            });
}

std::string table_text(std::string& error) {
#ifdef TB_OSTYPES_EMBEDDED
  (void)error;
  return detail::ostypes_json_text;
#else
  std::string path = __FILE__;
  path = path.substr(0, path.find_last_of('/') + 1) + "data/ostypes.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read the OS type table " + path;
    return {};
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
#endif
}

template <class T>
bool get_field(simdjson::dom::object& obj, const char* key, T& out) {
  auto v = obj[key];
  if (v.error())
    return false;
  if constexpr (std::is_same_v<T, std::string>) {
    std::string_view sv;
    if (v.get(sv))
      return false;
    out = std::string{sv};
  } else if constexpr (std::is_same_v<T, bool>) {
    if (v.get(out))
      return false;
  } else {
    uint64_t n = 0;
    if (v.get(n))
      return false;
    out = static_cast<T>(n);
  }
  return true;
}

bool parse_entry(simdjson::dom::object obj, os_type& t, std::string& error) {
  bool ok =
      get_field(obj, "id", t.id) && get_field(obj, "description", t.description)
      && get_field(obj, "family_id", t.family_id)
      && get_field(obj, "family_description", t.family_description)
      && get_field(obj, "is_64bit", t.is_64bit)
      && get_field(obj, "cpus", t.cpus) && get_field(obj, "ram_mb", t.ram_mb)
      && get_field(obj, "vram_mb", t.vram_mb)
      && get_field(obj, "disk_mb", t.disk_mb)
      && get_field(obj, "graphics", t.graphics)
      && get_field(obj, "nic_type", t.nic_type)
      && get_field(obj, "hd_controller", t.hd_controller)
      && get_field(obj, "hd_bus", t.hd_bus)
      && get_field(obj, "dvd_controller", t.dvd_controller)
      && get_field(obj, "dvd_bus", t.dvd_bus)
      && get_field(obj, "chipset", t.chipset)
      && get_field(obj, "firmware", t.firmware);
  if (!ok) {
    error = "OS type entry '" + t.id + "' lacks a field or has a wrong type";
    return false;
  }
  simdjson::dom::array hints;
  if (!obj["hints"].get(hints))
    for (auto h : hints) {
      std::string_view sv;
      if (!h.get(sv))
        t.hints.emplace_back(sv);
    }
  return true;
}

} // namespace

bool parse_ostypes(std::string_view json, std::vector<os_type>& out,
                   std::string& error) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element doc;
  if (auto err = parser.parse(padded).get(doc)) {
    error = std::string{"OS type table is not valid JSON: "}
            + simdjson::error_message(err);
    return false;
  }
  simdjson::dom::array arr;
  if (doc["ostypes"].get(arr)) {
    error = "OS type table has no \"ostypes\" array";
    return false;
  }
  for (auto el : arr) {
    simdjson::dom::object obj;
    if (el.get(obj)) {
      error = "OS type table entry is not an object";
      return false;
    }
    os_type t;
    if (!parse_entry(obj, t, error))
      return false;
    out.push_back(std::move(t));
  }
  return true;
}

namespace {

struct table {
  std::vector<os_type> types;
  std::string error;
  table() {
    auto text = table_text(error);
    if (error.empty() && !parse_ostypes(text, types, error))
      types.clear();
  }
};

const table& the_table() {
  static const table t;
  return t;
}

} // namespace

const std::vector<os_type>& ostypes() {
  return the_table().types;
}

const std::string& ostypes_error() {
  return the_table().error;
}

const os_type* find_ostype(std::string_view id) {
  for (auto& t : ostypes())
    if (iequals(t.id, id))
      return &t;
  return nullptr;
}

} // namespace tb::cluster
