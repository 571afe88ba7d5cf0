// 8250/16550A UART (COM1: ports 0x3f8-0x3ff, IRQ 4) with 16-byte FIFOs.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "devices/bus.hpp"

namespace tb::devices {

/// Saved state of the UART; the transmitter empties instantly, so only the
/// receive FIFO holds bytes.
struct uart_16550_state {
  uint8_t ier = 0;
  uint8_t lcr = 0;
  uint8_t mcr = 0;
  uint8_t lsr_errors = 0; ///< Overrun (bit 1), cleared by reading LSR.
  uint8_t msr_deltas = 0; ///< Delta bits 0-3, cleared by reading MSR.
  uint8_t scr = 0;
  uint8_t dll = 0x0c; ///< 9600 baud
  uint8_t dlm = 0;
  uint8_t fcr = 0;
  bool thr_interrupt =
      false; ///< THRE interrupt latched until IIR read/THR write
  std::vector<uint8_t> rx_fifo;
  bool operator==(const uart_16550_state&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, uart_16550_state& x) {
  return f(caf::meta::type_name("uart_16550_state"), x.ier, x.lcr, x.mcr,
           x.lsr_errors, x.msr_deltas, x.scr, x.dll, x.dlm, x.fcr,
           x.thr_interrupt, x.rx_fifo);
}

/// A 16550A: THR/RBR, IER, IIR/FCR, LCR, MCR (loopback), LSR, MSR, SCR and
/// the divisor latch at offsets 0-7. Transmitted bytes go to the sink at
/// once; received bytes come from receive() on the asynchronous side. The
/// interrupt line is level: high while IIR reports a cause.
class uart_16550 final : public pio_device {
public:
  static constexpr size_t fifo_size = 16;
  using output_sink = std::function<void(uint8_t byte)>;

  /// `on_rx_drained` (optional) runs when the guest empties the receive
  /// FIFO, so the asynchronous side can send what receive() did not take.
  /// It runs inside a register read: post a message, do not call back.
  uart_16550(irq_line& irq, output_sink sink,
             std::function<void()> on_rx_drained = {});

  /// Queues guest input; returns how many bytes fit (the rest stays with the
  /// caller, like a flow-controlled line).
  size_t receive(std::span<const uint8_t> bytes);
  /// Free space in the receive FIFO.
  size_t rx_space() const;

  uart_16550_state save() const { return state_; }
  void restore(const uart_16550_state& state);
  /// System reset (i8042 pulse, triple fault): power-on register values.
  void reset();
  const device_counters& counters() const { return counters_; }

  // pio_device
  void pio_read(uint16_t offset, std::span<uint8_t> data) override;
  void pio_write(uint16_t offset, std::span<const uint8_t> data) override;

private:
  uint8_t read_register(uint16_t offset);
  void write_register(uint16_t offset, uint8_t value);
  void transmit(uint8_t byte);
  uint8_t iir() const;
  uint8_t msr() const;
  bool dlab() const { return state_.lcr & 0x80; }
  bool loopback() const { return state_.mcr & 0x10; }
  void update_irq();

  irq_line& irq_;
  output_sink sink_;
  std::function<void()> on_rx_drained_;
  uart_16550_state state_;
  device_counters counters_;
  bool irq_level_ = false;
};

} // namespace tb::devices
