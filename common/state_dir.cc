#include "state_dir.h"

#include "parse.h"
#include "state.h"
#include "syscalls.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

namespace pg {

namespace {

std::string home_dir()
{
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
    return h;
  }
  if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_dir != nullptr) {
    return pw->pw_dir;
  }
  throw StateDirError("cannot find a home directory: set HOME or use --state-dir");
}

// What another user could not have planted nor change under us: ours, not writable by group
// or others.
bool owned(uid_t uid, mode_t mode)
{
  return uid == effective_uid() && (mode & (S_IWGRP | S_IWOTH)) == 0;
}

// Refuses what owned() does not accept, saying why.
void check_owned(uid_t uid, mode_t mode, const std::string& path, const char* what)
{
  if (owned(uid, mode)) {
    return;
  }
  if (uid != effective_uid()) {
    throw StateDirError(std::string(what) + " " + path + " belongs to uid " + std::to_string(uid) +
                        ", not to uid " + std::to_string(effective_uid()) +
                        " (sudo keeping HOME?); use --state-dir");
  }
  throw StateDirError(std::string(what) + " " + path +
                      " is writable by group or others; chmod go-w it");
}

void mkdir_parents(const std::string& path)
{
  for (size_t pos = 1; pos < path.size(); ++pos) {
    if (path[pos] == '/') {
      std::string prefix = path.substr(0, pos);
      if (::mkdir(prefix.c_str(), 0755) < 0 && errno != EEXIST) {
        throw StateDirError("mkdir " + prefix + ": " + std::strerror(errno));
      }
    }
  }
}

} // namespace

std::string resolve_state_dir(const std::string& from_cli)
{
  std::string dir;
  if (!from_cli.empty()) {
    dir = from_cli;
  } else if (const char* e = std::getenv("PG_STATE_DIR"); e != nullptr && *e != '\0') {
    dir = e;
  } else if (const char* x = std::getenv("XDG_STATE_HOME"); x != nullptr && *x == '/') {
    dir = std::string(x) + "/pg";
  } else {
    dir = home_dir() + "/.local/state/pg";
  }
  if (dir[0] != '/') {
    char* cwd = ::getcwd(nullptr, 0);
    if (cwd == nullptr) {
      throw StateDirError("getcwd: " + std::string(std::strerror(errno)));
    }
    dir = std::string(cwd) + "/" + dir;
    std::free(cwd);
  }
  while (dir.size() > 1 && dir.back() == '/') {
    dir.pop_back();
  }
  return dir;
}

StateDir StateDir::open(const std::string& path, bool create)
{
  if (create) {
    mkdir_parents(path);
    if (::mkdir(path.c_str(), 0700) < 0 && errno != EEXIST) {
      throw StateDirError("mkdir " + path + ": " + std::strerror(errno));
    }
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    int err = errno;
    struct stat lst {};
    if (::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) {
      throw StateDirError("state directory " + path + " is a symlink; refusing to follow it");
    }
    throw StateDirError("state directory " + path + ": " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) {
    throw StateDirError("fstat " + path + ": " + std::strerror(errno));
  }
  check_owned(st.st_uid, st.st_mode, path, "state directory");
  return StateDir(path, std::move(fd));
}

std::vector<std::string> StateDir::job_names() const
{
  std::vector<std::string> names;
  int dup = ::fcntl(m_fd.get(), F_DUPFD_CLOEXEC, 0);
  if (dup < 0) {
    throw StateDirError("dup: " + std::string(std::strerror(errno)));
  }
  DIR* d = ::fdopendir(dup);
  if (d == nullptr) {
    ::close(dup);
    throw StateDirError("opendir " + m_path + ": " + std::strerror(errno));
  }
  ::rewinddir(d);
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    // Links are listed too, so readers show them refused instead of silently hiding them.
    if (name_problem(n).empty() &&
        (e->d_type == DT_DIR || e->d_type == DT_LNK || e->d_type == DT_UNKNOWN)) {
      names.push_back(n);
    }
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<JobDir> StateDir::job(const std::string& name, bool create) const
{
  // Callers check names already; this layer refuses them again, since "..", "a/b" or "" would
  // open a directory other than STATE/NAME (O_NOFOLLOW guards only the last component).
  if (std::string why = name_problem(name); !why.empty()) {
    throw StateDirError("job name '" + name + "': " + why);
  }
  std::string path = m_path + "/" + name;
  if (create && ::mkdirat(m_fd.get(), name.c_str(), 0700) < 0 && errno != EEXIST) {
    throw StateDirError("mkdir " + path + ": " + std::strerror(errno));
  }
  UniqueFd fd(::openat(m_fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) {
      return std::nullopt;
    }
    if (errno == ELOOP || errno == ENOTDIR) {
      throw StateDirError("job directory " + path +
                          " is a symlink or not a directory; refusing it");
    }
    throw StateDirError("open " + path + ": " + std::strerror(errno));
  }
  // One statx for the owner and mode and the mount (readers ask each filesystem's state once
  // per mount); fstat where statx is refused (an old kernel, a seccomp filter).
  struct statx stx {};
  uint64_t mount_id = 0;
  if (::statx(fd.get(), "", AT_EMPTY_PATH, STATX_UID | STATX_MODE | STATX_MNT_ID, &stx) == 0 &&
      (stx.stx_mask & (STATX_UID | STATX_MODE)) == (STATX_UID | STATX_MODE)) {
    check_owned(stx.stx_uid, stx.stx_mode, path, "job directory");
    if ((stx.stx_mask & STATX_MNT_ID) != 0) {
      mount_id = stx.stx_mnt_id;
    }
  } else {
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0) {
      throw StateDirError("fstat " + path + ": " + std::strerror(errno));
    }
    check_owned(st.st_uid, st.st_mode, path, "job directory");
  }
  return JobDir(name, std::move(path), std::move(fd), mount_id);
}

void JobDir::write_state(const JobState& state) const
{
  std::string text;
  text.reserve(2048);
  append_state_line(text, state);
  write_file("state.json", text);
}

void JobDir::write_file(const std::string& file, std::string_view text) const
{
  const std::string tmp = file + ".tmp." + std::to_string(::getpid());
  UniqueFd fd(retry_eintr([&] {
    return ::openat(m_fd.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                    0600);
  }));
  if (!fd) {
    throw_errno("open " + m_path + "/" + tmp);
  }
  if (!write_all(fd.get(), text)) {
    int err = errno;
    ::unlinkat(m_fd.get(), tmp.c_str(), 0);
    throw_errno("write " + m_path + "/" + tmp, err);
  }
  fd.reset();
  if (::renameat(m_fd.get(), tmp.c_str(), m_fd.get(), file.c_str()) < 0) {
    int err = errno;
    ::unlinkat(m_fd.get(), tmp.c_str(), 0);
    throw_errno("rename " + m_path + "/" + file, err);
  }
}

int JobDir::remove_stale_temps() const
{
  int dup = ::fcntl(m_fd.get(), F_DUPFD_CLOEXEC, 0);
  DIR* d = dup < 0 ? nullptr : ::fdopendir(dup);
  if (d == nullptr) {
    if (dup >= 0) {
      ::close(dup);
    }
    return 0;
  }
  ::rewinddir(d);
  std::vector<std::string> stale;
  while (dirent* e = ::readdir(d)) {
    const std::string_view n = e->d_name;
    if (n.starts_with("state.json.tmp.") || n.starts_with("environ.tmp.")) {
      stale.emplace_back(e->d_name);
    }
  }
  ::closedir(d);
  int removed = 0;
  for (const auto& name : stale) {
    removed += ::unlinkat(m_fd.get(), name.c_str(), 0) == 0 ? 1 : 0;
  }
  return removed;
}

namespace {

// Reads the open file fd, DIR/FILE, whole into out, as JobDir::read says.
bool read_whole(int fd, std::string_view dir, std::string_view file, std::string& out)
{
  auto path = [&] { return std::string(dir) + "/" + std::string(file); };
  struct stat st {};
  if (::fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    throw StateDirError(path() + " is not a regular file; refusing it");
  }
  auto too_large = [&] {
    return StateDirError(path() + " is larger than " + std::to_string(JobDir::k_max_read >> 20) +
                         " MiB; refusing it");
  };
  if (static_cast<uint64_t>(st.st_size) > JobDir::k_max_read) {
    throw too_large();
  }
  // Straight into out, sized for the file and one byte more: one read(2) for the usual file,
  // whose short count there is its end. A file grown since the fstat is read on to its end.
  const auto size = static_cast<size_t>(st.st_size);
  out.resize(size + 1);
  size_t got = 0;
  for (;;) {
    if (got == out.size()) {
      out.resize(got + 16384);
    }
    ssize_t n = retry_eintr([&] { return ::read(fd, out.data() + got, out.size() - got); });
    if (n <= 0) {
      out.resize(got);
      return n == 0;
    }
    got += static_cast<size_t>(n);
    if (got > JobDir::k_max_read) {
      throw too_large();
    }
    if (got >= size && got < out.size()) {
      out.resize(got);
      return true;
    }
  }
}

} // namespace

bool JobDir::read(const std::string& file, std::string& out) const
{
  out.clear();
  UniqueFd fd(retry_eintr([&] {
    return ::openat(m_fd.get(), file.c_str(),
                    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  }));
  if (!fd) {
    if (errno == ENOENT) {
      return false;
    }
    if (errno == ELOOP) {
      throw StateDirError(m_path + "/" + file + " is a symlink; refusing to follow it");
    }
    throw StateDirError("open " + m_path + "/" + file + ": " + std::strerror(errno));
  }
  return read_whole(fd.get(), m_path, file, out);
}

namespace {

// Where openat2 is refused (before Linux 5.6, or by a seccomp filter), every quick look would
// fail after its statx: asked once.
std::atomic<bool> no_openat2{false};

} // namespace

UniqueFd StateDir::open_beneath(const std::string& name, const char* file, uint64_t* mount_id) const
{
  if (no_openat2.load(std::memory_order_relaxed) || !name_problem(name).empty()) {
    return UniqueFd();
  }
  if (mount_id != nullptr) {
    // The directory as job() checks it: a directory (never through a link), owned().
    constexpr unsigned k_want = STATX_TYPE | STATX_MODE | STATX_UID | STATX_MNT_ID;
    struct statx stx {};
    if (::statx(m_fd.get(), name.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, k_want, &stx) <
            0 ||
        (stx.stx_mask & k_want) != k_want || !S_ISDIR(stx.stx_mode) ||
        !owned(stx.stx_uid, stx.stx_mode)) {
      return UniqueFd();
    }
    *mount_id = stx.stx_mnt_id;
  }
  // The file, no link followed on the way (the directory cannot have become one unnoticed).
  struct open_how how {};
  how.flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  const std::string rel = name + "/" + file;
  UniqueFd fd(static_cast<int>(retry_eintr(
      [&] { return ::syscall(SYS_openat2, m_fd.get(), rel.c_str(), &how, sizeof how); })));
  if (!fd && (errno == ENOSYS || errno == EPERM)) {
    no_openat2.store(true, std::memory_order_relaxed);
  }
  return fd;
}

bool StateDir::peek(const std::string& name, const char* file, std::string& out,
                    uint64_t& mount_id) const
{
  uint64_t mount = 0;
  UniqueFd fd = open_beneath(name, file, &mount);
  if (!fd) {
    return false;
  }
  try {
    if (!read_whole(fd.get(), name, file, out)) {
      return false;
    }
  } catch (const StateDirError&) {
    return false;
  }
  mount_id = mount;
  return true;
}

UniqueFd JobDir::open_lock() const
{
  UniqueFd fd(retry_eintr([&] {
    return ::openat(m_fd.get(), "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  }));
  if (!fd) {
    throw StateDirError("open " + m_path + "/lock: " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode)) {
    throw StateDirError(m_path + "/lock is not a regular file");
  }
  check_owned(st.st_uid, st.st_mode, m_path + "/lock", "lock file");
  return fd;
}

bool JobDir::lock_held() const
{
  UniqueFd fd(
      retry_eintr([&] { return ::openat(m_fd.get(), "lock", O_RDONLY | O_NOFOLLOW | O_CLOEXEC); }));
  if (!fd) {
    return false;
  }
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (::fcntl(fd.get(), F_OFD_GETLK, &fl) < 0) {
    return false;
  }
  return fl.l_type != F_UNLCK;
}

bool try_lock(int fd)
{
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (::fcntl(fd, F_OFD_SETLK, &fl) == 0) {
    return true;
  }
  if (errno == EAGAIN || errno == EACCES) {
    return false;
  }
  throw_errno("fcntl F_OFD_SETLK");
}

void EventLog::open_file()
{
  m_fd.reset(retry_eintr([&] {
    return ::openat(m_dirfd, "events.jsonl", O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                    0600);
  }));
  if (!m_fd) {
    throw_errno("open events.jsonl");
  }
  struct stat st {};
  m_size = ::fstat(m_fd.get(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  // The events fd is write-only: the last byte is read through a read-only one.
  char last = '\n';
  if (m_size > 0) {
    UniqueFd r(retry_eintr(
        [&] { return ::openat(m_dirfd, "events.jsonl", O_RDONLY | O_NOFOLLOW | O_CLOEXEC); }));
    if (r && ::pread(r.get(), &last, 1, static_cast<off_t>(m_size - 1)) != 1) {
      last = '\n';
    }
  }
  m_needs_newline = last != '\n';
}

void EventLog::rotate()
{
  // Oldest first, so each rename lands on a name just freed; .keep is dropped by the overwrite.
  for (int i = m_keep - 1; i >= 1; --i) {
    std::string from = "events.jsonl." + std::to_string(i);
    std::string to = "events.jsonl." + std::to_string(i + 1);
    ::renameat(m_dirfd, from.c_str(), m_dirfd, to.c_str());
  }
  ::renameat(m_dirfd, "events.jsonl", m_dirfd, "events.jsonl.1");
  m_fd.reset();
}

void EventLog::append(const nlohmann::json& event)
{
  append_line(dump_line(event) + "\n");
}

void EventLog::append_line(std::string_view line)
{
  if (!m_fd) {
    open_file();
  }
  if (m_size > 0 && m_size + line.size() > m_max) {
    rotate();
    open_file();
  }
  std::string fixed;
  if (m_needs_newline) {
    fixed = "\n";
    fixed += line;
    line = fixed;
  }
  if (!write_all(m_fd.get(), line)) {
    int err = errno;
    // A write cut short (the disk filled up in the middle) must not leave half a line for the
    // next one to glue onto: back to the last whole line. If even that fails (read-only), the
    // next open sees the cut line and starts on a new one.
    int cut = ::ftruncate(m_fd.get(), static_cast<off_t>(m_size));
    (void)cut;
    m_fd.reset(); // reopen next time: the fault may clear
    throw_errno("append events.jsonl", err);
  }
  m_size += line.size();
  m_needs_newline = false;
}

} // namespace pg
