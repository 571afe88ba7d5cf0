// The host service's endpoint file: where teleboxd listens and the secret a
// client must present. Lives in the global folder, mode 0600.
#pragma once

#include <cstdint>
#include <string>

#include <caf/expected.hpp>

namespace tb::cluster {

/// Contents of `<global folder>/teleboxd.endpoint`.
struct host_endpoint {
  uint16_t port = 0;
  std::string secret; ///< 64 hex digits from /dev/urandom.
  int32_t pid = 0;
};

/// Path of the endpoint file in `folder`.
std::string endpoint_path(const std::string& folder);

/// Reads the endpoint file; an error when missing or malformed.
caf::expected<host_endpoint> read_endpoint(const std::string& folder);

/// Writes the endpoint file atomically with mode 0600.
caf::error write_endpoint(const std::string& folder, const host_endpoint& ep);

/// Removes the endpoint file if it still names `pid`.
void remove_endpoint(const std::string& folder, int32_t pid);

/// A fresh random secret (64 lowercase hex digits).
std::string make_secret();

/// Compares two secrets in time independent of where they differ.
bool secrets_equal(const std::string& a, const std::string& b);

} // namespace tb::cluster
