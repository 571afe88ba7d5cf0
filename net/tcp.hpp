// TCP listeners and streams on an event_loop. Streams and listeners are
// used on the loop thread only (their callbacks run there too).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "net/event_loop.hpp"

namespace tb::net {

/// One accepted connection.
class tcp_stream {
public:
  using data_fn = std::function<void(std::span<const uint8_t>)>;
  using close_fn = std::function<void()>;
  virtual ~tcp_stream() = default;

  /// Starts reading; on_close runs once when the peer or close() ends it.
  virtual void start(data_fn on_data, close_fn on_close) = 0;
  /// Queues bytes (no-op once closed).
  virtual void write(std::vector<uint8_t> bytes) = 0;
  /// Bytes queued but not yet handed to the kernel.
  virtual size_t queued_bytes() const = 0;
  /// Closes after queued writes were handed to the kernel.
  virtual void close() = 0;
  /// Sends a FIN once the queued writes are out but keeps reading, dropping
  /// what arrives, until the peer closes (or close()): a peer still
  /// sending then reads all we sent instead of losing it to a reset.
  /// Later writes are dropped.
  virtual void shutdown_write() = 0;
  virtual bool closed() const = 0;
  /// "address:port" of the peer.
  virtual std::string peer() const = 0;
};

using tcp_stream_ptr = std::shared_ptr<tcp_stream>;

/// Where to listen. Empty addresses (or one empty string) = every address,
/// IPv6 and IPv4 together when the host has IPv6.
struct listen_spec {
  std::vector<std::string> addresses;
  std::string ports = "3389"; ///< "5000,5010-5012"; first free one wins
};

class tcp_listener {
public:
  using accept_fn = std::function<void(tcp_stream_ptr)>;
  virtual ~tcp_listener() = default;
  /// The port all addresses are bound to.
  virtual uint16_t port() const = 0;
  /// The bound addresses as "address:port".
  virtual std::vector<std::string> bound() const = 0;
  virtual void close() = 0;

  /// Binds the first port of spec.ports free on every address of spec.
  /// Callable from any thread; on_accept runs on the loop thread.
  static caf::expected<std::shared_ptr<tcp_listener>>
  open(event_loop& loop, const listen_spec& spec, accept_fn on_accept);
};

} // namespace tb::net
