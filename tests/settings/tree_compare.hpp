// "Does the rewritten tree still hold everything the original held?"
#pragma once

#include <map>
#include <string>

#include "settings/xml.hpp"

namespace tb::settings::test {

/// Empty when every attribute, text and child element of `orig` is found
/// in `now` (the i-th <X> child of `orig` matched with the i-th <X> of
/// `now`); otherwise the path of the first thing missing. Attributes named
/// in `ignored` ("VirtualBox@version") are skipped.
inline std::string missing_from(const xml_node& orig, const xml_node& now,
                                const std::string& path = "",
                                const std::string& ignored = "") {
  auto here = path + "/" + orig.name();
  if (orig.name() != now.name())
    return here + " (found <" + now.name() + ">)";
  for (const auto& [k, v] : orig.attrs()) {
    if (ignored.find(orig.name() + "@" + k) != std::string::npos)
      continue;
    const auto* got = now.attr(k);
    if (!got)
      return here + "@" + k + " missing";
    if (*got != v)
      return here + "@" + k + " changed from \"" + v + "\" to \"" + *got + "\"";
  }
  if (orig.text() != now.text())
    return here + " text changed";
  std::map<std::string, size_t> seen;
  size_t comments = 0;
  for (const auto& c : orig.nodes()) {
    if (c->node_kind() == xml_node::kind::comment) {
      ++comments;
      continue;
    }
    auto index = seen[c->name()]++;
    auto candidates = now.children(c->name());
    if (index >= candidates.size())
      return here + "/" + c->name() + "[" + std::to_string(index) + "] missing";
    auto deeper = missing_from(*c, *candidates[index], here, ignored);
    if (!deeper.empty())
      return deeper;
  }
  size_t now_comments = 0;
  for (const auto& c : now.nodes())
    now_comments += c->node_kind() == xml_node::kind::comment;
  if (now_comments < comments)
    return here + " lost a comment";
  return {};
}

} // namespace tb::settings::test
