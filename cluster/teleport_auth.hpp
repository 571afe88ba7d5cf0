// The teleport handshake before any state moves: greeting, mutual password
// proof bound to the TLS session, and the hardware check.
//
// Line protocol (after TLS), modelled on VirtualBox's teleporter:
//   target: "telebox-teleporter-1"
//   source: "auth <hex HMAC-SHA256(key=password hash, exporter|"source")>"
//   target: "ACK <hex HMAC(..., exporter|"target")>"  or  "NACK=-89;<why>"
//   source: "config <n>" and n lines "key=value"
//   target: "ACK"  or  "NACK=-1;<the first difference>"
// The password never travels, not even hashed: both sides hold VirtualBox's
// stored form "#SHA-512##<hex>" and prove knowledge of it.
#pragma once

#include <map>
#include <string>

#include <caf/error.hpp>

#include "cluster/tls_channel.hpp"
#include "settings/machine_config.hpp"

namespace tb::cluster {

/// What source and target must agree on (memory, CPUs, devices, CPUID).
using hardware_fingerprint = std::map<std::string, std::string>;

hardware_fingerprint fingerprint_of(const settings::hardware_settings& hw);

/// "" when equal, else a sentence naming the first difference.
std::string compare_fingerprints(const hardware_fingerprint& source,
                                 const hardware_fingerprint& target);

/// Target side: greets, checks the source's proof against `stored_hash`
/// (sleeping 64-1024 ms before a refusal), proves itself.
caf::error target_authenticate(tls_channel& ch, const std::string& stored_hash);

/// Source side: checks the greeting, proves the password, checks the
/// target's proof. `plain_password` is what the user typed.
caf::error source_authenticate(tls_channel& ch,
                               const std::string& plain_password);

/// Source side: sends its fingerprint; the error carries the target's reason.
caf::error send_fingerprint(tls_channel& ch, const hardware_fingerprint& fp);

/// Target side: receives the source's fingerprint and accepts or refuses it.
caf::error check_fingerprint(tls_channel& ch, const hardware_fingerprint& own);

/// Reads "ACK..." or turns "NACK=<rc>;<text>" into an error.
caf::expected<std::string> read_ack(tls_channel& ch);

} // namespace tb::cluster
