// Parsing with RapidXML into the owned tree. RapidXML is fast but trusting:
// it needs a NUL-terminated mutable buffer, recurses once per nesting level
// and accepts some things XML forbids, so input is checked before and after.
#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_set>
#include <vector>

#include <rapidxml/rapidxml.hpp>

#include "settings/errors.hpp"
#include "settings/xml.hpp"

namespace tb::settings {

namespace {

using rx_node = rapidxml::xml_node<char>;

caf::error fail(std::string_view what, const std::string& why) {
  return caf::make_error(settings_errc::malformed_xml,
                         std::string{what} + ": " + why);
}

/// "byte 12 (line 3)" for an offset into `text`.
std::string where(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  auto line = 1 + std::count(text.begin(), text.begin() + offset, '\n');
  return "byte " + std::to_string(offset) + " (line " + std::to_string(line)
         + ")";
}

/// Decodes one UTF-8 sequence at `s[i]`; returns its length, 0 if invalid.
/// Rejects overlong forms, surrogates and code points past U+10FFFF.
size_t utf8_decode(std::string_view s, size_t i, uint32_t& cp) {
  auto b0 = static_cast<unsigned char>(s[i]);
  size_t len = b0 < 0x80         ? 1
               : (b0 >> 5) == 6  ? 2
               : (b0 >> 4) == 14 ? 3
               : (b0 >> 3) == 30 ? 4
                                 : 0;
  if (len == 0 || i + len > s.size())
    return 0;
  if (len == 1) {
    cp = b0;
    return 1;
  }
  cp = b0 & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

/// XML 1.0 "Char".
bool xml_char(uint32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF)
         || (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000);
}

/// Offset of the first byte that is not valid UTF-8 XML text, or npos.
size_t first_bad_char(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    auto len = utf8_decode(s, i, cp);
    if (len == 0 || !xml_char(cp))
      return i;
    i += len;
  }
  return std::string_view::npos;
}

bool name_char(char c, bool first) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x80 || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'
      || c == ':')
    return true;
  return !first && ((c >= '0' && c <= '9') || c == '-' || c == '.');
}

bool valid_name(std::string_view n) {
  if (n.empty())
    return false;
  for (size_t i = 0; i < n.size(); ++i)
    if (!name_char(n[i], i == 0))
      return false;
  return true;
}

/// Deepest element nesting, found without recursion so that RapidXML is
/// never handed a document that would exhaust the stack. Comments, CDATA,
/// processing instructions and quoted attribute values are skipped the way
/// an XML parser skips them.
int nesting_depth(std::string_view s) {
  int depth = 0;
  int deepest = 0;
  auto skip_past = [&](size_t from, std::string_view end) {
    auto p = s.find(end, from);
    return p == std::string_view::npos ? s.size() : p + end.size();
  };
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '<') {
      ++i;
      continue;
    }
    auto rest = s.substr(i);
    if (rest.starts_with("<!--")) {
      i = skip_past(i + 4, "-->");
    } else if (rest.starts_with("<![CDATA[")) {
      i = skip_past(i + 9, "]]>");
    } else if (rest.starts_with("<?")) {
      i = skip_past(i + 2, "?>");
    } else if (rest.starts_with("<!")) {
      i = skip_past(i + 2, ">");
    } else if (rest.starts_with("</")) {
      --depth;
      i = skip_past(i + 2, ">");
    } else {
      deepest = std::max(deepest, ++depth);
      char quote = 0;
      size_t j = i + 1;
      for (; j < s.size(); ++j) {
        char c = s[j];
        if (quote) {
          if (c == quote)
            quote = 0;
        } else if (c == '"' || c == '\'') {
          quote = c;
        } else if (c == '>') {
          break;
        }
      }
      if (j < s.size() && s[j - 1] == '/' && !quote)
        --depth;
      i = j + 1;
    }
  }
  return deepest;
}

struct converter {
  std::string_view what;
  caf::error err;

  bool bad(std::string why) {
    err = fail(what, why);
    return false;
  }

  bool check_text(std::string_view v, const char* kind, std::string_view n) {
    if (first_bad_char(v) != std::string_view::npos)
      return bad(std::string{kind} + " of <" + std::string{n}
                 + "> holds a character XML does not allow");
    return true;
  }

  bool comment(const rx_node& src, std::string& out) {
    std::string_view v{src.value(), src.value_size()};
    if (v.find("--") != std::string_view::npos || v.ends_with("-"))
      return bad("a comment contains \"--\" or ends in \"-\"");
    if (!check_text(v, "a comment", "!--"))
      return false;
    out.assign(v);
    return true;
  }

  bool element(const rx_node& src, xml_node& dst, int depth) {
    if (depth > max_xml_depth)
      return bad("elements nested deeper than " + std::to_string(max_xml_depth)
                 + " levels");
    std::string_view name{src.name(), src.name_size()};
    std::unordered_set<std::string_view> seen; // linear even for huge lists
    for (auto* a = src.first_attribute(); a; a = a->next_attribute()) {
      std::string_view an{a->name(), a->name_size()};
      std::string_view av{a->value(), a->value_size()};
      if (!valid_name(an))
        return bad("element <" + std::string{name}
                   + "> has an attribute with an invalid name");
      if (!seen.insert(an).second)
        return bad("element <" + std::string{name} + "> has attribute "
                   + std::string{an} + " twice");
      if (!check_text(av, "an attribute", name))
        return false;
      dst.add_attr(std::string{an}, std::string{av});
    }
    std::string text;
    bool has_elements = false;
    for (auto* c = src.first_node(); c; c = c->next_sibling()) {
      switch (c->type()) {
      case rapidxml::node_element: {
        std::string_view cn{c->name(), c->name_size()};
        if (!valid_name(cn))
          return bad("invalid element name inside <" + std::string{name} + ">");
        has_elements = true;
        if (!element(*c, dst.append_child(cn), depth + 1))
          return false;
        break;
      }
      case rapidxml::node_data:
      case rapidxml::node_cdata:
        text.append(c->value(), c->value_size());
        break;
      case rapidxml::node_comment: {
        std::string t;
        if (!comment(*c, t))
          return false;
        dst.append_comment(std::move(t));
        break;
      }
      default:
        break; // processing instructions inside elements carry nothing
      }
    }
    if (!check_text(text, "the text", name))
      return false;
    bool blank = text.find_first_not_of(" \t\r\n") == std::string::npos;
    if (!(has_elements && blank))
      dst.set_text(std::move(text));
    return true;
  }

  bool document(const rapidxml::xml_document<char>& src, xml_document& out) {
    for (auto* c = src.first_node(); c; c = c->next_sibling()) {
      switch (c->type()) {
      case rapidxml::node_element: {
        if (out.root)
          return bad("more than one root element");
        std::string_view n{c->name(), c->name_size()};
        if (!valid_name(n))
          return bad("invalid root element name");
        out.root = std::make_unique<xml_node>(std::string{n});
        if (!element(*c, *out.root, 1))
          return false;
        break;
      }
      case rapidxml::node_comment: {
        std::string t;
        if (!comment(*c, t))
          return false;
        (out.root ? out.trailing_comments : out.leading_comments)
            .push_back(std::move(t));
        break;
      }
      case rapidxml::node_doctype:
        return bad("DOCTYPE declarations are not supported");
      default:
        break; // the XML declaration is regenerated on write
      }
    }
    if (!out.root)
      return bad("no root element");
    return true;
  }
};

} // namespace

caf::expected<xml_document> parse_xml(std::string_view text,
                                      std::string_view what) {
  if (text.starts_with("\xEF\xBB\xBF"))
    text.remove_prefix(3);
  if (auto bad = first_bad_char(text); bad != std::string_view::npos)
    return fail(what, "not UTF-8 XML text at " + where(text, bad));
  if (nesting_depth(text) > max_xml_depth)
    return fail(what, "elements nested deeper than "
                          + std::to_string(max_xml_depth) + " levels");
  // RapidXML parses in place and may peek a few bytes past the terminator
  // on truncated input: give it a mutable copy with spare NULs.
  std::vector<char> buf(text.begin(), text.end());
  buf.resize(text.size() + 16, '\0');
  try {
    rapidxml::xml_document<char> rx;
    rx.parse<rapidxml::parse_full>(buf.data());
    xml_document out;
    converter conv{what, {}};
    if (!conv.document(rx, out))
      return std::move(conv.err);
    return out;
  } catch (const rapidxml::parse_error& e) {
    const char* at = e.where<char>();
    auto offset = at ? static_cast<size_t>(at - buf.data()) : text.size();
    return fail(what, std::string{e.what()} + " at " + where(text, offset));
  } catch (const std::exception& e) {
    return fail(what, std::string{"cannot parse: "} + e.what());
  }
}

} // namespace tb::settings
