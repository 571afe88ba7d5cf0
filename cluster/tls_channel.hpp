// A TLS 1.2/1.3 channel on a connected socket, on BoringSSL, for the
// teleport stream. Blocking: it runs on the teleport's own threads, never on
// actor workers. Peers are not authenticated by certificate: the teleporter
// password is proven over the channel (teleport_auth.hpp), bound to this
// session's keys, so a relay in the middle fails.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

struct ssl_ctx_st;
struct ssl_st;

namespace tb::cluster {

/// A server identity: an SSL context with a fresh self-signed certificate.
class tls_identity {
public:
  /// Generates a P-256 key and a self-signed certificate in memory.
  static caf::expected<std::shared_ptr<tls_identity>> self_signed();
  ~tls_identity();
  ssl_ctx_st* context() const { return ctx_; }

private:
  tls_identity() = default;
  ssl_ctx_st* ctx_ = nullptr;
};

class tls_channel {
public:
  /// Runs the server handshake on `fd` (taking ownership of it).
  static caf::expected<tls_channel> accept(int fd,
                                           std::shared_ptr<tls_identity> id);
  /// Runs the client handshake on `fd` (taking ownership of it).
  static caf::expected<tls_channel> connect(int fd);

  tls_channel(tls_channel&& other) noexcept;
  tls_channel& operator=(tls_channel&& other) noexcept;
  ~tls_channel();

  caf::error write_all(std::span<const uint8_t> data);
  caf::error write_line(const std::string& line); ///< Appends '\n'.
  /// Reads at least one byte; 0 means the peer closed.
  caf::expected<size_t> read_some(std::span<uint8_t> buf);
  caf::error read_exact(std::span<uint8_t> buf);
  /// Reads one line (without '\n'); refuses lines longer than `max`.
  caf::expected<std::string> read_line(size_t max = 1024);
  /// 32 bytes of keying material unique to this session (RFC 5705).
  caf::expected<std::array<uint8_t, 32>> exporter(const std::string& label);
  /// The negotiated protocol, e.g. "TLSv1.3".
  std::string version() const;
  int fd() const { return fd_; }
  /// Shuts the socket down both ways, waking a thread blocked in a read.
  void abort();

private:
  tls_channel(int fd, ssl_st* ssl, std::shared_ptr<tls_identity> id);
  void release();
  int fd_ = -1;
  ssl_st* ssl_ = nullptr;
  std::shared_ptr<tls_identity> id_;
  std::string pending_; ///< Bytes read past the last line.
};

} // namespace tb::cluster
