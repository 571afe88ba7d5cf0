// Port lists as VirtualBox writes them for TCP/Ports: "3389", "5000,5010-5012".
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace tb::net {

/// Ports in the order given (ranges expanded, duplicates dropped). "0"
/// means "any free port" (the kernel picks one).
caf::expected<std::vector<uint16_t>> parse_port_spec(std::string_view spec);

} // namespace tb::net
