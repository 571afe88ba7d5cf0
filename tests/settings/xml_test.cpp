// The owned XML tree: parse, edit, write.
#include <string>

#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "settings/errors.hpp"
#include "settings/xml.hpp"

namespace tb::settings {
namespace {

TEST(xml, writes_like_libxml2) {
  auto doc = parse_xml("<?xml version=\"1.0\"?>\n<!--\n** DO NOT EDIT\n-->\n"
                       "<A x=\"1\" b=\"&amp;&lt;&gt;&quot;\"><B/><C>t&amp;"
                       "</C><!-- c --></A>",
                       "t.xml");
  ASSERT_TRUE(doc) << error_text(doc.error());
  EXPECT_EQ(write_xml(*doc), "<?xml version=\"1.0\"?>\n<!--\n** DO NOT EDIT\n"
                             "-->\n<A x=\"1\" b=\"&amp;&lt;&gt;&quot;\">\n"
                             "  <B/>\n  <C>t&amp;</C>\n  <!-- c -->\n</A>\n");
}

TEST(xml, non_ascii_becomes_character_reference) {
  auto doc = parse_xml("<A v=\"Transfer&#xEA;ncias\">\xC3\xAA\n</A>", "t");
  ASSERT_TRUE(doc);
  EXPECT_EQ(*doc->root->attr("v"), "Transfer\xC3\xAAncias");
  EXPECT_EQ(write_xml(*doc), "<?xml version=\"1.0\"?>\n<A v=\"Transfer&#xEA;"
                             "ncias\">&#xEA;\n</A>\n");
}

TEST(xml, attribute_whitespace_survives) {
  auto doc = parse_xml("<A v=\"a&#10;b&#9;c&#13;\"/>", "t");
  ASSERT_TRUE(doc);
  EXPECT_EQ(*doc->root->attr("v"), "a\nb\tc\r");
  auto again = parse_xml(write_xml(*doc), "t");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again->root->attr("v"), "a\nb\tc\r");
}

TEST(xml, mixed_content_is_stable) {
  auto doc = parse_xml("<A>text<B/>more</A>", "t");
  ASSERT_TRUE(doc);
  auto once = write_xml(*doc);
  auto again = parse_xml(once, "t");
  ASSERT_TRUE(again);
  EXPECT_EQ(write_xml(*again), once);
}

TEST(xml, ensure_child_follows_order) {
  auto doc = parse_xml("<H><CPU/><X/><Network/></H>", "t");
  ASSERT_TRUE(doc);
  auto& root = *doc->root;
  root.ensure_child("Memory", {"CPU", "Memory", "Display", "Network"});
  root.ensure_child("Display", {"CPU", "Memory", "Display", "Network"});
  root.ensure_child("Audio", {"CPU", "Network", "Audio"});
  root.ensure_child("First", {"First", "CPU"});
  root.ensure_child("Unknown", {"CPU"});
  std::string names;
  for (const auto& n : root.nodes())
    names += n->name() + ",";
  EXPECT_EQ(names, "First,CPU,Memory,Display,X,Network,Audio,Unknown,");
  EXPECT_EQ(&root.ensure_child("CPU"), root.child("CPU"));
}

TEST(xml, edits) {
  xml_node n{"E"};
  n.set_attr("a", "1");
  n.set_attr("b", "2");
  n.set_attr("a", "3");
  ASSERT_EQ(n.attrs().size(), 2u);
  EXPECT_EQ(n.attrs()[0].second, "3");
  n.remove_attr("a");
  EXPECT_EQ(n.attr("a"), nullptr);
  EXPECT_EQ(n.attr_or("a", "x"), "x");
  n.append_child("C");
  n.append_child("C");
  n.append_child("D");
  EXPECT_EQ(n.children("C").size(), 2u);
  n.remove_children("C");
  EXPECT_EQ(n.children("C").size(), 0u);
  auto d = n.take_child(n.child("D"));
  ASSERT_TRUE(d);
  EXPECT_TRUE(n.nodes().empty());
  auto copy = d->clone();
  EXPECT_EQ(copy->name(), "D");
}

void expect_malformed(std::string_view text, std::string_view needle) {
  auto doc = parse_xml(text, "bad.xml");
  ASSERT_FALSE(doc) << text;
  EXPECT_EQ(doc.error(), settings_errc::malformed_xml);
  auto msg = error_text(doc.error());
  EXPECT_NE(msg.find("bad.xml"), std::string::npos) << msg;
  EXPECT_NE(msg.find(needle), std::string::npos) << msg;
}

TEST(xml, rejects_malformed) {
  expect_malformed("<A><B></A>", "line 1");
  expect_malformed("<A>\n<B x=\"1\">\n", "line 3");
  expect_malformed("", "no root");
  expect_malformed("<A/><B/>", "more than one root");
  expect_malformed("<A x=\"1\" x=\"2\"/>", "twice");
  expect_malformed(std::string_view{"<A>\0</A>", 8}, "not UTF-8");
  expect_malformed("<A>\xFF</A>", "not UTF-8");
  expect_malformed("<A>&#1;</A>", "does not allow");
  expect_malformed("<A><!-- a -- b --></A>", "comment");
  expect_malformed("<!DOCTYPE A><A/>", "DOCTYPE");
  std::string deep;
  for (int i = 0; i < 300; ++i)
    deep += "<a>";
  expect_malformed(deep, "deeper");
  std::string deep_closed;
  for (int i = 0; i < 100000; ++i)
    deep_closed += "<a x='/>'>";
  expect_malformed(deep_closed, "deeper");
}

TEST(xml, depth_limit_is_exact) {
  std::string ok;
  for (int i = 0; i < max_xml_depth; ++i)
    ok += "<a>";
  for (int i = 0; i < max_xml_depth; ++i)
    ok += "</a>";
  EXPECT_TRUE(parse_xml(ok, "t"));
}

} // namespace
} // namespace tb::settings
