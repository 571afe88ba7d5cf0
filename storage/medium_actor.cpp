// The storage actor: a thin dispatcher. Each request becomes a job on the
// medium's I/O threads; the thread reports back with io_done and the
// actor delivers the reply, so CAF workers never block on the disk and the
// response promise is only touched by the actor itself.
#include "storage/medium_actor.hpp"

#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "storage/io_pool.hpp"

namespace tb::storage {

namespace {

// Finished job ids, filled by I/O threads. Only the thread that finds the
// queue unsignaled sends io_done, so a burst of completions costs one
// message to the actor, not one each.
struct completion_queue {
  std::mutex mutex;
  std::vector<uint64_t> done; ///< Guarded by mutex.
  bool signaled = false;      ///< Guarded by mutex; io_done is in flight.

  /// Adds `id`; true when the caller must send io_done.
  bool push(uint64_t id) {
    std::lock_guard<std::mutex> guard{mutex};
    done.push_back(id);
    return !std::exchange(signaled, true);
  }

  std::vector<uint64_t> take() {
    std::lock_guard<std::mutex> guard{mutex};
    signaled = false;
    return std::exchange(done, {});
  }
};

struct medium_state {
  static inline const char* name = "medium";
  std::shared_ptr<completion_queue> completions =
      std::make_shared<completion_queue>();
  std::shared_ptr<medium_image> image;
  std::unique_ptr<io_pool> pool;
  /// Jobs in flight by id: what to do when they complete.
  std::unordered_map<uint64_t, std::function<void()>> pending;
  uint64_t next_id = 1;
  medium_status status;

  ~medium_state() {
    pool.reset(); // Joins the threads while the image is still alive.
  }
};

using medium_impl = medium_actor::stateful_pointer<medium_state>;

// Result slot shared between the I/O thread and the actor; the io_done
// message orders the thread's writes before the actor's reads.
template <class T> struct job_result {
  caf::error err;
  T value{};
};

// Runs `io` on the pool and delivers its result through `promise` once the
// thread reports back.
template <class T, class Io>
caf::typed_response_promise<T> dispatch(medium_impl self, Io io) {
  auto promise = self->template make_response_promise<T>();
  auto result = std::make_shared<job_result<T>>();
  uint64_t id = self->state.next_id++;
  auto& st = self->state.status;
  st.max_in_flight = std::max(st.max_in_flight, ++st.in_flight);
  self->state.pending.emplace(id, [self, promise, result]() mutable {
    --self->state.status.in_flight;
    if (result->err) {
      ++self->state.status.errors;
      promise.deliver(std::move(result->err));
    } else {
      promise.deliver(std::move(result->value));
    }
  });
  auto handle = caf::actor_cast<medium_actor>(self);
  self->state.pool->submit([image = self->state.image, io = std::move(io),
                            result, id, handle,
                            queue = self->state.completions]() mutable {
    result->err = io(*image, result->value);
    if (queue->push(id))
      caf::anon_send(handle, io_done_atom_v, uint64_t{0});
  });
  return promise;
}

caf::error read_segments(medium_image& img, uint64_t offset,
                         const std::vector<io_segment>& segs, uint64_t& n) {
  for (const auto& s : segs) {
    if (auto err = img.read(offset + n, {s.data, s.size}))
      return err;
    n += s.size;
  }
  return {};
}

caf::error write_segments(medium_image& img, uint64_t offset,
                          const std::vector<io_segment>& segs, uint64_t& n) {
  for (const auto& s : segs) {
    if (auto err = img.write(offset + n, {s.data, s.size}))
      return err;
    n += s.size;
  }
  return {};
}

medium_actor::behavior_type medium_fun(medium_impl self,
                                       std::shared_ptr<medium_image> image,
                                       bool writable, size_t threads) {
  self->state.image = std::move(image);
  self->state.pool = std::make_unique<io_pool>(threads);
  self->state.status.path = self->state.image->path();
  self->state.status.size = self->state.image->size();
  self->state.status.writable = writable;
  return {
      [self](read_request r) {
        ++self->state.status.reads;
        return dispatch<read_result>(self,
                                     [r](medium_image& img, read_result& out) {
                                       out.data.resize(r.length);
                                       return img.read(r.offset, out.data);
                                     });
      },
      [self](write_request& w) {
        ++self->state.status.writes;
        return dispatch<uint64_t>(
            self, [w = std::move(w)](medium_image& img, uint64_t& n) {
              n = w.data.size();
              return img.write(w.offset, w.data);
            });
      },
      [self](readv_request& r) {
        ++self->state.status.reads;
        return dispatch<uint64_t>(
            self, [r = std::move(r)](medium_image& img, uint64_t& n) {
              return read_segments(img, r.offset, r.segments, n);
            });
      },
      [self](writev_request& w) {
        ++self->state.status.writes;
        return dispatch<uint64_t>(
            self, [w = std::move(w)](medium_image& img, uint64_t& n) {
              return write_segments(img, w.offset, w.segments, n);
            });
      },
      [self](flush_atom) {
        ++self->state.status.flushes;
        return dispatch<uint64_t>(self, [](medium_image& img, uint64_t& n) {
          n = 0;
          return img.flush();
        });
      },
      [self](discard_request d) {
        ++self->state.status.discards;
        return dispatch<uint64_t>(self, [d](medium_image& img, uint64_t& n) {
          n = d.length;
          return img.discard(d.offset, d.length);
        });
      },
      [self](status_atom) { return self->state.status; },
      [self](io_done_atom, uint64_t) {
        for (auto id : self->state.completions->take()) {
          auto i = self->state.pending.find(id);
          if (i == self->state.pending.end())
            continue;
          auto finish = std::move(i->second);
          self->state.pending.erase(i);
          finish();
        }
      },
  };
}

} // namespace

medium_actor spawn_medium(caf::actor_system& sys,
                          std::unique_ptr<medium_image> image, bool writable,
                          size_t io_threads) {
  return sys.spawn(medium_fun, std::shared_ptr<medium_image>{std::move(image)},
                   writable, io_threads);
}

caf::expected<medium_actor> spawn_medium(caf::actor_system& sys,
                                         const std::string& path,
                                         const open_options& options,
                                         size_t io_threads) {
  auto image = open_medium(path, options);
  if (!image)
    return image.error();
  return spawn_medium(sys, std::move(*image), options.writable, io_threads);
}

} // namespace tb::storage
