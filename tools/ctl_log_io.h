// What pg-ctl logs reads and writes: the files of one output log (LOG, LOG.1, ... reached
// without following links), the output (stdout, or a buffer for --json), and the signals that
// end a follow.
#pragma once

#include "fd.h"
#include "state_dir.h"
#include "syscalls.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pg {

// A log that cannot be shown: it cannot be opened, is not a regular file, or a read failed.
class LogError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileId&) const = default;
};

inline FileId id_of(const struct stat& st)
{
  return FileId{st.st_dev, st.st_ino};
}

// While alive: SIGINT and SIGTERM end the output (a byte on a pipe wakes a poll, and a write
// blocked on a slow reader returns EINTR, since the handler is installed without SA_RESTART),
// and SIGPIPE is ignored so a closed stdout is seen as EPIPE. A signal that was ignored stays
// ignored (a `&` job of a non-interactive shell must not die of the terminal's ^C). The
// previous dispositions come back with the destructor. One instance at a time (the handler
// reaches it through statics).
class StopSignals {
public:
  StopSignals()
  {
    int p[2];
    if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0) {
      m_read.reset(p[0]);
      m_write.reset(p[1]);
    }
    s_write_fd = m_write.get();
    s_raised = 0;
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    ::sigemptyset(&ign.sa_mask);
    ::sigaction(SIGPIPE, &ign, &m_old_pipe);
    struct sigaction sa {};
    sa.sa_handler = &StopSignals::on_signal;
    ::sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 2; ++i) {
      const int sig = i == 0 ? SIGINT : SIGTERM;
      ::sigaction(sig, nullptr, &m_old[i]);
      if (m_old[i].sa_handler != SIG_IGN) {
        ::sigaction(sig, &sa, nullptr);
      }
    }
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  ~StopSignals()
  {
    ::sigaction(SIGINT, &m_old[0], nullptr);
    ::sigaction(SIGTERM, &m_old[1], nullptr);
    ::sigaction(SIGPIPE, &m_old_pipe, nullptr);
    s_write_fd = -1;
  }

  // Readable once SIGINT or SIGTERM arrived (-1 without a pipe: raised() still tells).
  int fd() const { return m_read.get(); }
  bool raised() const { return s_raised != 0; }

private:
  static void on_signal(int)
  {
    const int saved = errno;
    s_raised = 1;
    if (s_write_fd >= 0) {
      [[maybe_unused]] ssize_t n = ::write(s_write_fd, "x", 1);
    }
    errno = saved;
  }

  static inline volatile sig_atomic_t s_raised = 0;
  static inline int s_write_fd = -1;
  UniqueFd m_read;
  UniqueFd m_write;
  struct sigaction m_old[2]{};
  struct sigaction m_old_pipe {};
};

// Where the log's bytes go: a descriptor (stdout), or a buffer for --json.
class LogOut {
public:
  LogOut(std::string name, int fd, const StopSignals& stop)
      : m_name(std::move(name)), m_fd(fd), m_stop(stop)
  {
  }

  // Says something on stderr at once, as "pg-ctl: NAME: text": a follow may last for days, so
  // this cannot wait for main to print the result.
  void note(const std::string& text) const { fmt::print(stderr, "pg-ctl: {}: {}\n", m_name, text); }

  // Writes all of data; false once nothing more can be written: the reader is gone or a stop
  // signal arrived (not an error), or a write failed (error() says why).
  bool put(std::string_view data)
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
      } else if (n < 0 && errno == EAGAIN) {
        // An inherited non-blocking stdout: wait until it takes more, or a stop.
        std::vector<pollfd> fds{{m_fd, POLLOUT, 0}, {m_stop.fd(), POLLIN, 0}};
        ::poll(fds.data(), fds.size(), -1);
      } else if (n < 0 && errno == EPIPE) {
        return false;
      } else if (n < 0 && errno != EINTR) {
        m_error = fmt::format("write to standard output: {}", std::strerror(errno));
        return false;
      }
    }
    return true;
  }

  void collect() { m_json = true; }
  const std::string& collected() const { return m_buf; }
  const std::string& error() const { return m_error; }
  int fd() const { return m_fd; }

private:
  std::string m_name;
  int m_fd;
  const StopSignals& m_stop;
  bool m_json = false;
  std::string m_buf;
  std::string m_error;
};

// The files of one output log: LOG and its rotated LOG.1 (the newest) ... LOG.N. A log directly
// in the job's directory is reached through the directory's descriptor, never through a link.
class LogFiles {
public:
  LogFiles(const JobDir& dir, std::string path) : m_path(std::move(path))
  {
    const std::string prefix = dir.path() + "/";
    if (m_path.starts_with(prefix) && m_path.size() > prefix.size() &&
        m_path.find('/', prefix.size()) == std::string::npos) {
      m_dirfd = dir.fd();
      m_base = m_path.substr(prefix.size());
    }
  }

  // "LOG" for k = 0, else "LOG.k".
  std::string name(unsigned k) const { return k == 0 ? m_path : m_path + "." + std::to_string(k); }

  // Opens LOG.k for reading; invalid with errno set when it cannot.
  UniqueFd open(unsigned k) const
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

  // What LOG.k names now (a link in the job's directory is itself, not its target); nullopt
  // when it does not exist.
  std::optional<FileId> id(unsigned k) const
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

  // The directory an inotify watch goes on: through the job directory's descriptor when the
  // log is there (a renamed or replaced path cannot redirect the watch), else the log's parent.
  std::string watch_dir() const
  {
    if (m_dirfd >= 0) {
      return fmt::format("/proc/self/fd/{}", m_dirfd);
    }
    const size_t slash = m_path.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : m_path.substr(0, slash);
  }

private:
  std::string m_path;
  std::string m_base;
  int m_dirfd = -1;
};

} // namespace pg
