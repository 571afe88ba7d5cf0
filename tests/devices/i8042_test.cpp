#include <gtest/gtest.h>

#include "devices/i8042.hpp"
#include "tests/devices/fakes.hpp"

namespace tb::devices {
namespace {

using namespace test;

struct i8042_fixture : ::testing::Test {
  fake_irq kbd, aux;
  int resets = 0;
  i8042 dev{kbd, aux, [this] { ++resets; }};

  std::vector<uint8_t> drain() {
    std::vector<uint8_t> out;
    while (inb(dev, 4) & 0x01)
      out.push_back(inb(dev, 0));
    return out;
  }
};

TEST_F(i8042_fixture, self_test_answers_0x55) {
  outb(dev, 4, 0xaa);
  EXPECT_EQ(drain(), std::vector<uint8_t>{0x55});
}

TEST_F(i8042_fixture, command_byte_reads_back_what_was_written) {
  outb(dev, 4, 0x60);
  outb(dev, 0, 0x65);
  outb(dev, 4, 0x20);
  EXPECT_EQ(drain(), std::vector<uint8_t>{0x65});
}

TEST_F(i8042_fixture, interface_tests_pass) {
  outb(dev, 4, 0xab);
  outb(dev, 4, 0xa9);
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0x00, 0x00}));
}

TEST_F(i8042_fixture, keyboard_reset_acks_then_passes_self_test) {
  outb(dev, 0, 0xff);
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0xfa, 0xaa}));
}

TEST_F(i8042_fixture, identify_reports_translated_mf2_id) {
  outb(dev, 0, 0xf2); // translation is on by default
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0xfa, 0xab, 0x41}));
}

TEST_F(i8042_fixture, scancode_set_query_and_leds) {
  outb(dev, 0, 0xf0);
  outb(dev, 0, 0x00);
  outb(dev, 0, 0xed);
  outb(dev, 0, 0x07);
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0xfa, 0xfa, 0x02, 0xfa, 0xfa}));
  EXPECT_EQ(dev.save().leds, 0x07);
}

TEST_F(i8042_fixture, pulse_reset_line_requests_cpu_reset) {
  outb(dev, 4, 0xfe);
  EXPECT_EQ(resets, 1);
}

TEST_F(i8042_fixture, set1_key_passes_through_while_translating) {
  uint8_t a_make[] = {0x1e};
  dev.key_event(a_make);
  EXPECT_TRUE(kbd.level);
  EXPECT_EQ(drain(), std::vector<uint8_t>{0x1e});
  EXPECT_FALSE(kbd.level);
}

TEST_F(i8042_fixture, without_translation_keys_become_set2) {
  outb(dev, 4, 0x60);
  outb(dev, 0, 0x05); // kbd interrupt + system flag, no translation
  uint8_t a_break[] = {0x9e};
  uint8_t up_make[] = {0xe0, 0x48};
  dev.key_event(a_break);
  dev.key_event(up_make);
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0xf0, 0x1c, 0xe0, 0x75}));
}

TEST_F(i8042_fixture, disabled_keyboard_drops_keys) {
  outb(dev, 4, 0xad);
  uint8_t a_make[] = {0x1e};
  dev.key_event(a_make);
  EXPECT_TRUE(drain().empty());
  EXPECT_EQ(dev.counters().dropped_keys, 1u);
}

TEST_F(i8042_fixture, each_queued_byte_gives_a_new_edge) {
  uint8_t keys[] = {0x1e};
  dev.key_event(keys);
  dev.key_event(keys);
  inb(dev, 0);
  EXPECT_EQ(kbd.raised, 2); // one edge per byte for an edge-triggered PIC
}

TEST_F(i8042_fixture, mouse_packet_after_enable_via_d4) {
  outb(dev, 4, 0xd4);
  outb(dev, 0, 0xf4);
  EXPECT_EQ(inb(dev, 4) & 0x21, 0x21); // output full, from aux
  EXPECT_EQ(drain(), std::vector<uint8_t>{0xfa});
  dev.mouse_event(5, -3, 0x01);
  EXPECT_TRUE(aux.level);
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0x29, 0x05, 0xfd}));
}

TEST_F(i8042_fixture, mouse_events_before_enable_are_dropped) {
  dev.mouse_event(1, 1, 0);
  EXPECT_TRUE(drain().empty());
  EXPECT_EQ(dev.counters().dropped_packets, 1u);
}

TEST_F(i8042_fixture, aux_reset_answers_ack_aa_00) {
  outb(dev, 4, 0xd4);
  outb(dev, 0, 0xff);
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0xfa, 0xaa, 0x00}));
}

TEST_F(i8042_fixture, unknown_controller_command_is_counted) {
  outb(dev, 4, 0x99);
  EXPECT_EQ(dev.counters().ignored_writes, 1u);
  EXPECT_TRUE(drain().empty());
}

TEST_F(i8042_fixture, reset_returns_to_power_on_state) {
  outb(dev, 4, 0xad);
  uint8_t key[] = {0x1e};
  dev.key_event(key);
  dev.reset();
  EXPECT_TRUE(dev.save() == i8042_state{});
  EXPECT_FALSE(kbd.level);
}

} // namespace
} // namespace tb::devices
