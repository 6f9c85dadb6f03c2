#include "ls_text.h"

#include "cgroup.h"
#include "leftovers.h"

#include <fmt/format.h>

#include <algorithm>

namespace pg {

namespace {

constexpr std::string_view k_reset = "\x1b[0m";

std::string_view state_colour(RunState s)
{
  switch (s) {
  case RunState::Running:
    return "\x1b[32m";
  case RunState::Failed:
  case RunState::Lost:
    return "\x1b[31m";
  case RunState::Backoff:
  case RunState::Stopping:
  case RunState::Starting:
    return "\x1b[33m";
  case RunState::Stopped:
  case RunState::Completed:
    break;
  }
  return "";
}

// "lost (2 processes left)": a lost job's processes that outlived its supervisor.
std::string state_text(const JobView& v)
{
  if (v.shown != RunState::Lost || v.leftovers.empty()) {
    return to_string(v.shown);
  }
  const size_t n = v.leftovers.size();
  return fmt::format("lost ({} process{} left)", n, n == 1 ? "" : "es");
}

} // namespace

std::string paint(std::string_view text, RunState s, bool colour)
{
  std::string_view c = state_colour(s);
  if (!colour || c.empty()) {
    return std::string(text);
  }
  return fmt::format("{}{}{}", c, text, k_reset);
}

std::string opt_local(const std::optional<WallTime>& t)
{
  return t ? format_local(*t) : std::string("-");
}

std::chrono::seconds age(WallTime t, WallTime now)
{
  return std::max(std::chrono::seconds(0), std::chrono::floor<std::chrono::seconds>(now - t));
}

std::string terminal_safe(std::string_view text)
{
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto b = static_cast<unsigned char>(ch);
    if ((b < 0x20 && b != '\t') || b == 0x7f) {
      out += fmt::format("\\x{:02x}", b);
    } else {
      out += ch;
    }
  }
  return out;
}

bool has_live_process(const ListedJob& job)
{
  const RunState s = job.view.shown;
  return s == RunState::Starting || s == RunState::Running || s == RunState::Stopping ||
         s == RunState::Backoff;
}

LiveUsage live_usage(const ListedJob& job, bool count_tasks, CgroupAbsentFiles* absent)
{
  LiveUsage u;
  if (!job.view.state || !has_live_process(job) || elsewhere(job)) {
    return u;
  }
  const JobState& st = *job.view.state;
  if (!st.job_cgroup.empty() && job.view.supervisor_alive) {
    // Read only: the name matters to what acts on a cgroup (kill, remove), not to a reading.
    const JobCgroup cg = JobCgroup::from_recorded({}, st.job_cgroup);
    u.memory_rss_bytes = cgroup_memory_current(cg, absent);
    if (count_tasks) {
      u.tasks = cgroup_task_count(cg, absent);
    }
    u.from_cgroup = u.memory_rss_bytes || u.tasks;
  }
  if (!u.memory_rss_bytes) {
    u.memory_rss_bytes = st.memory_rss;
  }
  return u;
}

bool elsewhere(const ListedJob& job)
{
  return job.view.other_pid_namespace && job.view.supervisor_alive && has_live_process(job);
}

std::optional<pid_t> live_pid(const ListedJob& job)
{
  if (!job.view.state || !has_live_process(job) || elsewhere(job)) {
    return std::nullopt;
  }
  return job.view.state->pid;
}

std::string leftovers_note(const JobView& v)
{
  if (v.shown != RunState::Lost || v.leftovers.empty()) {
    return "";
  }
  return fmt::format("; {} still live{} (pg-ctl stop ends them; pg-ctl revive --replace ends "
                     "them and starts the job again)",
                     leftover_pids_text(v.leftovers), v.leftovers.size() == 1 ? "s" : "");
}

std::string shown_state(const ListedJob& job)
{
  return state_text(job.view) + (elsewhere(job) ? " (in another pid namespace)" : "");
}

std::string lost_why(const JobView& v)
{
  if (!v.lost_reason.empty()) {
    return v.lost_reason;
  }
  if (!v.error.empty()) {
    return v.error;
  }
  return "its supervisor is gone";
}

std::string storage_fault_text(const std::string& kind)
{
  if (kind == "full" || kind == "read-only") {
    return "the state directory's filesystem is " + kind + ": recording is suspended";
  }
  return "pg-run cannot write to the job's directory: recording is suspended";
}

} // namespace pg
