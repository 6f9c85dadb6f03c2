#include "lost_run.h"

#include "proc.h"
#include "syscalls.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

namespace pg {

namespace {

constexpr off_t k_tail_bytes = 64 * 1024;

std::optional<WallTime> event_time(const nlohmann::json& ev)
{
  auto it = ev.find("at");
  if (it == ev.end() || !it->is_string()) {
    return std::nullopt;
  }
  return parse_rfc3339(it->get<std::string>());
}

} // namespace

HistoryTail read_history_tail(const JobDir& dir, const std::string& log)
{
  HistoryTail tail;
  struct stat log_st {};
  if (!log.empty() && ::stat(log.c_str(), &log_st) == 0 && S_ISREG(log_st.st_mode)) {
    tail.log_at = WallTime(std::chrono::duration_cast<WallTime::duration>(
        std::chrono::seconds(log_st.st_mtim.tv_sec) +
        std::chrono::nanoseconds(log_st.st_mtim.tv_nsec)));
  }
  UniqueFd fd(::openat(dir.fd(), "events.jsonl", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode)) {
    return tail;
  }
  const off_t from = st.st_size > k_tail_bytes ? st.st_size - k_tail_bytes : 0;
  std::string buf(static_cast<size_t>(st.st_size - from), '\0');
  const ssize_t got = ::pread(fd.get(), buf.data(), buf.size(), from);
  buf.resize(got > 0 ? static_cast<size_t>(got) : 0);
  // Whole lines only: the window's first line is cut unless the window is the whole file.
  size_t begin = 0;
  if (from > 0) {
    const size_t nl = buf.find('\n');
    begin = nl == std::string::npos ? buf.size() : nl + 1;
  }
  size_t end = buf.size();
  bool ended = false; // an exit or end seen after (below) the lines read so far
  while (end > begin) {
    size_t start = buf.rfind('\n', end - 1);
    start = start == std::string::npos || start < begin ? begin : start + 1;
    const std::string_view line(buf.data() + start, end - start);
    end = start > begin ? start - 1 : begin;
    const nlohmann::json ev = nlohmann::json::parse(line, nullptr, false);
    if (!ev.is_object()) {
      continue; // a damaged line tells nothing
    }
    if (!tail.last_at) {
      tail.last_at = event_time(ev);
    }
    const auto kind = ev.find("event");
    if (kind == ev.end() || !kind->is_string()) {
      continue;
    }
    if (*kind == "exit" || *kind == "end") {
      ended = true;
    } else if (*kind == "start") {
      const auto run = ev.find("run");
      const auto pid = ev.find("pid");
      tail.last_run = run != ev.end() && run->is_number_unsigned() &&
                              std::in_range<unsigned>(run->get<uint64_t>())
                          ? run->get<unsigned>()
                          : 0;
      tail.last_start_pid =
          pid != ev.end() && pid->is_number_integer() && std::in_range<pid_t>(pid->get<int64_t>())
              ? pid->get<pid_t>()
              : 0;
      tail.last_start_at = event_time(ev);
      tail.run_ended = ended;
      return tail;
    } else if (*kind == "launch") {
      tail.run_ended = true; // a supervisor that started no run: nothing of it to record
      return tail;
    }
  }
  tail.run_ended = ended;
  return tail;
}

unsigned last_run_number(const std::optional<JobState>& prev, const HistoryTail& tail)
{
  unsigned n = tail.last_run;
  if (prev) {
    n = std::max(n, prev->run);
    if (n == 0 && prev->run_started_at) {
      n = prev->restarts + 1; // a state.json from before "run" was recorded numbered runs so
    }
  }
  return n;
}

std::optional<ExitRecord> lost_run_exit(const JobState& prev, const HistoryTail& tail)
{
  if (!is_live(prev.state)) {
    return std::nullopt;
  }
  const bool tail_knows = tail.last_run != 0 || tail.last_start_at.has_value();
  if (tail_knows ? tail.run_ended : prev.state == RunState::Backoff) {
    return std::nullopt; // it died between runs, or after recording the run's end
  }
  // The events are written at once, state.json a moment later: a start the state does not know
  // yet is the lost run.
  const bool events_ahead = tail_knows && tail.last_run > prev.run && prev.run != 0;
  ExitRecord e;
  std::optional<WallTime> run_start = prev.run_started_at;
  if (events_ahead || !prev.pid) {
    e.pid = tail.last_start_pid;
  } else {
    e.pid = *prev.pid;
  }
  if (events_ahead || !run_start) {
    run_start = tail.last_start_at;
  }
  WallTime last_seen = prev.updated_at;
  for (const auto& t : {tail.last_at, tail.log_at}) {
    if (t && *t > last_seen) {
      last_seen = *t;
    }
  }
  if (run_start && *run_start > last_seen) {
    last_seen = *run_start;
  }
  e.outcome = Outcome::Failed;
  e.runtime_s = run_start ? std::chrono::duration<double>(last_seen - *run_start).count() : 0.0;
  e.at = last_seen;
  e.cause = fmt::format("lost: supervisor pid {} died without recording an end{}; last seen {}",
                        prev.supervisor.pid,
                        prev.supervisor.boot_id != boot_id() ? " (the machine rebooted since)" : "",
                        format_rfc3339(last_seen));
  return e;
}

} // namespace pg
