// Drives the whole inbound PDU path of an RDP session (X.224, MCS, GCC,
// security, info, capabilities, finalization, input, refresh) with
// arbitrary bytes, and encodes whatever damage that produced. Must never
// crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <span>

#include "display/rdp/rdp_security.hpp"
#include "display/rdp_session.hpp"

namespace {

class pattern_fb final : public tb::display::frame_source {
public:
  uint16_t width() const override { return 200; }
  uint16_t height() const override { return 150; }
  void read(const tb::display::rect& r,
            std::span<uint32_t> out) const override {
    for (unsigned y = 0; y < r.h; ++y)
      for (unsigned x = 0; x < r.w; ++x)
        out[y * r.w + x] = ((r.x + x) * 0x10101u) ^ ((r.y + y) << 8);
  }
};

class counting_sink final : public tb::display::input_sink {
public:
  void key(uint8_t, bool, bool, bool) override { ++events; }
  void unicode_key(uint16_t, bool) override { ++events; }
  void pointer(uint16_t, uint16_t, uint8_t, int, int) override { ++events; }
  void sync_locks(uint32_t) override { ++events; }
  unsigned events = 0;
};

tb::display::rdp_session_config config() {
  static auto key = tb::display::rdp::rsa_server_key::generate(512);
  tb::display::rdp_session_config cfg;
  if (key)
    cfg.key = *key;
  cfg.allow_unencrypted = true; // lets plaintext inputs reach every state
  return cfg;
}

void run(std::span<const uint8_t> data, size_t chunk) {
  pattern_fb fb;
  counting_sink sink;
  tb::display::rdp_session s{config(), fb, sink};
  for (size_t at = 0; at < data.size() && !s.finished(); at += chunk) {
    if (s.feed(data.subspan(at, std::min(chunk, data.size() - at))))
      break;
    s.encode_pending(1 << 20);
    s.take_output();
  }
  s.disconnect(tb::display::rdp_error_info::rpc_initiated_disconnect);
  s.take_output();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in{data, size};
  run(in, size ? size : 1);
  // Split reads reach the same states through the reassembly path.
  if (size < 4096)
    run(in, 7);
  return 0;
}
