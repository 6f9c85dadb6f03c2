// pg-ctl logs' files, output and stop signals (ctl_log_io.h).
#include "ctl_log_io.h"

#include "fd.h"
#include "syscalls.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace pg {

namespace {

// The handler reaches the one live StopSignals through these.
volatile sig_atomic_t g_raised = 0;
int g_write_fd = -1;

void on_stop_signal(int)
{
  const int saved = errno;
  g_raised = 1;
  if (g_write_fd >= 0) {
    [[maybe_unused]] ssize_t n = ::write(g_write_fd, "x", 1);
  }
  errno = saved;
}

} // namespace

StopSignals::StopSignals()
{
  if (std::optional<Pipe> p = make_pipe(O_CLOEXEC | O_NONBLOCK)) {
    m_read = std::move(p->read);
    m_write = std::move(p->write);
  }
  g_write_fd = m_write.get();
  g_raised = 0;
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  ::sigemptyset(&ign.sa_mask);
  ::sigaction(SIGPIPE, &ign, &m_old_pipe);
  struct sigaction sa {};
  sa.sa_handler = &on_stop_signal;
  ::sigemptyset(&sa.sa_mask);
  for (int i = 0; i < 2; ++i) {
    const int sig = i == 0 ? SIGINT : SIGTERM;
    ::sigaction(sig, nullptr, &m_old[i]);
    if (m_old[i].sa_handler != SIG_IGN) {
      ::sigaction(sig, &sa, nullptr);
    }
  }
}

StopSignals::~StopSignals()
{
  ::sigaction(SIGINT, &m_old[0], nullptr);
  ::sigaction(SIGTERM, &m_old[1], nullptr);
  ::sigaction(SIGPIPE, &m_old_pipe, nullptr);
  g_write_fd = -1;
}

bool StopSignals::raised() const
{
  return g_raised != 0;
}

void LogOut::note(const std::string& text) const
{
  fmt::print(stderr, "pg-ctl: {}: {}\n", m_name, text);
}

bool LogOut::put(std::string_view data)
{
  if (m_json) {
    m_buf.append(data);
    return true;
  }
  while (!data.empty()) {
    if (m_stop.raised()) {
      return false;
    }
    const ssize_t n = ::write(m_fd, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n == 0) {
      m_error = "write to standard output: nothing written";
      return false;
    } else if (errno == EAGAIN) {
      // An inherited non-blocking stdout: wait until it takes more, or a stop.
      std::vector<pollfd> fds{{m_fd, POLLOUT, 0}, {m_stop.fd(), POLLIN, 0}};
      ::poll(fds.data(), fds.size(), -1);
    } else if (errno == EPIPE) {
      return false;
    } else if (errno != EINTR) {
      m_error = fmt::format("write to standard output: {}", std::strerror(errno));
      return false;
    }
  }
  return true;
}

LogFiles::LogFiles(const JobDir& dir, std::string path) : m_path(std::move(path))
{
  const std::string prefix = dir.path() + "/";
  if (m_path.starts_with(prefix) && m_path.size() > prefix.size() &&
      m_path.find('/', prefix.size()) == std::string::npos) {
    m_dirfd = dir.fd();
    m_base = m_path.substr(prefix.size());
  }
}

UniqueFd LogFiles::open(unsigned k) const
{
  // O_NONBLOCK: a FIFO given as --log must not hang the open (it is refused after fstat).
  const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  if (m_dirfd >= 0) {
    const std::string file = k == 0 ? m_base : m_base + "." + std::to_string(k);
    return UniqueFd(
        retry_eintr([&] { return ::openat(m_dirfd, file.c_str(), flags | O_NOFOLLOW); }));
  }
  const std::string file = name(k);
  return UniqueFd(retry_eintr([&] { return ::open(file.c_str(), flags); }));
}

std::optional<FileId> LogFiles::id(unsigned k) const
{
  struct stat st {};
  int rc = 0;
  if (m_dirfd >= 0) {
    const std::string file = k == 0 ? m_base : m_base + "." + std::to_string(k);
    rc = ::fstatat(m_dirfd, file.c_str(), &st, AT_SYMLINK_NOFOLLOW);
  } else {
    rc = ::stat(name(k).c_str(), &st);
  }
  return rc == 0 ? std::optional(id_of(st)) : std::nullopt;
}

std::string LogFiles::watch_dir() const
{
  if (m_dirfd >= 0) {
    return fmt::format("/proc/self/fd/{}", m_dirfd);
  }
  const size_t slash = m_path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : m_path.substr(0, slash);
}

} // namespace pg
