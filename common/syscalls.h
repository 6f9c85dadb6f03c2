// Thin, exception-raising wrappers over the Linux system calls the project uses.
#pragma once

#include "fd.h"

#include <sys/types.h>

#include <cerrno>
#include <csignal>
#include <string>
#include <string_view>
#include <system_error>

namespace pg {

// Throws std::system_error(errno) with "what: strerror" as its message.
[[noreturn]] void throw_errno(const std::string& what, int err = errno);

// Retries f() while it fails with EINTR; returns its result.
template <typename F> auto retry_eintr(F f)
{
  decltype(f()) r;
  do {
    r = f();
  } while (r == -1 && errno == EINTR);
  return r;
}

// pidfd_open(2): a descriptor that names exactly this process; invalid fd on failure (errno set).
UniqueFd pidfd_open(pid_t pid);

// pidfd_send_signal(2); info may be null. Returns 0 or -1 with errno.
int pidfd_send_signal(int pidfd, int sig, siginfo_t* info);

// Writes all of data to fd (retrying short writes and EINTR); false on error (errno set).
bool write_all(int fd, std::string_view data);

// Reads a whole small file (such as one in /proc); nullopt-like empty result with ok=false.
bool read_file(const std::string& path, std::string& out);

// read_file for a small file the kernel generates as it is read (/proc/PID/stat, statm,
// children; a cgroup's files): a read that returns less than half a page is the whole file, so
// the read that would return 0 is saved. The kernel fills a read of such a file with whole
// records up to its buffer of at least a page, and their records are short (a number, a line of
// stat), so only a read that nearly filled that buffer can have left some behind; then it reads
// on. Not for regular files (a network filesystem may return less) nor for long records.
bool read_kernel_file(const std::string& path, std::string& out);

// geteuid(), asked once: no pg program changes its user, and readers ask per job.
uid_t effective_uid();

// Marks fd close-on-exec (or clears it).
void set_cloexec(int fd, bool on = true);

// Marks fd non-blocking.
void set_nonblock(int fd);

} // namespace pg
