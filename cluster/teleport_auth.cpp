// Teleport handshake: greeting, mutual password proof, hardware check.
#include "cluster/teleport_auth.hpp"

#include <chrono>
#include <random>
#include <thread>

#include <openssl/hmac.h>
#include <openssl/mem.h>

#include "cluster/teleport_wire.hpp"
#include "settings/hash.hpp"

namespace tb::cluster {

namespace {

constexpr const char* greeting = "telebox-teleporter-1";
constexpr const char* exporter_label = "EXPORTER-telebox-teleport";

caf::error fail(teleport_errc code, std::string text) {
  return caf::make_error(code, std::move(text));
}

std::string to_hex(const uint8_t* p, size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 0xf];
  }
  return s;
}

caf::expected<std::string> proof(tls_channel& ch, const std::string& key,
                                 const std::string& role) {
  auto exp = ch.exporter(exporter_label);
  if (!exp)
    return exp.error();
  std::string msg(reinterpret_cast<const char*>(exp->data()), exp->size());
  msg += role;
  uint8_t mac[32];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), key.size(),
       reinterpret_cast<const uint8_t*>(msg.data()), msg.size(), mac, &len);
  return to_hex(mac, len);
}

bool same(const std::string& a, const std::string& b) {
  return a.size() == b.size()
         && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void refusal_delay() {
  // As VirtualBox does: a random 64-1024 ms pause before every refusal.
  std::random_device rd;
  std::this_thread::sleep_for(std::chrono::milliseconds(64 + rd() % 961));
}

std::string stored_form(const std::string& plain) {
  return plain.empty() ? std::string{}
                       : settings::teleporter_password_hash(plain);
}

} // namespace

hardware_fingerprint fingerprint_of(const settings::hardware_settings& hw) {
  hardware_fingerprint fp;
  fp["memory"] = std::to_string(hw.memory_mb) + " MB";
  fp["cpus"] = std::to_string(hw.cpus);
  fp["chipset"] = hw.chipset;
  fp["firmware"] = hw.firmware;
  fp["paravirt provider"] = hw.paravirt;
  fp["graphics controller"] = hw.graphics;
  fp["video memory"] = std::to_string(hw.vram_mb) + " MB";
  fp["monitors"] = std::to_string(hw.monitors);
  fp["ioapic"] = hw.ioapic ? "on" : "off";
  fp["acpi"] = hw.acpi ? "on" : "off";
  fp["pointing device"] = hw.pointing;
  fp["keyboard"] = hw.keyboard;
  for (const auto& l : hw.cpuid)
    fp["cpuid leaf " + std::to_string(l.leaf) + ":"
       + std::to_string(l.subleaf)] =
        std::to_string(l.eax) + "," + std::to_string(l.ebx) + ","
        + std::to_string(l.ecx) + "," + std::to_string(l.edx);
  for (const auto& sc : hw.storage)
    for (const auto& d : sc.devices)
      fp["storage " + sc.name + " " + std::to_string(d.port) + ":"
         + std::to_string(d.device)] = d.type;
  return fp;
}

std::string compare_fingerprints(const hardware_fingerprint& source,
                                 const hardware_fingerprint& target) {
  for (const auto& [k, v] : source) {
    auto it = target.find(k);
    if (it == target.end())
      return k + ": the source has " + v + ", the target has none";
    if (it->second != v)
      return k + ": the source has " + v + ", the target has " + it->second;
  }
  for (const auto& [k, v] : target)
    if (!source.count(k))
      return k + ": the target has " + v + ", the source has none";
  return {};
}

caf::expected<std::string> read_ack(tls_channel& ch) {
  auto line = ch.read_line();
  if (!line)
    return line.error();
  if (line->rfind("ACK", 0) == 0)
    return line->size() > 4 ? line->substr(4) : std::string{};
  if (line->rfind("NACK=", 0) == 0) {
    auto semi = line->find(';');
    auto why = semi == std::string::npos ? *line : line->substr(semi + 1);
    auto code = line->rfind("NACK=-89", 0) == 0 ? teleport_errc::auth_failed
                                                : teleport_errc::mismatch;
    return fail(code, "the teleport target refused: " + why);
  }
  return fail(teleport_errc::malformed,
              "the teleport target sent an unexpected reply");
}

caf::error target_authenticate(tls_channel& ch,
                               const std::string& stored_hash) {
  if (auto err = ch.write_line(greeting))
    return err;
  auto line = ch.read_line();
  if (!line)
    return line.error();
  auto expected = proof(ch, stored_hash, "source");
  if (!expected)
    return expected.error();
  if (line->rfind("auth ", 0) != 0 || !same(line->substr(5), *expected)) {
    refusal_delay();
    (void)ch.write_line("NACK=-89;wrong teleporter password");
    return fail(teleport_errc::auth_failed,
                "a teleport source presented a wrong password");
  }
  auto mine = proof(ch, stored_hash, "target");
  if (!mine)
    return mine.error();
  return ch.write_line("ACK " + *mine);
}

caf::error source_authenticate(tls_channel& ch,
                               const std::string& plain_password) {
  auto hello = ch.read_line();
  if (!hello)
    return hello.error();
  if (*hello != greeting)
    return fail(teleport_errc::malformed,
                "the peer is not a telebox teleport target");
  auto key = stored_form(plain_password);
  auto mine = proof(ch, key, "source");
  if (!mine)
    return mine.error();
  if (auto err = ch.write_line("auth " + *mine))
    return err;
  auto reply = read_ack(ch);
  if (!reply)
    return reply.error();
  auto expected = proof(ch, key, "target");
  if (!expected)
    return expected.error();
  if (!same(*reply, *expected))
    return fail(teleport_errc::auth_failed,
                "the teleport target could not prove the password");
  return caf::none;
}

caf::error send_fingerprint(tls_channel& ch, const hardware_fingerprint& fp) {
  if (auto err = ch.write_line("config " + std::to_string(fp.size())))
    return err;
  for (const auto& [k, v] : fp)
    if (auto err = ch.write_line(k + "=" + v))
      return err;
  auto reply = read_ack(ch);
  return reply ? caf::error{} : reply.error();
}

caf::error check_fingerprint(tls_channel& ch, const hardware_fingerprint& own) {
  auto head = ch.read_line();
  if (!head)
    return head.error();
  if (head->rfind("config ", 0) != 0)
    return fail(teleport_errc::malformed, "expected the source's config");
  auto n = std::strtoul(head->c_str() + 7, nullptr, 10);
  if (n > 4096)
    return fail(teleport_errc::malformed, "source config too large");
  hardware_fingerprint source;
  for (unsigned long i = 0; i < n; ++i) {
    auto line = ch.read_line();
    if (!line)
      return line.error();
    auto eq = line->find('=');
    if (eq == std::string::npos)
      return fail(teleport_errc::malformed, "malformed source config line");
    source[line->substr(0, eq)] = line->substr(eq + 1);
  }
  auto diff = compare_fingerprints(source, own);
  if (!diff.empty()) {
    (void)ch.write_line("NACK=-1;hardware mismatch: " + diff);
    return fail(teleport_errc::mismatch, "hardware mismatch: " + diff);
  }
  return ch.write_line("ACK");
}

} // namespace tb::cluster
