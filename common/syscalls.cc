#include "syscalls.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace pg {

void throw_errno(const std::string& what, int err)
{
  throw std::system_error(err, std::generic_category(), what);
}

UniqueFd pidfd_open(pid_t pid)
{
  return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

int pidfd_send_signal(int pidfd, int sig, siginfo_t* info)
{
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, info, 0));
}

uid_t effective_uid()
{
  static const uid_t uid = ::geteuid();
  return uid;
}

bool write_all(int fd, std::string_view data)
{
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

namespace {

// The loop of read_file and read_kernel_file: reads fd to its end; with done_below, a read
// shorter than that many bytes ends it.
bool read_all(const std::string& path, std::string& out, size_t done_below)
{
  out.clear();
  UniqueFd fd(retry_eintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!fd) {
    return false;
  }
  char buf[8192];
  for (;;) {
    ssize_t n = retry_eintr([&] { return ::read(fd.get(), buf, sizeof buf); });
    if (n < 0) {
      return false;
    }
    if (n == 0) {
      return true;
    }
    out.append(buf, static_cast<size_t>(n));
    if (static_cast<size_t>(n) < done_below) {
      return true;
    }
  }
}

} // namespace

bool read_file(const std::string& path, std::string& out)
{
  return read_all(path, out, 0);
}

bool read_kernel_file(const std::string& path, std::string& out)
{
  return read_all(path, out, 2048);
}

void set_cloexec(int fd, bool on)
{
  int flags = ::fcntl(fd, F_GETFD);
  if (flags < 0 || ::fcntl(fd, F_SETFD, on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC)) < 0) {
    throw_errno("fcntl F_SETFD");
  }
}

void set_nonblock(int fd)
{
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    throw_errno("fcntl F_SETFL");
  }
}

} // namespace pg
