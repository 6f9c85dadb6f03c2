#include "ctl_logs.h"

#include "ctl_log_io.h"

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
#include <system_error>

namespace pg {

namespace {

// The longest history searched for rotated files (LOG.1 ... LOG.N); the supervisor keeps few.
constexpr unsigned k_max_rotated = 1000;
// Attempts at a consistent snapshot of LOG, LOG.1, ... while rotations keep renaming them.
constexpr int k_snapshot_attempts = 5;
// Without inotify (a full watch table), how often a follow looks at the log again.
constexpr int k_fallback_poll_ms = 250;

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
  const ReadAt read = pread_at(fd, name);
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
      const auto at = finder.scan(static_cast<uint64_t>(st.st_size), pread_at(fd.get(), name));
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
  } catch (const std::system_error& e) { // a read of the log failed
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
    written.json = nlohmann::json{{"schema_version", pg::k_schema_version},
                                  {"name", name},
                                  {"log", log},
                                  {"lines", written.json["lines"]}};
  }
  if (written.status == k_ctl_exit_ok && written.note.empty()) {
    written.note = res.note;
  }
  return written;
}

} // namespace pg
