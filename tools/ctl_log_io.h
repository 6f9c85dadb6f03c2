// What pg-ctl logs reads and writes: the files of one output log (LOG, LOG.1, ... reached
// without following links), the output (stdout, or a buffer for --json), and the signals that
// end a follow.
#pragma once

#include "fd.h"
#include "state_dir.h"

#include <sys/stat.h>

#include <csignal>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

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
  StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  ~StopSignals();

  // Readable once SIGINT or SIGTERM arrived (-1 without a pipe: raised() still tells).
  int fd() const { return m_read.get(); }
  bool raised() const;

private:
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
  void note(const std::string& text) const;

  // Writes all of data; false once nothing more can be written: the reader is gone or a stop
  // signal arrived (not an error), or a write failed (error() says why).
  bool put(std::string_view data);

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
  LogFiles(const JobDir& dir, std::string path);

  // "LOG" for k = 0, else "LOG.k".
  std::string name(unsigned k) const { return k == 0 ? m_path : m_path + "." + std::to_string(k); }

  // Opens LOG.k for reading; invalid with errno set when it cannot.
  UniqueFd open(unsigned k) const;

  // What LOG.k names now (a link in the job's directory is itself, not its target); nullopt
  // when it does not exist.
  std::optional<FileId> id(unsigned k) const;

  // The directory an inotify watch goes on: through the job directory's descriptor when the
  // log is there (a renamed or replaced path cannot redirect the watch), else the log's parent.
  std::string watch_dir() const;

private:
  std::string m_path;
  std::string m_base;
  int m_dirfd = -1;
};

} // namespace pg
