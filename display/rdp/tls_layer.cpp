#include "display/rdp/tls_layer.hpp"

#include <cstdio>
#include <string>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "display/rdp/errors.hpp"

namespace tb::display::rdp {

namespace {

std::string ssl_errors() {
  std::string out;
  while (uint32_t e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty())
      out += "; ";
    out += buf;
  }
  return out.empty() ? "no details" : out;
}

caf::error tls_error(const std::string& what) {
  return make_rdp_error(rdp_errc::crypto_failed,
                        "TLS: " + what + " (" + ssl_errors() + ")");
}

SSL_CTX* as_ctx(void* p) {
  return static_cast<SSL_CTX*>(p);
}
SSL* as_ssl(void* p) {
  return static_cast<SSL*>(p);
}
BIO* as_bio(void* p) {
  return static_cast<BIO*>(p);
}

} // namespace

tls_context::~tls_context() {
  SSL_CTX_free(as_ctx(ctx_));
}

namespace {

struct key_and_cert {
  bssl::UniquePtr<EVP_PKEY> pkey;
  bssl::UniquePtr<X509> cert;
};

caf::expected<key_and_cert> make_self_signed() {
  bssl::UniquePtr<EVP_PKEY> pkey{EVP_PKEY_new()};
  bssl::UniquePtr<RSA> rsa{RSA_new()};
  bssl::UniquePtr<BIGNUM> e{BN_new()};
  BN_set_word(e.get(), RSA_F4);
  if (!RSA_generate_key_ex(rsa.get(), 2048, e.get(), nullptr)
      || !EVP_PKEY_assign_RSA(pkey.get(), rsa.release()))
    return tls_error("generating the RSA-2048 server key failed");
  bssl::UniquePtr<X509> x{X509_new()};
  uint8_t serial[8];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7F;
  bssl::UniquePtr<BIGNUM> sn{BN_bin2bn(serial, sizeof(serial), nullptr)};
  BN_to_ASN1_INTEGER(sn.get(), X509_get_serialNumber(x.get()));
  X509_set_version(x.get(), 2);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 60L * 60 * 24 * 365 * 10);
  X509_set_pubkey(x.get(), pkey.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const uint8_t*>("telebox"), -1,
                             -1, 0);
  X509_set_issuer_name(x.get(), name);
  if (!X509_sign(x.get(), pkey.get(), EVP_sha256()))
    return tls_error("self-signing the server certificate failed");
  return key_and_cert{std::move(pkey), std::move(x)};
}

std::string bio_text(BIO* b) {
  const uint8_t* data = nullptr;
  size_t len = 0;
  BIO_mem_contents(b, &data, &len);
  return std::string{reinterpret_cast<const char*>(data), len};
}

} // namespace

caf::expected<std::pair<std::string, std::string>> tls_context::generate_pem() {
  auto kc = make_self_signed();
  if (!kc)
    return kc.error();
  bssl::UniquePtr<BIO> cb{BIO_new(BIO_s_mem())};
  bssl::UniquePtr<BIO> kb{BIO_new(BIO_s_mem())};
  if (!PEM_write_bio_X509(cb.get(), kc->cert.get())
      || !PEM_write_bio_PrivateKey(kb.get(), kc->pkey.get(), nullptr, nullptr,
                                   0, nullptr, nullptr))
    return tls_error("writing the certificate as PEM failed");
  return std::pair{bio_text(cb.get()), bio_text(kb.get())};
}

caf::expected<std::shared_ptr<const tls_context>>
tls_context::from_pem(const std::string& cert_pem, const std::string& key_pem) {
  bssl::UniquePtr<BIO> cb{
      BIO_new_mem_buf(cert_pem.data(), static_cast<long>(cert_pem.size()))};
  bssl::UniquePtr<X509> x{
      PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr)};
  if (!x)
    return tls_error("the server certificate is not a PEM certificate");
  bssl::UniquePtr<BIO> kb{
      BIO_new_mem_buf(key_pem.data(), static_cast<long>(key_pem.size()))};
  bssl::UniquePtr<EVP_PKEY> pkey{
      PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr)};
  if (!pkey)
    return tls_error("the server private key is not a PEM private key");
  return make_context(x.get(), pkey.get(), cb.get());
}

caf::expected<std::shared_ptr<const tls_context>> tls_context::generate() {
  auto kc = make_self_signed();
  if (!kc)
    return kc.error();
  return make_context(kc->cert.get(), kc->pkey.get(), nullptr);
}

caf::expected<std::shared_ptr<const tls_context>>
tls_context::make_context(X509* x, EVP_PKEY* pkey, BIO* chain) {
  std::shared_ptr<tls_context> c{new tls_context()};
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx || !SSL_CTX_use_certificate(ctx, x)
      || !SSL_CTX_use_PrivateKey(ctx, pkey)
      || !SSL_CTX_check_private_key(ctx)) {
    SSL_CTX_free(ctx);
    return tls_error("setting up the server context failed (does the key "
                     "belong to the certificate?)");
  }
  // Intermediate certificates after the first one in the file.
  while (chain) {
    X509* extra = PEM_read_bio_X509(chain, nullptr, nullptr, nullptr);
    if (!extra) {
      ERR_clear_error();
      break;
    }
    SSL_CTX_add0_chain_cert(ctx, extra);
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
  c->ctx_ = ctx;
  uint8_t md[32];
  unsigned mdlen = 0;
  X509_digest(x, EVP_sha256(), md, &mdlen);
  for (unsigned i = 0; i < mdlen; ++i) {
    char hex[4];
    std::snprintf(hex, sizeof(hex), i ? ":%02x" : "%02x", md[i]);
    c->fingerprint_ += hex;
  }
  return std::shared_ptr<const tls_context>{std::move(c)};
}

tls_stream::tls_stream(std::shared_ptr<const tls_context> ctx)
    : ctx_(std::move(ctx)) {
  SSL* ssl = SSL_new(as_ctx(ctx_->ctx_));
  BIO* r = BIO_new(BIO_s_mem());
  BIO* w = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, r, w); // ssl owns both
  SSL_set_accept_state(ssl);
  ssl_ = ssl;
  rbio_ = r;
  wbio_ = w;
}

tls_stream::~tls_stream() {
  SSL_free(as_ssl(ssl_));
}

bool tls_stream::handshake_done() const {
  return SSL_is_init_finished(as_ssl(ssl_));
}

caf::error tls_stream::feed(std::span<const uint8_t> cipher,
                            std::vector<uint8_t>& plain) {
  if (!cipher.empty()
      && BIO_write(as_bio(rbio_), cipher.data(),
                   static_cast<int>(cipher.size()))
             != static_cast<int>(cipher.size()))
    return tls_error("buffering received bytes failed");
  SSL* ssl = as_ssl(ssl_);
  if (!SSL_is_init_finished(ssl)) {
    int rc = SSL_do_handshake(ssl);
    if (rc <= 0) {
      int e = SSL_get_error(ssl, rc);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return {};
      return tls_error("handshake failed");
    }
    if (auto err = pump())
      return err;
  }
  uint8_t buf[16384];
  while (true) {
    int n = SSL_read(ssl, buf, sizeof(buf));
    if (n > 0) {
      plain.insert(plain.end(), buf, buf + n);
      continue;
    }
    int e = SSL_get_error(ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
      return {};
    if (e == SSL_ERROR_ZERO_RETURN)
      return make_rdp_error(rdp_errc::protocol_violation,
                            "TLS: the client closed the TLS session");
    return tls_error("reading application data failed");
  }
}

caf::error tls_stream::pump() {
  if (early_.empty() || !handshake_done())
    return {};
  auto pending = std::move(early_);
  early_.clear();
  return write(pending);
}

caf::error tls_stream::write(std::span<const uint8_t> plain) {
  if (plain.empty())
    return {};
  if (!handshake_done()) {
    early_.insert(early_.end(), plain.begin(), plain.end());
    return {};
  }
  int n = SSL_write(as_ssl(ssl_), plain.data(), static_cast<int>(plain.size()));
  if (n != static_cast<int>(plain.size()))
    return tls_error("encrypting application data failed");
  return {};
}

std::vector<uint8_t> tls_stream::take_ciphertext() {
  std::vector<uint8_t> out;
  size_t n = BIO_pending(as_bio(wbio_));
  out.resize(n);
  if (n)
    BIO_read(as_bio(wbio_), out.data(), static_cast<int>(n));
  return out;
}

} // namespace tb::display::rdp
