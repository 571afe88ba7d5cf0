// Client input: fast-path input events (MS-RDPBCGR 2.2.8.1.2.2) and the
// slow-path Input Event PDU (2.2.8.1.1.3), decoded into input_sink calls.
#pragma once

#include <cstdint>
#include <span>

#include <caf/error.hpp>

#include "display/input_sink.hpp"

namespace tb::display::rdp {

/// Tracks button state across mouse events (RDP sends per-button changes).
struct pointer_state {
  uint8_t buttons = 0;
  uint16_t x = 0;
  uint16_t y = 0;
};

/// Decodes count fast-path events (count 0 = read from the first byte).
caf::error parse_fastpath_input(std::span<const uint8_t> events, unsigned count,
                                pointer_state& ps, input_sink& sink);

/// Decodes a slow-path Input Event PDU body.
caf::error parse_slowpath_input(std::span<const uint8_t> body,
                                pointer_state& ps, input_sink& sink);

} // namespace tb::display::rdp
