// The owned XML tree: lookups and edits (parsing and writing live in
// xml_parse.cpp and xml_write.cpp).
#include "settings/xml.hpp"

#include <algorithm>
#include <optional>

namespace tb::settings {

xml_node::xml_node(std::string name, kind k)
    : name_(std::move(name)), kind_(k) {
  // nothing else
}

const std::string* xml_node::attr(std::string_view name) const {
  for (const auto& [k, v] : attrs_)
    if (k == name)
      return &v;
  return nullptr;
}

std::string xml_node::attr_or(std::string_view name,
                              std::string_view fallback) const {
  if (const auto* v = attr(name))
    return *v;
  return std::string{fallback};
}

void xml_node::set_attr(std::string_view name, std::string_view value) {
  for (auto& [k, v] : attrs_) {
    if (k == name) {
      v.assign(value);
      return;
    }
  }
  attrs_.emplace_back(std::string{name}, std::string{value});
}

void xml_node::remove_attr(std::string_view name) {
  std::erase_if(attrs_, [&](const auto& kv) { return kv.first == name; });
}

xml_node* xml_node::child(std::string_view name) {
  for (auto& n : nodes_)
    if (n->kind_ == kind::element && n->name_ == name)
      return n.get();
  return nullptr;
}

const xml_node* xml_node::child(std::string_view name) const {
  return const_cast<xml_node*>(this)->child(name);
}

std::vector<xml_node*> xml_node::children(std::string_view name) {
  std::vector<xml_node*> out;
  for (auto& n : nodes_)
    if (n->kind_ == kind::element && n->name_ == name)
      out.push_back(n.get());
  return out;
}

std::vector<const xml_node*> xml_node::children(std::string_view name) const {
  std::vector<const xml_node*> out;
  for (const auto& n : nodes_)
    if (n->kind_ == kind::element && n->name_ == name)
      out.push_back(n.get());
  return out;
}

namespace {

/// Position of `name` in `order`, or -1.
int rank_of(std::string_view name,
            std::initializer_list<std::string_view> order) {
  int i = 0;
  for (auto o : order) {
    if (o == name)
      return i;
    ++i;
  }
  return -1;
}

} // namespace

size_t
xml_node::insert_position(std::string_view name,
                          std::initializer_list<std::string_view> order) const {
  int rank = rank_of(name, order);
  if (rank < 0)
    return nodes_.size();
  // After the last sibling ranked before us; else before the first sibling
  // ranked after us; else at the end.
  std::optional<size_t> after_last_before;
  std::optional<size_t> first_after;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i]->kind_ != kind::element)
      continue;
    int r = rank_of(nodes_[i]->name_, order);
    if (r < 0)
      continue;
    if (r < rank)
      after_last_before = i + 1;
    else if (r > rank && !first_after)
      first_after = i;
  }
  if (after_last_before)
    return *after_last_before;
  return first_after ? *first_after : nodes_.size();
}

xml_node&
xml_node::ensure_child(std::string_view name,
                       std::initializer_list<std::string_view> order) {
  if (auto* c = child(name))
    return *c;
  return adopt_child(std::make_unique<xml_node>(std::string{name}), order);
}

xml_node& xml_node::adopt_child(std::unique_ptr<xml_node> node,
                                std::initializer_list<std::string_view> order) {
  auto* result = node.get();
  auto pos = insert_position(result->name_, order);
  nodes_.insert(nodes_.begin() + static_cast<std::ptrdiff_t>(pos),
                std::move(node));
  return *result;
}

std::unique_ptr<xml_node> xml_node::take_child(const xml_node* c) {
  for (auto i = nodes_.begin(); i != nodes_.end(); ++i) {
    if (i->get() == c) {
      auto out = std::move(*i);
      nodes_.erase(i);
      return out;
    }
  }
  return nullptr;
}

xml_node& xml_node::insert_before(const xml_node* sibling,
                                  std::unique_ptr<xml_node> node) {
  auto* result = node.get();
  auto it = std::find_if(nodes_.begin(), nodes_.end(),
                         [&](const auto& n) { return n.get() == sibling; });
  nodes_.insert(it, std::move(node));
  return *result;
}

xml_node& xml_node::insert_after(const xml_node* sibling,
                                 std::unique_ptr<xml_node> node) {
  auto* result = node.get();
  auto it = std::find_if(nodes_.begin(), nodes_.end(),
                         [&](const auto& n) { return n.get() == sibling; });
  nodes_.insert(it == nodes_.end() ? it : it + 1, std::move(node));
  return *result;
}

xml_node& xml_node::append_comment(std::string text) {
  nodes_.push_back(std::make_unique<xml_node>(std::string{}, kind::comment));
  nodes_.back()->text_ = std::move(text);
  return *nodes_.back();
}

std::unique_ptr<xml_node> xml_node::clone() const {
  auto out = std::make_unique<xml_node>(name_, kind_);
  out->text_ = text_;
  out->attrs_ = attrs_;
  for (const auto& n : nodes_)
    out->nodes_.push_back(n->clone());
  return out;
}

xml_node& xml_node::append_child(std::string_view name) {
  nodes_.push_back(std::make_unique<xml_node>(std::string{name}));
  return *nodes_.back();
}

void xml_node::remove_child(const xml_node* c) {
  std::erase_if(nodes_, [&](const auto& n) { return n.get() == c; });
}

void xml_node::remove_children(std::string_view name) {
  std::erase_if(nodes_, [&](const auto& n) {
    return n->kind_ == kind::element && n->name_ == name;
  });
}

} // namespace tb::settings
