// The storage actor: a thin dispatcher. Each request becomes a job on the
// medium's I/O threads, and the thread that did the I/O sends the reply
// straight to the requester (to the request's response ID, as a response
// promise would), so a completion costs no extra hop through this actor and
// CAF workers never block on the disk.
#include "storage/medium_actor.hpp"

#include <atomic>

#include <caf/actor_system.hpp>
#include <caf/delegated.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "storage/io_pool.hpp"

namespace tb::storage {

namespace {

// Counters shared by the actor (requests) and the I/O threads (completions).
struct io_counters {
  std::atomic<uint64_t> reads{0}, writes{0}, flushes{0}, discards{0};
  std::atomic<uint64_t> errors{0}, in_flight{0}, max_in_flight{0};

  void started() {
    uint64_t now = ++in_flight;
    uint64_t max = max_in_flight.load();
    while (now > max && !max_in_flight.compare_exchange_weak(max, now)) {
    }
  }

  void finished(bool failed) {
    --in_flight;
    if (failed)
      ++errors;
  }
};

struct medium_state {
  static inline const char* name = "medium";
  std::shared_ptr<medium_image> image;
  std::unique_ptr<io_pool> pool;
  std::shared_ptr<io_counters> counters = std::make_shared<io_counters>();
  medium_status status; ///< Identity; counters come from `counters`.

  ~medium_state() {
    pool.reset(); // Joins the threads while the image is still alive.
  }
};

using medium_impl = medium_actor::stateful_pointer<medium_state>;

// Runs `io` on the pool; the pool thread replies to the current request.
// Takes the message ID, which tells CAF this handler answers later itself.
template <class T, class Io>
caf::delegated<T> dispatch(medium_impl self, Io io) {
  auto sender = self->current_sender();
  auto mid = self->take_current_message_id();
  auto me = caf::actor_cast<caf::strong_actor_ptr>(self);
  self->state.counters->started();
  self->state.pool->submit([image = self->state.image, io = std::move(io),
                            counters = self->state.counters,
                            sender = std::move(sender), mid,
                            me = std::move(me)]() mutable {
    T value{};
    caf::error err = io(*image, value);
    counters->finished(static_cast<bool>(err));
    if (!sender)
      return; // Sent anonymously: nobody to tell.
    auto reply = err ? caf::make_message(std::move(err))
                     : caf::make_message(std::move(value));
    sender->enqueue(std::move(me), mid.response_id(), std::move(reply),
                    nullptr);
  });
  return {};
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

medium_status snapshot(const medium_state& st) {
  medium_status s = st.status;
  const auto& c = *st.counters;
  s.reads = c.reads;
  s.writes = c.writes;
  s.flushes = c.flushes;
  s.discards = c.discards;
  s.errors = c.errors;
  s.in_flight = c.in_flight;
  s.max_in_flight = c.max_in_flight;
  return s;
}

medium_actor::behavior_type medium_fun(medium_impl self,
                                       std::shared_ptr<medium_image> image,
                                       bool writable, size_t threads) {
  self->state.image = std::move(image);
  self->state.pool = std::make_unique<io_pool>(threads);
  self->state.status.path = self->state.image->path();
  self->state.status.size = self->state.image->size();
  self->state.status.writable = writable;
  auto& c = *self->state.counters;
  return {
      [self, &c](read_request r) {
        ++c.reads;
        return dispatch<read_result>(self,
                                     [r](medium_image& img, read_result& out) {
                                       out.data.resize(r.length);
                                       return img.read(r.offset, out.data);
                                     });
      },
      [self, &c](write_request& w) {
        ++c.writes;
        return dispatch<uint64_t>(
            self, [w = std::move(w)](medium_image& img, uint64_t& n) {
              n = w.data.size();
              return img.write(w.offset, w.data);
            });
      },
      [self, &c](readv_request& r) {
        ++c.reads;
        return dispatch<uint64_t>(
            self, [r = std::move(r)](medium_image& img, uint64_t& n) {
              return read_segments(img, r.offset, r.segments, n);
            });
      },
      [self, &c](writev_request& w) {
        ++c.writes;
        return dispatch<uint64_t>(
            self, [w = std::move(w)](medium_image& img, uint64_t& n) {
              return write_segments(img, w.offset, w.segments, n);
            });
      },
      [self, &c](flush_atom) {
        ++c.flushes;
        return dispatch<uint64_t>(self, [](medium_image& img, uint64_t& n) {
          n = 0;
          return img.flush();
        });
      },
      [self, &c](discard_request d) {
        ++c.discards;
        return dispatch<uint64_t>(self, [d](medium_image& img, uint64_t& n) {
          n = d.length;
          return img.discard(d.offset, d.length);
        });
      },
      [self](status_atom) { return snapshot(self->state); },
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
