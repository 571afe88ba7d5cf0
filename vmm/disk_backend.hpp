// virtio-blk's block_backend over a storage medium actor: requests from the
// vCPU thread become readv/writev/flush messages, and the completion (which
// raises the device's interrupt) runs when the reply arrives, so a vCPU
// never waits for the disk.
#pragma once

#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/messages/storage.hpp"
#include "devices/block_backend.hpp"

namespace tb::vmm {

class medium_block_backend final : public devices::block_backend {
public:
  /// Spawns the small client actor that talks to `medium` for the device.
  medium_block_backend(caf::actor_system& sys, storage::medium_actor medium,
                       uint64_t size_bytes, bool read_only);
  ~medium_block_backend() override;

  uint64_t sectors() const override { return sectors_; }
  bool read_only() const override { return read_only_; }
  void submit(devices::block_request request,
              devices::block_completion done) override;

  /// Guards completions: after destruction none reaches the device, and
  /// the destructor waits (bounded) for requests still using guest memory.
  struct guard;

private:
  std::shared_ptr<guard> guard_;
  caf::actor client_;
  uint64_t sectors_;
  bool read_only_;
};

} // namespace tb::vmm
