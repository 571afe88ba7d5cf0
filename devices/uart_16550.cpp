#include "devices/uart_16550.hpp"

#include <algorithm>

namespace tb::devices {

namespace {

enum : uint8_t {
  ier_rx = 0x01,
  ier_thre = 0x02,
  ier_line = 0x04,
  ier_modem = 0x08,
  lsr_dr = 0x01,
  lsr_oe = 0x02,
  lsr_thre = 0x20,
  lsr_temt = 0x40,
  iir_none = 0x01,
};

} // namespace

uart_16550::uart_16550(irq_line& irq, output_sink sink,
                       std::function<void()> on_rx_drained)
    : irq_(irq), sink_(std::move(sink)),
      on_rx_drained_(std::move(on_rx_drained)) {}

size_t uart_16550::rx_space() const {
  return fifo_size - std::min(fifo_size, state_.rx_fifo.size());
}

size_t uart_16550::receive(std::span<const uint8_t> bytes) {
  size_t n = std::min(bytes.size(), rx_space());
  state_.rx_fifo.insert(state_.rx_fifo.end(), bytes.begin(), bytes.begin() + n);
  if (n)
    update_irq();
  return n;
}

void uart_16550::reset() {
  restore(uart_16550_state{});
}

void uart_16550::restore(const uart_16550_state& state) {
  state_ = state;
  if (state_.rx_fifo.size() > fifo_size)
    state_.rx_fifo.resize(fifo_size);
  update_irq();
}

void uart_16550::pio_read(uint16_t offset, std::span<uint8_t> data) {
  if (offset > 7 || data.size() != 1) {
    std::fill(data.begin(), data.end(), 0xff);
    ++counters_.ignored_reads;
    return;
  }
  data[0] = read_register(offset);
  update_irq();
}

void uart_16550::pio_write(uint16_t offset, std::span<const uint8_t> data) {
  if (offset > 7 || data.size() != 1) {
    ++counters_.ignored_writes;
    return;
  }
  write_register(offset, data[0]);
  update_irq();
}

// Interrupt identification, highest priority first: line status, received
// data, transmitter empty, modem status. Bits 7-6 report enabled FIFOs.
uint8_t uart_16550::iir() const {
  uint8_t fifo_bits = (state_.fcr & 0x01) ? 0xc0 : 0x00;
  if ((state_.ier & ier_line) && state_.lsr_errors)
    return fifo_bits | 0x06;
  if ((state_.ier & ier_rx) && !state_.rx_fifo.empty())
    return fifo_bits | 0x04;
  if ((state_.ier & ier_thre) && state_.thr_interrupt)
    return fifo_bits | 0x02;
  if ((state_.ier & ier_modem) && state_.msr_deltas)
    return fifo_bits | 0x00;
  return fifo_bits | iir_none;
}

// Modem status: in loopback the outputs (DTR, RTS, OUT1, OUT2) appear as
// DSR, CTS, RI, DCD; otherwise the line is up (DCD, DSR, CTS).
uint8_t uart_16550::msr() const {
  uint8_t lines = 0xb0;
  if (loopback()) {
    uint8_t m = state_.mcr;
    lines = uint8_t(((m & 0x01) << 5) | ((m & 0x02) << 3) | ((m & 0x04) << 4)
                    | ((m & 0x08) << 4));
  }
  return lines | state_.msr_deltas;
}

uint8_t uart_16550::read_register(uint16_t offset) {
  switch (offset) {
  case 0: {
    if (dlab())
      return state_.dll;
    if (state_.rx_fifo.empty())
      return 0;
    uint8_t b = state_.rx_fifo.front();
    state_.rx_fifo.erase(state_.rx_fifo.begin());
    if (state_.rx_fifo.empty() && on_rx_drained_)
      on_rx_drained_();
    return b;
  }
  case 1:
    return dlab() ? state_.dlm : state_.ier;
  case 2: {
    uint8_t v = iir();
    if ((v & 0x0f) == 0x02) // reading IIR acknowledges THRE
      state_.thr_interrupt = false;
    return v;
  }
  case 3:
    return state_.lcr;
  case 4:
    return state_.mcr;
  case 5: {
    uint8_t v = uint8_t(lsr_thre | lsr_temt | state_.lsr_errors
                        | (state_.rx_fifo.empty() ? 0 : lsr_dr));
    state_.lsr_errors = 0;
    return v;
  }
  case 6: {
    uint8_t v = msr();
    state_.msr_deltas = 0;
    return v;
  }
  default:
    return state_.scr;
  }
}

void uart_16550::write_register(uint16_t offset, uint8_t value) {
  switch (offset) {
  case 0:
    if (dlab())
      state_.dll = value;
    else
      transmit(value);
    break;
  case 1:
    if (dlab()) {
      state_.dlm = value;
      break;
    }
    // Enabling THRE with an empty transmitter interrupts at once.
    if (!(state_.ier & ier_thre) && (value & ier_thre))
      state_.thr_interrupt = true;
    state_.ier = value & 0x0f;
    break;
  case 2: // FCR
    if (value & 0x02)
      state_.rx_fifo.clear();
    state_.fcr = value & 0xc9;
    break;
  case 3:
    state_.lcr = value;
    break;
  case 4: {
    uint8_t before = msr();
    state_.mcr = value & 0x1f;
    uint8_t after = msr();
    // Delta CTS, DSR, DCD; trailing edge of RI.
    uint8_t changed = before ^ after;
    state_.msr_deltas |= uint8_t(((changed >> 4) & 0x0b)
                                 | ((before & ~after & 0x40) ? 0x04 : 0));
    break;
  }
  case 5: // LSR is read-only (factory test writes)
  case 6: // MSR is read-only
    ++counters_.ignored_writes;
    break;
  default:
    state_.scr = value;
  }
}

void uart_16550::transmit(uint8_t byte) {
  if (loopback()) {
    if (state_.rx_fifo.size() < fifo_size)
      state_.rx_fifo.push_back(byte);
    else
      state_.lsr_errors |= lsr_oe;
  } else if (sink_) {
    sink_(byte);
  }
  state_.thr_interrupt = true; // sent instantly: empty again
}

void uart_16550::update_irq() {
  bool level = (iir() & iir_none) == 0;
  if (level != irq_level_) {
    irq_level_ = level;
    irq_.set_level(level);
  }
}

} // namespace tb::devices
