#include "storage_fault.h"

#include "syscalls.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace pg {

namespace {

constexpr off_t k_flag_byte = 1;

} // namespace

FsTrouble filesystem_trouble(int dirfd)
{
  struct statvfs vfs {};
  if (::fstatvfs(dirfd, &vfs) < 0) {
    return FsTrouble::None;
  }
  if ((vfs.f_flag & ST_RDONLY) != 0) {
    return FsTrouble::ReadOnly;
  }
  // Root may use the blocks reserved for it; everyone else only the available ones.
  const bool root = effective_uid() == 0;
  const auto blocks = root ? vfs.f_bfree : vfs.f_bavail;
  const bool no_inodes = vfs.f_files > 0 && (root ? vfs.f_ffree : vfs.f_favail) == 0;
  if ((vfs.f_blocks > 0 && blocks == 0) || no_inodes) {
    return FsTrouble::Full;
  }
  return FsTrouble::None;
}

std::string to_string(FsTrouble t)
{
  switch (t) {
  case FsTrouble::Full:
    return "full";
  case FsTrouble::ReadOnly:
    return "read-only";
  case FsTrouble::None:
    break;
  }
  return "";
}

void set_storage_flag(int lock_fd, bool fault)
{
  struct flock fl {};
  fl.l_type = fault ? F_UNLCK : F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = k_flag_byte;
  fl.l_len = 1;
  ::fcntl(lock_fd, F_OFD_SETLK, &fl);
}

bool storage_flagged(const JobDir& dir)
{
  return probe_lock(dir).storage_flag;
}

LockProbe probe_lock(const JobDir& dir)
{
  return probe_lock(UniqueFd(
      retry_eintr([&] { return ::openat(dir.fd(), "lock", O_RDONLY | O_NOFOLLOW | O_CLOEXEC); })));
}

LockProbe probe_lock(const UniqueFd& fd)
{
  if (!fd) {
    return {};
  }
  struct flock fl {};
  auto held = [&](off_t start, off_t len) {
    fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = start;
    fl.l_len = len;
    return ::fcntl(fd.get(), F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
  };
  LockProbe probe;
  probe.held = held(0, 0); // any lock on the file: a supervisor lives
  if (!probe.held) {
    return probe;
  }
  // The lock reported covers bytes 0 and 1 (the supervisor's whole-file lock): no flag.
  if (fl.l_start == 0 && (fl.l_len == 0 || fl.l_len > k_flag_byte)) {
    return probe;
  }
  // A live supervisor holds byte 0 always; byte 1 free beside it is the flag.
  probe.storage_flag = held(0, 1) && !held(k_flag_byte, 1);
  return probe;
}

FsTrouble FsTroubleCache::get(const JobDir& dir)
{
  if (dir.mount_id() == 0) {
    return filesystem_trouble(dir.fd());
  }
  if (auto trouble = known(dir.mount_id())) {
    return *trouble;
  }
  const FsTrouble trouble = filesystem_trouble(dir.fd());
  m_mounts.emplace_back(dir.mount_id(), trouble);
  return trouble;
}

std::optional<FsTrouble> FsTroubleCache::known(uint64_t mount_id) const
{
  for (const auto& [id, trouble] : m_mounts) {
    if (mount_id != 0 && id == mount_id) {
      return trouble;
    }
  }
  return std::nullopt;
}

} // namespace pg
