// TLS channel and self-signed identity on BoringSSL.
#include "cluster/tls_channel.hpp"

#include <cerrno>
#include <cstring>

#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/teleport_wire.hpp"

namespace tb::cluster {

namespace {

caf::error tls_error(const std::string& what) {
  // BoringSSL queues nothing when the socket itself failed (a peer that
  // vanished); then errno says what happened, if anything.
  int saved_errno = errno;
  std::string detail;
  if (auto code = ERR_get_error()) {
    char buf[256] = {};
    ERR_error_string_n(code, buf, sizeof(buf));
    detail = buf;
  } else if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK) {
    detail = "timed out"; // SO_SNDTIMEO/SO_RCVTIMEO ran out.
  } else if (saved_errno != 0) {
    detail = std::strerror(saved_errno);
  }
  ERR_clear_error();
  return caf::make_error(
      teleport_errc::io_error,
      "TLS: " + what + (detail.empty() ? std::string{} : ": " + detail));
}

EVP_PKEY* make_key() {
  EC_KEY* ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
  if (!ec || !EC_KEY_generate_key(ec)) {
    EC_KEY_free(ec);
    return nullptr;
  }
  EVP_PKEY* key = EVP_PKEY_new();
  if (!key || !EVP_PKEY_assign_EC_KEY(key, ec)) {
    EVP_PKEY_free(key);
    EC_KEY_free(ec);
    return nullptr;
  }
  return key;
}

X509* make_certificate(EVP_PKEY* key) {
  X509* x = X509_new();
  if (!x)
    return nullptr;
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const uint8_t*>("telebox"), -1,
                             -1, 0);
  X509_set_issuer_name(x, name);
  if (!X509_set_pubkey(x, key) || !X509_sign(x, key, EVP_sha256())) {
    X509_free(x);
    return nullptr;
  }
  return x;
}

} // namespace

caf::expected<std::shared_ptr<tls_identity>> tls_identity::self_signed() {
  std::shared_ptr<tls_identity> id{new tls_identity};
  EVP_PKEY* key = make_key();
  X509* cert = key ? make_certificate(key) : nullptr;
  id->ctx_ = SSL_CTX_new(TLS_method());
  bool ok = cert && id->ctx_
            && SSL_CTX_set_min_proto_version(id->ctx_, TLS1_2_VERSION)
            && SSL_CTX_use_certificate(id->ctx_, cert)
            && SSL_CTX_use_PrivateKey(id->ctx_, key);
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!ok)
    return tls_error("cannot create a self-signed identity");
  return id;
}

tls_identity::~tls_identity() {
  SSL_CTX_free(ctx_);
}

tls_channel::tls_channel(int fd, ssl_st* ssl, std::shared_ptr<tls_identity> id)
    : fd_(fd), ssl_(ssl), id_(std::move(id)) {}

tls_channel::tls_channel(tls_channel&& other) noexcept
    : fd_(other.fd_), ssl_(other.ssl_), id_(std::move(other.id_)),
      pending_(std::move(other.pending_)) {
  other.fd_ = -1;
  other.ssl_ = nullptr;
}

tls_channel& tls_channel::operator=(tls_channel&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = other.fd_;
    ssl_ = other.ssl_;
    id_ = std::move(other.id_);
    pending_ = std::move(other.pending_);
    other.fd_ = -1;
    other.ssl_ = nullptr;
  }
  return *this;
}

tls_channel::~tls_channel() {
  release();
}

void tls_channel::release() {
  if (ssl_)
    SSL_free(ssl_);
  if (fd_ >= 0)
    ::close(fd_);
  ssl_ = nullptr;
  fd_ = -1;
}

caf::expected<tls_channel>
tls_channel::accept(int fd, std::shared_ptr<tls_identity> id) {
  SSL* ssl = SSL_new(id->context());
  if (!ssl || !SSL_set_fd(ssl, fd)) {
    ::close(fd);
    return tls_error("cannot set up the server session");
  }
  tls_channel ch{fd, ssl, std::move(id)};
  errno = 0;
  if (SSL_accept(ssl) != 1)
    return tls_error("server handshake failed");
  return ch;
}

caf::expected<tls_channel> tls_channel::connect(int fd) {
  // The client context lives as long as the process: it has no secrets.
  static SSL_CTX* ctx = [] {
    SSL_CTX* c = SSL_CTX_new(TLS_method());
    if (c)
      SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    return c;
  }();
  SSL* ssl = ctx ? SSL_new(ctx) : nullptr;
  if (!ssl || !SSL_set_fd(ssl, fd)) {
    ::close(fd);
    return tls_error("cannot set up the client session");
  }
  tls_channel ch{fd, ssl, nullptr};
  errno = 0;
  if (SSL_connect(ssl) != 1)
    return tls_error("client handshake failed");
  return ch;
}

caf::error tls_channel::write_all(std::span<const uint8_t> data) {
  while (!data.empty()) {
    errno = 0;
    int n = SSL_write(ssl_, data.data(),
                      static_cast<int>(std::min<size_t>(data.size(), 1 << 20)));
    if (n <= 0)
      return tls_error("write failed");
    data = data.subspan(static_cast<size_t>(n));
  }
  return caf::none;
}

caf::error tls_channel::write_line(const std::string& line) {
  auto text = line + "\n";
  return write_all(
      {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

caf::expected<size_t> tls_channel::read_some(std::span<uint8_t> buf) {
  if (!pending_.empty()) {
    auto n = std::min(buf.size(), pending_.size());
    std::memcpy(buf.data(), pending_.data(), n);
    pending_.erase(0, n);
    return n;
  }
  errno = 0;
  int n = SSL_read(ssl_, buf.data(), static_cast<int>(buf.size()));
  if (n > 0)
    return static_cast<size_t>(n);
  if (SSL_get_error(ssl_, n) == SSL_ERROR_ZERO_RETURN)
    return size_t{0};
  return tls_error("read failed (connection lost)");
}

caf::error tls_channel::read_exact(std::span<uint8_t> buf) {
  while (!buf.empty()) {
    auto n = read_some(buf);
    if (!n)
      return n.error();
    if (*n == 0)
      return caf::make_error(
          teleport_errc::io_error,
          std::string{"teleport peer closed the connection"});
    buf = buf.subspan(*n);
  }
  return caf::none;
}

caf::expected<std::string> tls_channel::read_line(size_t max) {
  std::string line;
  for (;;) {
    auto nl = pending_.find('\n');
    if (nl != std::string::npos) {
      line += pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    line += pending_;
    pending_.clear();
    if (line.size() > max)
      return caf::make_error(
          teleport_errc::malformed,
          std::string{"teleport peer sent an overlong line"});
    uint8_t buf[512];
    int n = SSL_read(ssl_, buf, sizeof(buf));
    if (n <= 0)
      return caf::make_error(
          teleport_errc::io_error,
          std::string{"teleport peer closed the connection"});
    pending_.assign(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  }
}

caf::expected<std::array<uint8_t, 32>>
tls_channel::exporter(const std::string& label) {
  std::array<uint8_t, 32> out{};
  if (SSL_export_keying_material(ssl_, out.data(), out.size(), label.data(),
                                 label.size(), nullptr, 0, 0)
      != 1)
    return tls_error("cannot export keying material");
  return out;
}

std::string tls_channel::version() const {
  return ssl_ ? SSL_get_version(ssl_) : "";
}

void tls_channel::abort() {
  if (fd_ >= 0)
    ::shutdown(fd_, SHUT_RDWR);
}

} // namespace tb::cluster
