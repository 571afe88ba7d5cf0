// Messages of the storage actor: one medium_actor per open medium serves
// reads, writes, flushes and discards asynchronously.
//
// How a disk controller (virtio-blk, AHCI) uses it:
//  * request(medium, infinite, read_request{offset, length}) replies with a
//    read_result; write_request replies with the byte count; flush_atom
//    replies once every write completed before it is durable (fdatasync);
//    discard_request frees whole sectors (a hint: later reads return zeros
//    or old data). Errors come back as caf::error with a storage_errc.
//  * readv_request / writev_request are the zero-copy scatter-gather form:
//    the segments point into guest memory, which the caller keeps mapped
//    until the reply arrives. They never leave the process (no type IDs).
//  * Requests complete out of order and many may be in flight (the actor
//    hands them to its I/O threads at once and the I/O thread replies
//    directly); a controller that needs order (write, then flush) waits for
//    the first reply before sending the next. A request forwarded to the
//    medium with delegate() is answered to its original sender only.
//  * The reply arrives as an ordinary message to the requesting actor, so a
//    vCPU thread never waits for the disk: the controller's async side posts
//    the request and raises the interrupt when the reply comes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/type_id.hpp>
#include <caf/typed_actor.hpp>

#include "actors/type_id_ranges.hpp"

namespace tb::storage {

/// Read `length` bytes at byte `offset` of the medium.
struct read_request {
  uint64_t offset = 0;
  uint32_t length = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, read_request& x) {
  return f(caf::meta::type_name("read_request"), x.offset, x.length);
}

/// The bytes a read_request asked for.
struct read_result {
  std::vector<uint8_t> data;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, read_result& x) {
  return f(caf::meta::type_name("read_result"), x.data);
}

/// Write `data` at byte `offset`.
struct write_request {
  uint64_t offset = 0;
  std::vector<uint8_t> data;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, write_request& x) {
  return f(caf::meta::type_name("write_request"), x.offset, x.data);
}

/// The range [offset, offset + length) is no longer used by the guest.
struct discard_request {
  uint64_t offset = 0;
  uint64_t length = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, discard_request& x) {
  return f(caf::meta::type_name("discard_request"), x.offset, x.length);
}

/// Counters and identity of one open medium.
struct medium_status {
  std::string path;
  uint64_t size = 0;
  bool writable = false;
  uint64_t reads = 0;
  uint64_t writes = 0;
  uint64_t flushes = 0;
  uint64_t discards = 0;
  uint64_t errors = 0;
  uint64_t in_flight = 0;
  uint64_t max_in_flight = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, medium_status& x) {
  return f(caf::meta::type_name("medium_status"), x.path, x.size, x.writable,
           x.reads, x.writes, x.flushes, x.discards, x.errors, x.in_flight,
           x.max_in_flight);
}

/// One piece of a scatter-gather list: process-local memory.
struct io_segment {
  uint8_t* data = nullptr;
  size_t size = 0;
};

/// How a process-local caller that is no actor (a disk's I/O path) learns
/// that a readv/writev completed: called once, on one of the medium's I/O
/// threads, with the error (none on success) and the bytes moved. It must
/// be quick and must not block. Set, the medium sends no reply message:
/// the completion costs no wake-up of a requesting actor.
using io_done = std::function<void(const caf::error&, uint64_t)>;

/// Scatter read into `segments`, consecutive from `offset`.
struct readv_request {
  uint64_t offset = 0;
  std::vector<io_segment> segments;
  io_done done; ///< Empty: the reply is a message (uint64_t or error).
};

/// Gather write from `segments`, consecutive from `offset`.
struct writev_request {
  uint64_t offset = 0;
  std::vector<io_segment> segments;
  io_done done; ///< Empty: the reply is a message (uint64_t or error).
};

} // namespace tb::storage

// Pointers into this process's memory: never serialized, never remote.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tb::storage::readv_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tb::storage::writev_request)

CAF_ADD_ATOM(telebox_storage, tb::storage, flush_atom, "flush")
CAF_ADD_ATOM(telebox_storage, tb::storage, status_atom, "mstatus")

CAF_BEGIN_TYPE_ID_BLOCK(telebox_storage, tb::actors::storage_block_first)
  CAF_ADD_TYPE_ID(telebox_storage, (tb::storage::read_request))
  CAF_ADD_TYPE_ID(telebox_storage, (tb::storage::read_result))
  CAF_ADD_TYPE_ID(telebox_storage, (tb::storage::write_request))
  CAF_ADD_TYPE_ID(telebox_storage, (tb::storage::discard_request))
  CAF_ADD_TYPE_ID(telebox_storage, (tb::storage::medium_status))
CAF_END_TYPE_ID_BLOCK(telebox_storage)

namespace tb::storage {

/// The storage actor of one open medium.
using medium_actor = caf::typed_actor<
    /// Reads bytes; fails with out_of_range past the end.
    caf::replies_to<read_request>::with<read_result>,
    /// Writes bytes; replies with the number written.
    caf::replies_to<write_request>::with<uint64_t>,
    /// Zero-copy scatter read; replies with the bytes read.
    caf::replies_to<readv_request>::with<uint64_t>,
    /// Zero-copy gather write; replies with the bytes written.
    caf::replies_to<writev_request>::with<uint64_t>,
    /// Barrier: replies once all writes completed so far are durable.
    caf::replies_to<flush_atom>::with<uint64_t>,
    /// Discards a range; replies with its length.
    caf::replies_to<discard_request>::with<uint64_t>,
    /// Counters and identity.
    caf::replies_to<status_atom>::with<medium_status>>;

} // namespace tb::storage
