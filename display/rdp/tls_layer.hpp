// Enhanced RDP Security: TLS (BoringSSL) over the RDP byte stream, with
// memory BIOs so the session stays socket-free (MS-RDPBCGR 5.4).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

// BoringSSL's X509, EVP_PKEY and BIO (openssl/base.h).
struct x509_st;
struct evp_pkey_st;
struct bio_st;

namespace tb::display::rdp {

/// A server TLS context with a self-signed RSA-2048 certificate generated
/// once per server (clients pin or ignore it).
class tls_context {
public:
  static caf::expected<std::shared_ptr<const tls_context>> generate();
  /// A context from a PEM certificate (chain) and PEM private key, given as
  /// file contents.
  static caf::expected<std::shared_ptr<const tls_context>>
  from_pem(const std::string& cert_pem, const std::string& key_pem);
  /// A new self-signed RSA-2048 certificate and its key, as PEM texts
  /// (certificate first).
  static caf::expected<std::pair<std::string, std::string>> generate_pem();
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;
  /// SHA-256 of the DER certificate, as hex pairs separated by ':'.
  const std::string& fingerprint() const { return fingerprint_; }

private:
  friend class tls_stream;
  tls_context() = default;
  /// chain: further certificates after the first (may be null).
  static caf::expected<std::shared_ptr<const tls_context>>
  make_context(x509_st* x, evp_pkey_st* pkey, bio_st* chain);
  void* ctx_ = nullptr; // SSL_CTX*
  std::string fingerprint_;
};

/// One connection's TLS state.
class tls_stream {
public:
  explicit tls_stream(std::shared_ptr<const tls_context> ctx);
  ~tls_stream();
  tls_stream(const tls_stream&) = delete;
  tls_stream& operator=(const tls_stream&) = delete;

  /// Ciphertext from the client; decrypted application bytes are appended
  /// to plain. Handshake replies queue for take_ciphertext().
  caf::error feed(std::span<const uint8_t> cipher, std::vector<uint8_t>& plain);
  /// Encrypts application bytes (queued until the handshake is done).
  caf::error write(std::span<const uint8_t> plain);
  std::vector<uint8_t> take_ciphertext();
  bool handshake_done() const;

private:
  caf::error pump();
  std::shared_ptr<const tls_context> ctx_;
  void* ssl_ = nullptr; // SSL*
  void* rbio_ = nullptr;
  void* wbio_ = nullptr;
  std::vector<uint8_t> early_; // plaintext written before the handshake
};

} // namespace tb::display::rdp
