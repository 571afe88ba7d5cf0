// Disk requests as storage messages (actors/messages/storage.hpp).
#include "vmm/disk_backend.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

namespace tb::vmm {

/// One request in flight; process-local (spans into guest memory).
struct disk_job {
  devices::block_request request;
  devices::block_completion done;
};

using job_ptr = std::shared_ptr<disk_job>;

} // namespace tb::vmm

// Pointers into this process's guest memory: never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tb::vmm::job_ptr)

namespace tb::vmm {

namespace {

std::vector<storage::io_segment> segments(const devices::block_request& r) {
  std::vector<storage::io_segment> out;
  for (auto& b : r.buffers)
    out.push_back({b.data(), b.size()});
  return out;
}

// Flushes: a request whose reply (a message) the client turns into the
// completion. Reads and writes skip it (io_done, see submit()).
caf::behavior disk_client(caf::event_based_actor* self,
                          storage::medium_actor medium) {
  return {
      [self, medium](const job_ptr& job) {
        if (job->request.op != devices::block_op::flush) {
          job->done(devices::block_status::unsupported);
          return;
        }
        self->request(medium, caf::infinite, storage::flush_atom_v)
            .then([job](uint64_t) { job->done(devices::block_status::ok); },
                  [job](caf::error&) {
                    job->done(devices::block_status::io_error);
                  });
      },
  };
}

} // namespace

struct medium_block_backend::guard {
  std::mutex mtx;
  std::condition_variable idle;
  size_t in_flight = 0;
  bool alive = true;
};

medium_block_backend::medium_block_backend(caf::actor_system& sys,
                                           storage::medium_actor medium,
                                           uint64_t size_bytes, bool read_only)
    : guard_(std::make_shared<guard>()), medium_(medium),
      client_(sys.spawn(disk_client, std::move(medium))),
      sectors_(size_bytes / 512), read_only_(read_only) {}

medium_block_backend::~medium_block_backend() {
  std::unique_lock<std::mutex> lock{guard_->mtx};
  // Requests still in flight write into guest memory, which goes away
  // with the machine right after this.
  guard_->idle.wait_for(lock, std::chrono::seconds(10),
                        [this] { return guard_->in_flight == 0; });
  guard_->alive = false;
  lock.unlock();
  caf::anon_send_exit(client_, caf::exit_reason::user_shutdown);
}

void medium_block_backend::submit(devices::block_request request,
                                  devices::block_completion done) {
  {
    std::lock_guard<std::mutex> lock{guard_->mtx};
    ++guard_->in_flight;
  }
  auto g = guard_;
  auto wrapped = [g, done = std::move(done)](devices::block_status st) {
    bool alive;
    {
      std::lock_guard<std::mutex> lock{g->mtx};
      alive = g->alive;
    }
    // Not under the guard: the device takes its own lock in `done`, and the
    // vCPU thread may hold that lock while it calls submit().
    if (alive)
      done(st);
    std::lock_guard<std::mutex> lock{g->mtx};
    if (--g->in_flight == 0)
      g->idle.notify_all();
  };
  auto offset = request.sector * 512;
  auto finished = [wrapped](const caf::error& err, uint64_t) {
    wrapped(err ? devices::block_status::io_error : devices::block_status::ok);
  };
  switch (request.op) {
  case devices::block_op::read:
    caf::anon_send(medium_, storage::readv_request{offset, segments(request),
                                                   std::move(finished)});
    return;
  case devices::block_op::write:
    caf::anon_send(medium_, storage::writev_request{offset, segments(request),
                                                    std::move(finished)});
    return;
  case devices::block_op::flush:
    break;
  }
  caf::anon_send(client_, std::make_shared<disk_job>(disk_job{
                              std::move(request), std::move(wrapped)}));
}

} // namespace tb::vmm
