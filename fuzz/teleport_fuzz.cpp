// Fuzzes the teleport target's inbound record path: decoder, RAM record
// parser and page expansion into a small guest memory.
#include <cstdint>
#include <vector>

#include "cluster/teleport_wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::vector<uint8_t> mem(64 * tb::cluster::page_size);
  tb::cluster::record_decoder dec;
  // Feed in two parts so partial records are exercised too.
  size_t half = size / 2;
  for (auto part : {std::span<const uint8_t>{data, half},
                    std::span<const uint8_t>{data + half, size - half}}) {
    if (dec.feed(part))
      return 0;
    while (auto r = dec.next()) {
      if (r->type != tb::cluster::record_type::ram_pages)
        continue;
      auto rp = tb::cluster::parse_ram_pages(r->payload);
      if (!rp)
        continue;
      auto bytes = size_t{rp->count} * tb::cluster::page_size;
      if (rp->gpa > mem.size() || bytes > mem.size() - rp->gpa)
        continue;
      (void)tb::cluster::expand_pages(*rp, {mem.data() + rp->gpa, bytes});
    }
  }
  return 0;
}
