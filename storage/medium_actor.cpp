// The storage actor: a thin dispatcher. Each request becomes a job on the
// medium's I/O threads, and the thread that did the I/O sends the reply
// straight to the requester (to the request's response ID, as a response
// promise would), so a completion costs no extra hop through this actor and
// CAF workers never block on the disk. Scatter reads of a medium opened
// with host cache off go through io_uring instead (direct_reader), when the
// kernel allows it and the buffers are aligned.
#include "storage/medium_actor.hpp"

#include <atomic>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/delegated.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "storage/direct_reader.hpp"
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
  std::unique_ptr<direct_reader> reader; ///< Or none: reads take the pool.
  std::shared_ptr<io_counters> counters = std::make_shared<io_counters>();
  medium_status status; ///< Identity; counters come from `counters`.

  ~medium_state() {
    reader.reset(); // Lets its reads finish.
    pool.reset();   // Joins the threads while the image is still alive.
  }
};

using medium_impl = medium_actor::stateful_pointer<medium_state>;

// Who gets the answer of the current request. Taking the message ID tells
// CAF that this handler answers later itself.
struct reply_to {
  caf::strong_actor_ptr sender;
  caf::message_id mid;
  caf::strong_actor_ptr me;

  explicit reply_to(medium_impl self)
      : sender(self->current_sender()), mid(self->take_current_message_id()),
        me(caf::actor_cast<caf::strong_actor_ptr>(self)) {}

  template <class T> void send(caf::error err, T value) {
    if (!sender)
      return; // Sent anonymously: nobody to tell.
    auto reply = err ? caf::make_message(std::move(err))
                     : caf::make_message(std::move(value));
    sender->enqueue(std::move(me), mid.response_id(), std::move(reply),
                    nullptr);
  }
};

caf::error write_segments(medium_image& img, uint64_t offset,
                          const std::vector<io_segment>& segs, uint64_t& n) {
  for (const auto& s : segs) {
    if (auto err = img.write(offset + n, {s.data, s.size}))
      return err;
    n += s.size;
  }
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

// Reads queued on the ring are handed to the kernel once no further
// request waits in the mailbox: a burst costs one io_uring_enter and one
// virtio notification instead of one each. Every handler ends here, and
// termination submits what is left (direct_reader's destructor).
void settle(medium_impl self) {
  if (self->state.reader && self->mailbox().empty())
    self->state.reader->flush();
}

// Runs `io` on the pool; the pool thread then calls `finish(err, value)`.
template <class T, class Io, class Finish>
void run_on_pool(medium_impl self, Io io, Finish finish) {
  settle(self);
  self->state.counters->started();
  self->state.pool->submit([image = self->state.image, io = std::move(io),
                            counters = self->state.counters,
                            finish = std::move(finish)]() mutable {
    T value{};
    caf::error err = io(*image, value);
    counters->finished(static_cast<bool>(err));
    finish(std::move(err), std::move(value));
  });
}

// Runs `io` on the pool; the pool thread replies to the request.
template <class T, class Io>
caf::delegated<T> dispatch(medium_impl self, reply_to to, Io io) {
  run_on_pool<T>(self, std::move(io),
                 [to = std::move(to)](caf::error err, T value) mutable {
                   to.send(std::move(err), std::move(value));
                 });
  return {};
}

template <class T, class Io>
caf::delegated<T> dispatch(medium_impl self, Io io) {
  return dispatch<T>(self, reply_to{self}, std::move(io));
}

// A scatter read on io_uring; replies (or calls the request's io_done)
// from the reader's completion thread.
class actor_read final : public direct_read {
public:
  actor_read(reply_to to, io_done done, std::shared_ptr<io_counters> counters,
             uint64_t length)
      : to_(std::move(to)), done_(std::move(done)),
        counters_(std::move(counters)), length_(length) {}

  void finish(caf::error err) override {
    counters_->finished(static_cast<bool>(err));
    if (done_)
      done_(err, err ? 0 : length_);
    else
      to_.send(std::move(err), length_);
  }

  reply_to& to() { return to_; }
  io_done& done() { return done_; }

private:
  reply_to to_;
  io_done done_;
  std::shared_ptr<io_counters> counters_;
  uint64_t length_;
};

// The pool's form of the same: the pool thread calls `done` instead of
// replying.
template <class Io>
caf::delegated<uint64_t> dispatch_done(medium_impl self, io_done done, Io io) {
  run_on_pool<uint64_t>(self, std::move(io),
                        [done = std::move(done)](caf::error err, uint64_t n) {
                          done(err, err ? 0 : n);
                        });
  return {};
}

// A scatter read or gather write on io_uring when the reader takes it,
// else the same request on the pool.
template <class Request>
caf::delegated<uint64_t> start_vector(medium_impl self, Request& r,
                                      bool write) {
  auto& st = self->state;
  std::optional<reply_to> to;
  if (st.reader) {
    iovec segs[8];
    std::vector<iovec> many;
    iovec* iov = segs;
    if (r.segments.size() > std::size(segs)) {
      many.resize(r.segments.size());
      iov = many.data();
    }
    uint64_t length = 0;
    for (size_t i = 0; i < r.segments.size(); ++i) {
      iov[i] = {r.segments[i].data, r.segments[i].size};
      length += r.segments[i].size;
    }
    st.counters->started();
    std::unique_ptr<direct_read> op = std::make_unique<actor_read>(
        reply_to{self}, std::move(r.done), st.counters, length);
    std::span<const iovec> v{iov, r.segments.size()};
    if (write ? st.reader->start_write(r.offset, v, op, true)
              : st.reader->start(r.offset, v, op, true)) {
      settle(self);
      return {};
    }
    // Not for the ring (unaligned, unallocated, ring full): the pool, with
    // the reply address or callback the ring attempt took.
    st.counters->finished(false);
    auto& ar = static_cast<actor_read&>(*op);
    r.done = std::move(ar.done());
    to = std::move(ar.to());
  }
  auto io = [offset = r.offset, segs = std::move(r.segments),
             write](medium_image& img, uint64_t& n) {
    return write ? write_segments(img, offset, segs, n)
                 : read_segments(img, offset, segs, n);
  };
  if (r.done)
    return dispatch_done(self, std::move(r.done), std::move(io));
  // reply_to{self} takes the message ID, so only when the ring did not.
  return dispatch<uint64_t>(self, to ? std::move(*to) : reply_to{self},
                            std::move(io));
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
                                       bool writable, size_t threads,
                                       bool async_reads) {
  self->state.image = std::move(image);
  self->state.pool = std::make_unique<io_pool>(threads);
  if (async_reads)
    self->state.reader = direct_reader::create(self->state.image);
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
        return start_vector(self, r, false);
      },
      [self, &c](writev_request& w) {
        ++c.writes;
        return start_vector(self, w, true);
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
      [self](status_atom) {
        settle(self);
        return snapshot(self->state);
      },
  };
}

} // namespace

medium_actor spawn_medium(caf::actor_system& sys,
                          std::unique_ptr<medium_image> image, bool writable,
                          size_t io_threads) {
  return sys.spawn(medium_fun, std::shared_ptr<medium_image>{std::move(image)},
                   writable, io_threads, true);
}

caf::expected<medium_actor> spawn_medium(caf::actor_system& sys,
                                         const std::string& path,
                                         const open_options& options,
                                         size_t io_threads) {
  auto image = open_medium(path, options);
  if (!image)
    return image.error();
  return sys.spawn(medium_fun, std::shared_ptr<medium_image>{std::move(*image)},
                   options.writable, io_threads, options.async_reads);
}

} // namespace tb::storage
