// Serialising the owned tree the way libxml2 formats VirtualBox's files.
#include <string>

#include "settings/xml.hpp"

namespace tb::settings {

namespace {

void append_hex_ref(std::string& out, uint32_t cp) {
  static constexpr char digits[] = "0123456789ABCDEF";
  char tmp[8];
  int n = 0;
  do {
    tmp[n++] = digits[cp & 0xF];
    cp >>= 4;
  } while (cp != 0);
  out += "&#x";
  while (n > 0)
    out += tmp[--n];
  out += ';';
}

/// Escapes markup characters; like libxml2 without an encoding declaration,
/// non-ASCII characters become character references (parse_xml has already
/// rejected invalid UTF-8). In attributes, tabs and line breaks are
/// escaped too so that they survive attribute-value normalisation.
void escape(std::string& out, std::string_view s, bool in_attr) {
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
    case '&':
      out += "&amp;";
      continue;
    case '<':
      out += "&lt;";
      continue;
    case '>':
      out += "&gt;";
      continue;
    case '"':
      out += in_attr ? "&quot;" : "\"";
      continue;
    case '\r':
      out += "&#13;";
      continue;
    case '\n':
    case '\t':
      if (in_attr)
        out += c == '\n' ? "&#10;" : "&#9;";
      else
        out += static_cast<char>(c);
      continue;
    default:
      break;
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
      continue;
    }
    size_t len = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    if (i + len > s.size()) // unreachable after parse_xml's checks
      len = s.size() - i;
    uint32_t cp = c & (0x7F >> len);
    for (size_t k = 1; k < len; ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    append_hex_ref(out, cp);
    i += len - 1;
  }
}

/// Writes `n` at `depth`. Pretty output indents by two spaces per level;
/// the children of an element with text (mixed content) are written inline,
/// as libxml2 does, so that re-parsing does not grow the text.
void write_node(std::string& out, const xml_node& n, int depth, bool pretty) {
  if (pretty)
    out.append(static_cast<size_t>(depth) * 2, ' ');
  const char* eol = pretty ? "\n" : "";
  if (n.node_kind() == xml_node::kind::comment) {
    out += "<!--";
    out += n.text();
    out += "-->";
    out += eol;
    return;
  }
  out += '<';
  out += n.name();
  for (const auto& [k, v] : n.attrs()) {
    out += ' ';
    out += k;
    out += "=\"";
    escape(out, v, true);
    out += '"';
  }
  if (n.nodes().empty() && n.text().empty()) {
    out += "/>";
    out += eol;
    return;
  }
  out += '>';
  escape(out, n.text(), false);
  bool nested_pretty = pretty && n.text().empty();
  if (nested_pretty)
    out += '\n';
  for (const auto& c : n.nodes())
    write_node(out, *c, depth + 1, nested_pretty);
  if (nested_pretty)
    out.append(static_cast<size_t>(depth) * 2, ' ');
  out += "</";
  out += n.name();
  out += '>';
  out += eol;
}

} // namespace

std::string write_xml(const xml_document& doc) {
  std::string out = "<?xml version=\"1.0\"?>\n";
  for (const auto& c : doc.leading_comments)
    out += "<!--" + c + "-->\n";
  if (doc.root)
    write_node(out, *doc.root, 0, true);
  for (const auto& c : doc.trailing_comments)
    out += "<!--" + c + "-->\n";
  return out;
}

} // namespace tb::settings
