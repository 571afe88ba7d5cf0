// Pieces shared by the libuv TCP implementation files.
#pragma once

#include "net/tcp.hpp"

namespace tb::net {

/// Accepts a pending connection on a listening uv_stream_t*.
tcp_stream_ptr accept_stream(event_loop& loop, void* server);

} // namespace tb::net
