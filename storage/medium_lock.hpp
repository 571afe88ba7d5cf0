// Exclusive read-write use of an image file across processes and hosts.
//
// The lock is flock(2) LOCK_EX on the image's own open file description, so
// it lives exactly as long as the process keeps the image open and dies with
// the process (kill -9 included); on NFS, Linux maps flock to a whole-file
// POSIX lock, which other hosts see. Beside the lock, the holder writes an
// owner record into the extended attribute "user.telebox.owner" of the image
// ("vm=<name>\npid=<pid>\nhost=<host>\n") so a refused opener can say who has
// it. The record is advisory; the flock is the truth, so a stale record left
// by a killed process does no harm.
//
// Teleport handover over shared storage: the source keeps the lock through
// pre-copy (the target does not open the image read-write before
// switch-over). At switch-over the source pauses, flushes, calls release()
// (or closes the medium) and only then reports "disks released" on the
// teleport channel; the target then calls acquire() with a wait of a few
// seconds, which retries while the release propagates through the NFS
// server. At no moment can both hosts write the image.
#pragma once

#include <chrono>
#include <string>

#include <caf/error.hpp>

namespace tb::storage {

/// Who holds a medium, as read from its owner record.
struct lock_owner {
  std::string vm; ///< VM name (or the command, e.g. "clonemedium").
  int pid = 0;
  std::string host;
};

/// Exclusive for writers; shared for readers that must not see the image
/// change under them (clonemedium's source), as VBox's LockRead.
enum class lock_kind { exclusive, shared };

/// Takes the lock on the open image `fd` (path `path`) for `owner` (a VM
/// name). Waits up to `wait` for a holder to let go; fails with
/// storage_errc::locked and "medium <path> is locked by VM <name>".
caf::error lock_medium(int fd, const std::string& path,
                       const std::string& owner,
                       std::chrono::milliseconds wait = {},
                       lock_kind kind = lock_kind::exclusive);

/// Drops the lock taken by lock_medium (for handover); closing fd also does.
void unlock_medium(int fd);

/// Reads the owner record of `path`, if any.
bool read_lock_owner(const std::string& path, lock_owner& out);

} // namespace tb::storage
