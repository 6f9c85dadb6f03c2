// What readers can learn of a storage fault while nothing can be written: the filesystem's
// own state (statvfs: full, read-only) and a flag the supervisor raises on its lock, which
// needs no disk space. The supervisor holds an OFD write lock on the whole lock file; while it
// cannot write, it releases byte 1 alone (the rest stays locked, so the job still shows alive
// and no second supervisor can take it), and takes it back once writing works again.
#pragma once

#include "state_dir.h"

#include <string>

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

} // namespace pg
