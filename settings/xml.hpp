// A small mutable XML tree for VirtualBox settings files.
//
// RapidXML parses; this tree owns its strings so edits are cheap and safe, and
// it keeps every element, attribute, comment and attribute order it does not
// understand, so a rewrite loses nothing (virtualbox-compat.md 2).
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

namespace tb::settings {

/// One element (or comment) of a settings document.
class xml_node {
public:
  enum class kind { element, comment };

  explicit xml_node(std::string name, kind k = kind::element);

  const std::string& name() const { return name_; }
  kind node_kind() const { return kind_; }
  /// Text content of an element (or of a comment).
  const std::string& text() const { return text_; }
  void set_text(std::string text) { text_ = std::move(text); }

  /// The attribute's value, or nullptr when absent.
  const std::string* attr(std::string_view name) const;
  /// The attribute's value, or `fallback` when absent.
  std::string attr_or(std::string_view name, std::string_view fallback) const;
  /// Sets or adds an attribute; new attributes go last.
  void set_attr(std::string_view name, std::string_view value);
  void remove_attr(std::string_view name);
  /// Appends an attribute without looking for one of the same name (for
  /// callers that already know it is new, such as the parser).
  void add_attr(std::string name, std::string value) {
    attrs_.emplace_back(std::move(name), std::move(value));
  }
  const std::vector<std::pair<std::string, std::string>>& attrs() const {
    return attrs_;
  }

  /// First child element with this name, or nullptr.
  xml_node* child(std::string_view name);
  const xml_node* child(std::string_view name) const;
  /// All child elements with this name, in document order.
  std::vector<xml_node*> children(std::string_view name);
  std::vector<const xml_node*> children(std::string_view name) const;
  /// Every child node, elements and comments.
  const std::vector<std::unique_ptr<xml_node>>& nodes() const { return nodes_; }

  /// Returns the first child named `name`, creating it if missing. A new
  /// child is placed by `order`, the schema's write order of sibling names:
  /// after the last existing sibling that comes before it in `order`, and
  /// before the first one that comes after; unknown siblings stay put.
  xml_node& ensure_child(std::string_view name,
                         std::initializer_list<std::string_view> order = {});
  /// Appends a new child element (for repeated elements such as entries).
  xml_node& append_child(std::string_view name);
  /// Removes `child` (a pointer obtained from this node).
  void remove_child(const xml_node* child);
  /// Removes every child element named `name`.
  void remove_children(std::string_view name);

  /// Detaches `child` and hands it over (nullptr if it is not a child).
  std::unique_ptr<xml_node> take_child(const xml_node* child);
  /// Inserts an existing node, placed by `order` as in ensure_child.
  xml_node& adopt_child(std::unique_ptr<xml_node> node,
                        std::initializer_list<std::string_view> order = {});
  /// Inserts `node` right before / after the child `sibling` (at the end
  /// when `sibling` is not a child).
  xml_node& insert_before(const xml_node* sibling,
                          std::unique_ptr<xml_node> node);
  xml_node& insert_after(const xml_node* sibling,
                         std::unique_ptr<xml_node> node);
  /// Appends a comment node.
  xml_node& append_comment(std::string text);
  /// A deep copy of this node and everything below it.
  std::unique_ptr<xml_node> clone() const;

private:
  size_t insert_position(std::string_view name,
                         std::initializer_list<std::string_view> order) const;

  std::string name_;
  kind kind_;
  std::string text_;
  std::vector<std::pair<std::string, std::string>> attrs_;
  std::vector<std::unique_ptr<xml_node>> nodes_;
};

/// A parsed document: its root element and the comments around it.
struct xml_document {
  std::unique_ptr<xml_node> root;
  std::vector<std::string> leading_comments;
  /// Comments after the root element (rare; kept so nothing is lost).
  std::vector<std::string> trailing_comments;
};

/// Documents nested deeper than this are rejected (the parser and the tree
/// are recursive; VirtualBox's files nest about 10 levels).
inline constexpr int max_xml_depth = 256;

/// Parses `text`. `what` names the source in errors ("VirtualBox.xml").
/// Errors: settings_errc::malformed_xml with the parser's message and offset.
caf::expected<xml_document> parse_xml(std::string_view text,
                                      std::string_view what);

/// Serialises like libxml2 does for VirtualBox: XML declaration, two-space
/// indentation, attributes in their stored order, escaped values.
std::string write_xml(const xml_document& doc);

} // namespace tb::settings
