#include "ctl_logs.h"

#include "clock.h"
#include "control.h"
#include "exit_status.h"
#include "job_view.h"
#include "signals.h"

#include "syscalls.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstring>

namespace pg {

namespace {

// The longest history searched for rotated files (LOG.1 ... LOG.N); the supervisor keeps few.
constexpr unsigned k_max_rotated = 1000;
// Attempts at a consistent snapshot of LOG, LOG.1, ... while rotations keep renaming them.
constexpr int k_snapshot_attempts = 5;
// Without inotify (a full watch table), how often a follow looks at the log again.
constexpr int k_fallback_poll_ms = 250;

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

FileId id_of(const struct stat& st)
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

ReadAt reader(int fd, std::string name)
{
  return [fd, name = std::move(name)](char* buf, size_t len, uint64_t off) {
    size_t got = 0;
    while (got < len) {
      const ssize_t n = retry_eintr(
          [&] { return ::pread(fd, buf + got, len - got, static_cast<off_t>(off + got)); });
      if (n < 0) {
        throw LogError(fmt::format("read {}: {}", name, std::strerror(errno)));
      }
      if (n == 0) {
        break; // shorter than it was: the reader scans what there is
      }
      got += static_cast<size_t>(n);
    }
    return got;
  };
}

// Copies fd from pos to its end into out and advances pos; false when out takes no more. A
// file now shorter than pos was truncated: it is read again from its start.
bool copy_to_end(int fd, const std::string& name, uint64_t& pos, LogOut& out)
{
  struct stat st {};
  if (::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) < pos) {
    out.note(name + " was truncated; reading it from its start");
    pos = 0;
  }
  std::string buf(k_log_block, '\0');
  const ReadAt read = reader(fd, name);
  for (;;) {
    const size_t n = read(buf.data(), buf.size(), pos);
    if (n == 0) {
      return true;
    }
    pos += n;
    if (!out.put(std::string_view(buf.data(), n))) {
      return false;
    }
  }
}

// The files the tail comes from, held open, so rotations after the snapshot change nothing.
struct TailSnapshot {
  std::vector<UniqueFd> files; // [0] LOG (invalid while LOG is absent), [k] LOG.k
  std::vector<FileId> ids;
  size_t start_file = 0;
  uint64_t start_offset = 0;
  bool any() const
  {
    return std::any_of(files.begin(), files.end(), [](const UniqueFd& f) { return f.valid(); });
  }
};

// Opens LOG, LOG.1, ... as far back as the last N lines go. When a file turns out to be one
// already opened (a rotation renamed it in between), starts again.
TailSnapshot snapshot_tail(const LogFiles& log, uint64_t lines)
{
  TailSnapshot snap;
  for (int attempt = 0; attempt < k_snapshot_attempts; ++attempt) {
    snap = TailSnapshot{};
    TailFinder finder(lines);
    bool raced = false;
    bool found = false;
    for (unsigned k = 0; k <= k_max_rotated && !found; ++k) {
      UniqueFd fd = log.open(k);
      if (!fd) {
        if (k == 0 && errno != ENOENT) {
          throw LogError(fmt::format("cannot open {}: {}", log.name(0), std::strerror(errno)));
        }
        if (k > 0) {
          break; // no older file (or one we may not read): the history starts after it
        }
        // LOG is absent (between a rotation's rename and its new file): LOG.1 may hold it all.
        snap.files.emplace_back();
        snap.ids.emplace_back();
        continue;
      }
      struct stat st {};
      if (::fstat(fd.get(), &st) < 0) {
        throw LogError(fmt::format("fstat {}: {}", log.name(k), std::strerror(errno)));
      }
      if (!S_ISREG(st.st_mode)) {
        if (k == 0) {
          throw LogError(fmt::format("{} is not a regular file", log.name(0)));
        }
        break;
      }
      const FileId id = id_of(st);
      if (std::find(snap.ids.begin(), snap.ids.end(), id) != snap.ids.end()) {
        raced = true;
        break;
      }
      const std::string name = log.name(k);
      const auto at = finder.scan(static_cast<uint64_t>(st.st_size), reader(fd.get(), name));
      snap.files.push_back(std::move(fd));
      snap.ids.push_back(id);
      if (at) {
        snap.start_file = k;
        snap.start_offset = *at;
        found = true;
      }
    }
    if (raced && attempt + 1 < k_snapshot_attempts) {
      continue;
    }
    if (!found) {
      snap.start_file = snap.files.size() - 1; // from the first byte of the oldest file
      snap.start_offset = 0;
    }
    return snap; // after the last attempt, what it saw, as if the history ended there
  }
  return snap;
}

// Wakes a follow when anything changes in the log's directory: appends (IN_MODIFY), rotations
// (IN_MOVED_FROM/TO), a new LOG (IN_CREATE). Invalid when inotify is not available.
UniqueFd watch_log(const LogFiles& log)
{
  UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (fd && ::inotify_add_watch(fd.get(), log.watch_dir().c_str(),
                                IN_MODIFY | IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE |
                                    IN_ONLYDIR) < 0) {
    fd.reset();
  }
  return fd;
}

// Following one log: the file being read, and how far.
class Follower {
public:
  Follower(const LogFiles& log, LogOut& out) : m_log(log), m_out(out) {}

  // Continues from where the tail ended: the newest file it read, at its end.
  void start_at(UniqueFd fd, FileId id, uint64_t pos, unsigned k)
  {
    m_cur = std::move(fd);
    m_id = id;
    m_pos = pos;
    m_cur_name = m_log.name(k);
  }

  // Writes what was appended; when LOG is another file than the one being read (a rotation),
  // finishes the old file, then the files rotated past in between, then reads the new LOG from
  // its start. False when out takes no more. Throws LogError.
  bool pump()
  {
    for (;;) {
      if (m_cur && !copy_to_end(m_cur.get(), m_cur_name, m_pos, m_out)) {
        return false;
      }
      const auto now = m_log.id(0);
      if (!now || (m_cur && *now == m_id)) {
        return true; // unchanged, or LOG absent for a moment inside a rotation
      }
      // Written between the copy and the look at LOG: the old file's very last lines.
      if (m_cur && !copy_to_end(m_cur.get(), m_cur_name, m_pos, m_out)) {
        return false;
      }
      auto next = next_files();
      if (!next) {
        continue; // a rotation is under way: look again
      }
      for (auto& [fd, k] : next->newer) {
        uint64_t pos = 0;
        if (!copy_to_end(fd.get(), m_log.name(k), pos, m_out)) {
          return false;
        }
      }
      start_at(std::move(next->log), next->log_id, 0, 0);
    }
  }

private:
  // What came after the file being read: LOG.(k-1) ... LOG.1 when it is now LOG.k (several
  // rotations since the last look), then LOG.
  struct Next {
    std::vector<std::pair<UniqueFd, unsigned>> newer; // oldest first
    UniqueFd log;
    FileId log_id;
  };

  // LOG.1, LOG.2, ... up to the file being read. A rotation renames one file at a time into
  // the slot the previous rename freed, so a single missing slot may be one in flight; two in
  // a row end the history.
  std::vector<std::optional<FileId>> rotated_ids() const
  {
    std::vector<std::optional<FileId>> ids;
    if (!m_cur) {
      return ids;
    }
    for (unsigned i = 1; i <= k_max_rotated; ++i) {
      ids.push_back(m_log.id(i));
      if (ids.back() == m_id) {
        return ids;
      }
      if (!ids.back() && ids.size() >= 2 && !ids[ids.size() - 2]) {
        break;
      }
    }
    return {}; // the file being read is gone (rotated past --log-keep, or removed)
  }

  // Opens what came after the file being read, and trusts it only when a second look at the
  // names finds every file where the first one did (no rotation ran in between).
  std::optional<Next> next_files() const
  {
    const auto before = rotated_ids();
    Next next;
    for (size_t i = before.size() > 0 ? before.size() - 1 : 0; i-- > 0;) {
      if (!before[i]) {
        continue;
      }
      const auto k = static_cast<unsigned>(i + 1);
      UniqueFd fd = m_log.open(k);
      if (!fd && errno != ENOENT) {
        continue; // there, but not ours to read (a link, no permission): skipped, not waited for
      }
      struct stat st {};
      if (!fd || ::fstat(fd.get(), &st) < 0 || id_of(st) != *before[i]) {
        return std::nullopt; // renamed since the first look
      }
      if (S_ISREG(st.st_mode)) {
        next.newer.emplace_back(std::move(fd), k);
      }
    }
    next.log = m_log.open(0);
    if (!next.log) {
      if (errno == ENOENT) {
        return std::nullopt;
      }
      throw LogError(fmt::format("cannot open {}: {}", m_log.name(0), std::strerror(errno)));
    }
    struct stat st {};
    if (::fstat(next.log.get(), &st) < 0 || !S_ISREG(st.st_mode)) {
      throw LogError(fmt::format("{} is not a regular file", m_log.name(0)));
    }
    next.log_id = id_of(st);
    if (rotated_ids() != before || m_log.id(0) != next.log_id) {
      return std::nullopt;
    }
    return next;
  }

  const LogFiles& m_log;
  LogOut& m_out;
  UniqueFd m_cur;
  FileId m_id;
  uint64_t m_pos = 0;
  std::string m_cur_name;
};

// Waits for a change of the log, the supervisor's exit, a stop signal or a closed out.
enum class Wake { Changed, SupervisorExited, Stop };

Wake wait_for_change(int watch, int pidfd, const StopSignals& stop, int out)
{
  std::vector<pollfd> fds{{watch, POLLIN, 0},
                          {pidfd, POLLIN, 0},
                          {stop.fd(), POLLIN, 0},
                          // events 0: only POLLERR (a pipe whose reader is gone) or POLLHUP
                          {out, 0, 0}};
  for (;;) {
    for (auto& p : fds) {
      p.revents = 0;
    }
    const int n = ::poll(fds.data(), fds.size(), watch >= 0 ? -1 : k_fallback_poll_ms);
    if (stop.raised() || (fds[3].revents & (POLLERR | POLLHUP)) != 0) {
      return Wake::Stop;
    }
    if (fds[3].revents & POLLNVAL) {
      fds[3].fd = -1; // out is not open: a write will tell
    }
    if (fds[1].revents != 0) {
      return Wake::SupervisorExited;
    }
    if (n == 0 || fds[0].revents != 0) {
      return Wake::Changed;
    }
    if (n < 0 && errno != EINTR) {
      return Wake::Changed;
    }
  }
}

void drain_watch(int watch)
{
  if (watch < 0) {
    return;
  }
  alignas(inotify_event) char buf[4096];
  while (::read(watch, buf, sizeof buf) > 0) {
  }
}

// The lines of a tail, for --json: split at newlines, a last line without one included.
nlohmann::json lines_of(std::string_view text)
{
  nlohmann::json lines = nlohmann::json::array();
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    lines.push_back(std::string(text.substr(0, nl)));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  }
  return lines;
}

} // namespace

std::optional<uint64_t> TailFinder::scan(uint64_t size, const ReadAt& read)
{
  if (m_wanted == 0) {
    return size; // no lines: the output starts at the very end
  }
  m_buf.resize(m_block);
  uint64_t end = size;
  while (end > 0) {
    const size_t len = static_cast<size_t>(std::min<uint64_t>(m_block, end));
    const uint64_t off = end - len;
    size_t i = read(m_buf.data(), len, off);
    m_read += i;
    if (!m_seen_end && i > 0) {
      m_seen_end = true;
      if (m_buf[i - 1] == '\n') {
        --i; // the newline that ends the last line
      }
    }
    while (i > 0) {
      const void* nl = ::memrchr(m_buf.data(), '\n', i);
      if (nl == nullptr) {
        break;
      }
      i = static_cast<size_t>(static_cast<const char*>(nl) - m_buf.data());
      if (--m_wanted == 0) {
        return off + i + 1;
      }
    }
    end = off;
  }
  return std::nullopt;
}

std::optional<uint64_t> parse_line_count(std::string_view text)
{
  if (text.empty() ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return n;
}

LogsResult write_log(const JobDir& dir, const std::string& path, const LogsOptions& opt,
                     int supervisor_pidfd, int out_fd)
{
  LogsResult res;
  const bool follow = opt.follow && supervisor_pidfd >= 0 && !opt.json;
  const LogFiles log(dir, path);
  StopSignals stop;
  LogOut out(dir.name(), out_fd, stop);
  if (opt.json) {
    out.collect();
  }
  auto failed = [&](const std::string& why) {
    res.status = k_ctl_exit_failed;
    res.error = why;
    return res;
  };
  try {
    // Watched before the tail is read, so nothing appended after the tail slips by unseen.
    const UniqueFd watch = follow ? watch_log(log) : UniqueFd();
    TailSnapshot snap = snapshot_tail(log, opt.lines);
    if (!snap.any() && !follow) {
      return failed(fmt::format("{} does not exist", log.name(0)));
    }
    Follower follower(log, out);
    bool more = true;
    for (size_t k = snap.start_file + 1; k-- > 0 && more;) {
      if (!snap.files[k]) {
        continue;
      }
      uint64_t pos = k == snap.start_file ? snap.start_offset : 0;
      more = copy_to_end(snap.files[k].get(), log.name(static_cast<unsigned>(k)), pos, out);
      // The newest file read is where following goes on.
      follower.start_at(std::move(snap.files[k]), snap.ids[k], pos, static_cast<unsigned>(k));
    }
    bool exited = false;
    while (more && follow) {
      more = follower.pump();
      if (!more || exited) {
        break; // drained after the supervisor's exit: nothing more can come
      }
      const Wake w = wait_for_change(watch.get(), supervisor_pidfd, stop, out.fd());
      if (w == Wake::Stop) {
        break;
      }
      exited = w == Wake::SupervisorExited;
      drain_watch(watch.get());
    }
  } catch (const LogError& e) {
    return failed(e.what());
  }
  if (!out.error().empty()) {
    return failed(out.error());
  }
  if (opt.json) {
    res.json = nlohmann::json{{"log", path}, {"lines", lines_of(out.collected())}};
  }
  return res;
}

LogsResult show_logs(const JobsAt& jobs, const std::string& name, const LogsOptions& opt, int out)
{
  LogsResult res;
  std::optional<JobDir> dir;
  std::string log;
  UniqueFd pidfd;
  if (opt.follow) {
    // The supervisor, verified as for any request, is what tells when following may end.
    Target t = reach(jobs, name, "logs");
    dir = std::move(t.dir);
    if (t.pidfd) {
      pidfd = std::move(t.pidfd);
      log = t.state.definition.log;
    } else if (dir && !t.result.unreadable) {
      res.note = t.result.message.starts_with("not running") ? "not running; not following"
                                                             : t.result.message + "; not following";
    } else {
      res.status = t.result.unreadable ? k_ctl_exit_state_dir : k_ctl_exit_failed;
      res.error = t.result.message;
      return res;
    }
  } else {
    try {
      if (jobs.dir) {
        dir = jobs.dir->job(name, false);
      }
    } catch (const StateDirError& e) {
      res.status = k_ctl_exit_state_dir;
      res.error = e.what();
      return res;
    }
    if (!dir) {
      res.status = k_ctl_exit_failed;
      res.error = fmt::format("no such job in {}", jobs.path);
      return res;
    }
  }
  if (log.empty()) {
    const JobView v = view_job(*dir);
    log = v.state && !v.state->definition.log.empty() ? v.state->definition.log
                                                      : dir->path() + "/output.log";
  }
  LogsResult written = write_log(*dir, log, opt, pidfd.get(), out);
  if (!written.json.is_null()) {
    written.json = nlohmann::json{{"name", name}, {"log", log}, {"lines", written.json["lines"]}};
  }
  if (written.status == k_ctl_exit_ok && written.note.empty()) {
    written.note = res.note;
  }
  return written;
}

} // namespace pg
