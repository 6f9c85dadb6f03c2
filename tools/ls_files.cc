#include "ls_files.h"

#include "ls_format.h"
#include "syscalls.h"
#include "tail.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pg {

namespace {

// How much of the end of events.jsonl and of the log is read: never the whole file (both
// can be 10 MB and more). The events tail grows once when exits are sparse in it.
constexpr size_t k_tail_bytes = 64 * 1024;
constexpr size_t k_events_tail_max = 1024 * 1024;
// --events reads each events.jsonl file whole, up to this much of its end: the supervisor
// rotates past 10 MB, so only a damaged or planted file is longer, and memory stays bounded.
constexpr size_t k_events_file_max = 16 * 1024 * 1024;

} // namespace

// Opens a file of the job's directory for reading, never following a link.
UniqueFd open_in_job(const JobDir& dir, const std::string& file)
{
  return UniqueFd(retry_eintr([&] {
    return ::openat(dir.fd(), file.c_str(),
                    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  }));
}

namespace {

// The last exits, from the tail of events.jsonl (and of events.jsonl.1 just after rotation).
std::vector<ExitRecord> recent_exits(const JobDir& dir)
{
  std::vector<ExitRecord> exits;
  for (const char* file : {"events.jsonl", "events.jsonl.1"}) {
    UniqueFd fd = open_in_job(dir, file);
    if (!fd) {
      break;
    }
    std::vector<ExitRecord> found;
    bool whole = false;
    for (size_t bytes : {k_tail_bytes, k_events_tail_max}) {
      auto tail = read_tail(fd.get(), bytes);
      if (!tail) {
        break;
      }
      found = exits_from_events(tail->text, tail->starts_mid_line, k_detail_exits);
      whole = tail->whole_file;
      if (found.size() >= k_detail_exits || whole) {
        break;
      }
    }
    exits.insert(exits.begin(), found.begin(), found.end());
    if (exits.size() >= k_detail_exits || !whole) {
      break;
    }
  }
  if (exits.size() > k_detail_exits) {
    exits.erase(exits.begin(), exits.end() - static_cast<std::ptrdiff_t>(k_detail_exits));
  }
  return exits;
}

// Opens the output log: inside the job's directory without following links; elsewhere (a
// --log FILE of the user's choosing) as the path says. Sets note when it cannot.
UniqueFd open_log(const JobDir& dir, const std::string& path, std::string& note)
{
  const std::string prefix = dir.path() + "/";
  UniqueFd fd;
  if (path.starts_with(prefix) && path.find('/', prefix.size()) == std::string::npos) {
    fd = open_in_job(dir, path.substr(prefix.size()));
  } else {
    fd = UniqueFd(retry_eintr(
        [&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY); }));
  }
  if (!fd) {
    note = errno == ENOENT ? path + " does not exist (yet)"
                           : "cannot open " + path + ": " + std::strerror(errno);
  }
  return fd;
}

// The last output lines, from the tail of the log (and of LOG.1 just after rotation).
void recent_output(const JobDir& dir, const std::string& log, JobHistory& history)
{
  UniqueFd fd = open_log(dir, log, history.log_note);
  if (!fd) {
    return;
  }
  auto tail = read_tail(fd.get(), k_tail_bytes);
  if (!tail) {
    history.log_note = log + " is not a regular file";
    return;
  }
  history.log_lines = last_log_lines(tail->text, tail->starts_mid_line, k_detail_log_lines);
  if (history.log_lines.size() >= k_detail_log_lines || !tail->whole_file) {
    return;
  }
  std::string ignored;
  UniqueFd old = open_log(dir, log + ".1", ignored);
  auto old_tail = old ? read_tail(old.get(), k_tail_bytes) : std::nullopt;
  if (!old_tail) {
    return;
  }
  auto older = last_log_lines(old_tail->text, old_tail->starts_mid_line,
                              k_detail_log_lines - history.log_lines.size());
  history.log_lines.insert(history.log_lines.begin(), older.begin(), older.end());
}

} // namespace

namespace {

// The job's events at or after since (all when nullopt), oldest first: events.jsonl and, going
// back, its rotations while they may hold events that recent. With prior, the older events of
// the oldest file read are kept too.
std::vector<JobEvent> read_event_files(const JobDir& dir, std::optional<WallTime> since, bool prior)
{
  std::vector<JobEvent> all;
  for (int i = 0; i <= 9; ++i) {
    const std::string file = i == 0 ? "events.jsonl" : fmt::format("events.jsonl.{}", i);
    UniqueFd fd = open_in_job(dir, file);
    if (!fd) {
      break;
    }
    auto text = read_tail(fd.get(), k_events_file_max);
    if (!text) {
      break;
    }
    if (text->starts_mid_line) {
      size_t nl = text->text.find('\n');
      text->text.erase(0, nl == std::string::npos ? text->text.size() : nl + 1);
    }
    std::vector<JobEvent> got = parse_events(text->text, dir.name(), std::nullopt);
    const bool older_needed = !since || (!got.empty() && got.front().at >= *since);
    if (since && !prior) {
      std::erase_if(got, [&](const JobEvent& e) { return e.at < *since; });
    }
    all.insert(all.begin(), std::make_move_iterator(got.begin()),
               std::make_move_iterator(got.end()));
    if (!older_needed) {
      break;
    }
  }
  return all;
}

} // namespace

std::vector<JobEvent> read_events(const JobDir& dir, std::optional<WallTime> since)
{
  return read_event_files(dir, since, false);
}

std::vector<JobEvent> read_events_around(const JobDir& dir, WallTime since)
{
  return read_event_files(dir, since, true);
}

JobHistory read_history(const JobDir& dir, const JobView& view)
{
  JobHistory history;
  history.exits = recent_exits(dir);
  recent_output(dir, view.state ? view.state->definition.log : dir.path() + "/output.log", history);
  return history;
}

} // namespace pg
