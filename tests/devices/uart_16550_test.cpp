#include <gtest/gtest.h>

#include "devices/uart_16550.hpp"
#include "tests/devices/fakes.hpp"

namespace tb::devices {
namespace {

using namespace test;

struct uart_fixture : ::testing::Test {
  fake_irq irq;
  std::vector<uint8_t> sent;
  uart_16550 uart{irq, [this](uint8_t b) { sent.push_back(b); }};
};

TEST_F(uart_fixture, thr_write_reaches_the_sink) {
  outb(uart, 0, 'h');
  outb(uart, 0, 'i');
  EXPECT_EQ(sent, (std::vector<uint8_t>{'h', 'i'}));
}

TEST_F(uart_fixture, lsr_reports_transmitter_empty_and_data_ready) {
  EXPECT_EQ(inb(uart, 5), 0x60); // THRE | TEMT, nothing received
  uint8_t byte = 'x';
  uart.receive({&byte, 1});
  EXPECT_EQ(inb(uart, 5), 0x61);
  EXPECT_EQ(inb(uart, 0), 'x');
  EXPECT_EQ(inb(uart, 5), 0x60);
}

TEST_F(uart_fixture, receive_fills_at_most_sixteen_bytes) {
  std::vector<uint8_t> input(20, 'a');
  EXPECT_EQ(uart.receive(input), 16u);
  EXPECT_EQ(uart.rx_space(), 0u);
}

TEST_F(uart_fixture, rx_interrupt_follows_ier_and_fifo) {
  outb(uart, 1, 0x01); // IER: received data available
  EXPECT_FALSE(irq.level);
  uint8_t byte = 'k';
  uart.receive({&byte, 1});
  EXPECT_TRUE(irq.level);
  EXPECT_EQ(inb(uart, 2) & 0x0f, 0x04);
  inb(uart, 0);
  EXPECT_FALSE(irq.level);
  EXPECT_EQ(inb(uart, 2) & 0x0f, 0x01);
}

TEST_F(uart_fixture, thre_interrupt_is_acknowledged_by_reading_iir) {
  outb(uart, 1, 0x02); // enabling THRE with an empty transmitter interrupts
  EXPECT_TRUE(irq.level);
  EXPECT_EQ(inb(uart, 2) & 0x0f, 0x02);
  EXPECT_FALSE(irq.level);
  outb(uart, 0, 'z'); // sent at once: empty again
  EXPECT_TRUE(irq.level);
}

TEST_F(uart_fixture, divisor_latch_is_behind_dlab) {
  outb(uart, 3, 0x80); // DLAB
  outb(uart, 0, 0x01); // 115200 baud
  outb(uart, 1, 0x00);
  outb(uart, 3, 0x03); // 8N1, DLAB off
  EXPECT_TRUE(sent.empty());
  EXPECT_EQ(uart.save().dll, 0x01);
  EXPECT_EQ(inb(uart, 1), 0x00); // IER untouched
}

TEST_F(uart_fixture, loopback_returns_sent_bytes_and_mirrors_modem_lines) {
  outb(uart, 4, 0x10 | 0x03); // loopback, DTR, RTS
  outb(uart, 0, 'L');
  EXPECT_TRUE(sent.empty());
  EXPECT_EQ(inb(uart, 0), 'L');
  EXPECT_EQ(inb(uart, 6) & 0xf0, 0x30); // CTS, DSR
}

TEST_F(uart_fixture, fifo_enabled_shows_in_iir_and_fcr_clears_rx) {
  outb(uart, 2, 0x07);
  EXPECT_EQ(inb(uart, 2) & 0xc0, 0xc0);
  uint8_t byte = 'q';
  uart.receive({&byte, 1});
  outb(uart, 2, 0x03); // clear receive FIFO
  EXPECT_EQ(inb(uart, 5) & 0x01, 0);
}

TEST_F(uart_fixture, scratch_register_holds_a_byte) {
  outb(uart, 7, 0x5a);
  EXPECT_EQ(inb(uart, 7), 0x5a);
}

TEST_F(uart_fixture, wide_and_out_of_range_accesses_are_counted) {
  outw(uart, 0, 0x4141);
  inb(uart, 8);
  EXPECT_TRUE(sent.empty());
  EXPECT_EQ(uart.counters().ignored_writes, 1u);
  EXPECT_EQ(uart.counters().ignored_reads, 1u);
}

TEST(uart_16550, drained_fifo_tells_the_input_side) {
  fake_irq irq;
  int drained = 0;
  uart_16550 uart{irq, [](uint8_t) {}, [&] { ++drained; }};
  uint8_t bytes[] = {'a', 'b'};
  uart.receive(bytes);
  inb(uart, 0);
  EXPECT_EQ(drained, 0);
  inb(uart, 0);
  EXPECT_EQ(drained, 1);
}

} // namespace
} // namespace tb::devices
