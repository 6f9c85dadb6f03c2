// What readers can learn of a storage fault while nothing can be written: the filesystem's
// own state (statvfs: full, read-only) and a flag the supervisor raises on its lock, which
// needs no disk space. The supervisor holds an OFD write lock on the whole lock file; while it
// cannot write, it releases byte 1 alone (the rest stays locked, so the job still shows alive
// and no second supervisor can take it), and takes it back once writing works again.
#pragma once

#include "state_dir.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pg {

enum class FsTrouble { None, Full, ReadOnly };

// The filesystem of dirfd: read-only, full (no block or no inode left for us), or neither.
FsTrouble filesystem_trouble(int dirfd);
// "full", "read-only", "" for None.
std::string to_string(FsTrouble t);

// The supervisor's side: raises (fault) or lowers the flag on the lock it holds (best effort).
void set_storage_flag(int lock_fd, bool fault);
// The readers' side: the job's live supervisor says it cannot write its directory.
bool storage_flagged(const JobDir& dir);

// What the lock tells a reader: a live supervisor holds it (JobDir::lock_held), and that
// supervisor raised the storage flag (storage_flagged).
struct LockProbe {
  bool held = false;
  bool storage_flag = false;
};
// Both answers with one open of the lock file and, usually, one F_OFD_GETLK: the lock it
// reports covers the flag byte unless the flag is raised (then two more calls settle it).
LockProbe probe_lock(const JobDir& dir);
// The same of a lock file opened already (read-only is enough); an invalid fd: nothing held.
LockProbe probe_lock(const UniqueFd& fd);

// filesystem_trouble() asked once per mount over a listing of many jobs (the answer is a
// snapshot: a listing takes milliseconds). Directories of unknown mount are asked each time.
class FsTroubleCache {
public:
  FsTrouble get(const JobDir& dir);
  // What get() found for the mount already, else nullopt (nothing is asked).
  std::optional<FsTrouble> known(uint64_t mount_id) const;

private:
  std::vector<std::pair<uint64_t, FsTrouble>> m_mounts; // mount id -> trouble; a few at most
};

} // namespace pg
