#include "ls_detail.h"

#include "events.h"
#include "ls_format.h"
#include "ls_text.h"
#include "parse.h"
#include "proc.h"
#include "signals.h"
#include "tree_memory.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <optional>
#include <vector>

namespace pg {

namespace {

// The last storage fault state.json records: "No space left on device from ... to ...: ...".
std::string storage_history_text(const StorageFault& f)
{
  return fmt::format("{} from {} {}: {} events written late, {} lost, {} state writes failed",
                     terminal_safe(f.error), format_local(f.since),
                     f.until ? "to " + format_local(*f.until) : std::string("(still on)"),
                     f.events_queued, f.events_dropped, f.state_writes_failed);
}

// Left-aligned columns separated by two spaces, the last one not padded. The cell of column
// `painted` takes the colour of its row's entry in row_states (none for nullopt).
std::string render_columns(const std::vector<std::vector<std::string>>& rows,
                           const std::vector<std::optional<RunState>>& row_states, size_t painted,
                           bool colour, std::string_view indent)
{
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (size_t r = 0; r < rows.size(); ++r) {
    std::string line(indent);
    const auto& row = rows[r];
    for (size_t i = 0; i < row.size(); ++i) {
      const bool last = i + 1 == row.size();
      if (i == painted && r < row_states.size() && row_states[r]) {
        line += paint(row[i], *row_states[r], colour);
      } else {
        line += row[i];
      }
      if (!last) {
        line.append(widths[i] - row[i].size() + 2, ' ');
      }
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    out += line + "\n";
  }
  return out;
}

std::string restart_summary(const JobDefinition& d)
{
  std::string s = d.oneshot ? "task (--oneshot)" : "service";
  s += "; restart " + to_string(d.restart);
  if (d.restart != RestartPolicy::Never) {
    s += d.max_restarts ? fmt::format("; at most {} restarts after failures in {}", *d.max_restarts,
                                      format_duration(d.restart_window))
                        : std::string("; unlimited restarts after failures");
    s += fmt::format("; backoff {} up to {}", format_duration(d.restart_delay),
                     format_duration(d.restart_delay_max));
  }
  return s;
}

// What pg-run watches beyond the process's end: "notify; watchdog 30s; stall 5m; ...".
std::string watch_summary(const JobDefinition& d)
{
  std::vector<std::string> parts;
  if (d.notify) {
    parts.emplace_back("sd_notify (--notify)");
  }
  if (d.watchdog.count() > 0) {
    parts.push_back("watchdog " + format_duration(d.watchdog));
  }
  if (d.stall.count() > 0) {
    parts.push_back("stall " + format_duration(d.stall));
  }
  if (d.max_memory > 0) {
    parts.push_back("max memory " + format_limit(d.max_memory));
  }
  if (d.restart_every.count() > 0) {
    parts.push_back("restart every " + format_duration(d.restart_every));
  }
  std::string out;
  for (const auto& p : parts) {
    out += (out.empty() ? "" : "; ") + p;
  }
  return out;
}

void field(std::string& out, std::string_view label, std::string_view value)
{
  out += fmt::format("{:>12}: {}\n", label, value);
}

// Whether the job's processes run as root: the owner of its live process's /proc entry (its
// effective uid), else of its live supervisor's; false when neither lives.
bool runs_as_root(const ListedJob& job)
{
  const JobState& st = *job.view.state;
  std::optional<pid_t> pid = live_pid(job);
  if (!pid && job.view.supervisor_alive && !job.view.other_pid_namespace) {
    pid = st.supervisor.pid;
  }
  struct stat sb {};
  return pid && ::stat(fmt::format("/proc/{}", *pid).c_str(), &sb) == 0 && sb.st_uid == 0;
}

// "Duration" of the detail view: the length, the bar of it done, the deadline.
std::string duration_text(const ListedJob& job, const LsStyle& style)
{
  const JobState& st = *job.view.state;
  const JobDefinition& d = st.definition;
  if (d.duration.count() == 0) {
    return "indefinite (no --duration)";
  }
  std::string s = format_duration(d.duration);
  if (job.duration_done) {
    s += "  " + duration_bar(*job.duration_done);
  }
  if (st.deadline_at) {
    const bool ahead = has_live_process(job) && *st.deadline_at > style.now;
    s += fmt::format(", {} {}", ahead ? "ends" : "deadline", format_local(*st.deadline_at));
  }
  return s;
}

// What the job is: its command and the policies it runs under.
void definition_fields(std::string& out, const ListedJob& job, const LsStyle& style)
{
  const JobState& st = *job.view.state;
  const JobDefinition& d = st.definition;
  if (job.view.shown != st.state) {
    field(out, "Recorded",
          fmt::format("{} (last update {})", to_string(st.state), format_local(st.updated_at)));
  }
  field(out, "Command", terminal_safe(shell_join(d.argv)));
  field(out, "Resolved", terminal_safe(d.resolved));
  field(out, "Cwd", terminal_safe(d.cwd));
  field(out, "Policy", restart_summary(d));
  field(out, "Stop",
        fmt::format("{}, then SIGKILL after {}", signal_name(d.stop_signal),
                    format_duration(d.stop_timeout)));
  if (std::string w = watch_summary(d); !w.empty()) {
    field(out, "Watch", w);
  }
  if (!d.on_failure.empty()) {
    field(out, "On failure",
          fmt::format("{} (at most one per {}, killed after {})", terminal_safe(d.on_failure),
                      format_duration(d.alert_cooldown), format_duration(d.alert_timeout)));
  }
  if (std::string l = limits_text(d.limits, runs_as_root(job)); !l.empty()) {
    field(out, "Limits", l);
  }
  if (std::string c = caps_text(d); !c.empty()) {
    field(out, "Caps", c);
  }
  field(out, "Duration", duration_text(job, style));
}

// "Main PID": the main process, as far as it is known here.
std::string main_pid_text(const ListedJob& job, const std::string& there)
{
  const JobState& st = *job.view.state;
  if (elsewhere(job)) {
    return st.pid ? fmt::format("{}{}", *st.pid, there) : "-";
  }
  if (auto pid = live_pid(job)) {
    return st.handover && st.handover->pid == *pid
               ? fmt::format("{} (after pid {} exited 0)", *pid, st.handover->from_pid)
               : std::to_string(*pid);
  }
  if (job.view.shown == RunState::Lost && st.pid) {
    return fmt::format("{} (as last recorded; unwatched since)", *st.pid);
  }
  return "-";
}

// "Failures": how many were heard since the last acknowledgement (pg-ctl ack, or a launch),
// and when that was (failures.h).
void failures_field(std::string& out, const JobState& st, const LsStyle& style)
{
  const unsigned n = st.failures_since_ack;
  if (n == 0 && !st.last_ack_at) {
    return; // a state written before failures were counted
  }
  std::string text = n == 0 ? std::string("none") : std::to_string(n);
  if (st.last_ack_at) {
    text += fmt::format(" since the last ack, {} ({} ago)", format_local(*st.last_ack_at),
                        format_age(age(*st.last_ack_at, style.now)));
  } else {
    text += " since the first start; never acknowledged";
  }
  if (state_acknowledged(st)) {
    text += "; the state shown was acknowledged"; // pg-ls --check is quiet about it
  }
  field(out, "Failures", text);
}

// Who runs it: the supervisor and the main process, since when, how often restarted.
void process_fields(std::string& out, const ListedJob& job, const LsStyle& style)
{
  const JobView& v = job.view;
  const JobState& st = *v.state;
  const SupervisorRecord& sup = st.supervisor;
  // In another pid namespace the recorded pids are that namespace's, never pids here.
  const std::string there = v.other_pid_namespace
                                ? fmt::format(" in pid namespace {}, not a pid here",
                                              pid_namespace_name(sup.pid_namespace))
                                : "";
  field(out, "Supervisor",
        fmt::format("pid {}{}{}; parent pid {} ({}); cgroup {}", sup.pid, there,
                    v.supervisor_alive ? "" : " (gone)", sup.parent_pid,
                    sup.parent_command.empty() ? "?" : terminal_safe(sup.parent_command),
                    sup.cgroup.empty() ? "?" : terminal_safe(sup.cgroup)));
  field(out, "Main PID", main_pid_text(job, there));
  if (st.started_at) {
    field(out, "Started",
          fmt::format("{} ({} ago, first start)", format_local(*st.started_at),
                      format_age(age(*st.started_at, style.now))));
  } else {
    field(out, "Started", "-");
  }
  if (job.uptime) {
    field(out, "Uptime",
          fmt::format("{} (this run since {})", format_age(*job.uptime),
                      opt_local(st.run_started_at)));
  }
  field(out, "Restarts", std::to_string(st.restarts));
  failures_field(out, st, style);
  if (v.shown == RunState::Backoff && st.next_start_at) {
    std::string when =
        *st.next_start_at > style.now
            ? fmt::format("in {}", format_age(std::chrono::ceil<std::chrono::seconds>(
                                       *st.next_start_at - style.now)))
            : std::string("due now");
    field(out, "Next start", fmt::format("{} ({})", format_local(*st.next_start_at), when));
  }
}

// How it is doing: its STATUS= text, memory, end, storage trouble and log.
void status_fields(std::string& out, const ListedJob& job)
{
  const JobView& v = job.view;
  const JobState& st = *v.state;
  const JobDefinition& d = st.definition;
  if (!st.status_text.empty()) {
    field(out, "Status", terminal_safe(st.status_text));
  }
  const LiveUsage use = live_usage(job);
  if (use.memory_rss_bytes) {
    const char* what = use.from_cgroup ? "the cgroup's" : "the tree's RSS";
    field(out, "Memory",
          d.max_memory > 0
              ? fmt::format("{} ({}) of --max-memory {}", format_bytes(*use.memory_rss_bytes), what,
                            format_limit(d.max_memory))
              : fmt::format("{} ({})", format_bytes(*use.memory_rss_bytes), what));
  }
  if (use.tasks) {
    field(out, "Tasks",
          d.tasks_cap > 0 ? fmt::format("{} of --tasks-cap {}", *use.tasks, d.tasks_cap)
                          : std::to_string(*use.tasks));
  }
  if (!st.job_cgroup.empty()) {
    std::string paths;
    for (const std::string& p : st.job_cgroup) {
      paths += (paths.empty() ? "" : ", ") + terminal_safe(p);
    }
    field(out, "Cgroup", paths);
  }
  if (!st.end_cause.empty() && !is_live(st.state)) {
    field(out, "Ended", terminal_safe(st.end_cause));
  }
  if (!v.storage_fault.empty() && v.supervisor_alive) {
    field(out, "Storage",
          fmt::format("{} (shown is the state written {}; the job goes on, its events wait in "
                      "pg-run's memory)",
                      storage_fault_text(v.storage_fault), format_local(st.updated_at)));
  } else if (!v.storage_fault.empty()) {
    field(out, "Storage",
          fmt::format("the state directory's filesystem is {}: nothing can be recorded there "
                      "(no launch, no revive)",
                      v.storage_fault));
  }
  if (st.storage_error) {
    field(out, "Last fault", storage_history_text(*st.storage_error));
  }
  if (st.log_dropped_bytes > 0) {
    field(out, "Log",
          fmt::format("{} ({} bytes of output could not be written: {})", terminal_safe(d.log),
                      st.log_dropped_bytes, terminal_safe(st.log_drop_error)));
  } else {
    field(out, "Log", terminal_safe(d.log));
  }
}

void detail_exits(std::string& out, const std::vector<ExitRecord>& exits)
{
  if (exits.empty()) {
    out += "\nLast exits: none recorded\n";
    return;
  }
  out += "\nLast exits (newest last):\n";
  // Resource use is a column only when recorded (exits written by older versions lack it).
  const bool resources = std::any_of(exits.begin(), exits.end(), [](const ExitRecord& e) {
    return e.max_rss_kb || e.user_cpu_s || e.sys_cpu_s;
  });
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : exits) {
    rows.push_back({format_local(e.at), e.pid > 0 ? fmt::format("pid {}", e.pid) : "no pid",
                    exit_text(e), "ran " + format_runtime(e.runtime_s)});
    if (resources) {
      rows.back().push_back(resource_summary(e));
    }
    rows.back().push_back(to_string(e.outcome));
    rows.back().push_back(terminal_safe(e.cause));
  }
  out += render_columns(rows, {}, 0, false, "  ");
}

void detail_log(std::string& out, const ListedJob& job, const JobHistory& history)
{
  if (!history.log_note.empty()) {
    out += "\nLast output: " + terminal_safe(history.log_note) + "\n";
    return;
  }
  if (history.log_lines.empty()) {
    out += "\nLast output: none\n";
    return;
  }
  out += job.view.state ? "\nLast output:\n" : "\nLast output (output.log):\n";
  for (const auto& line : history.log_lines) {
    out += "  " + line + "\n";
  }
}

} // namespace

std::string limits_text(const std::vector<Limit>& limits, bool root)
{
  std::string out;
  for (const Limit& l : limits) {
    out += (out.empty() ? "" : "; ") + limit_text(l);
    if (root && l.name == "nproc") {
      out += " (not enforced for root)";
    }
  }
  return out;
}

std::string caps_text(const JobDefinition& d)
{
  std::vector<std::string> parts;
  if (d.memory_cap > 0) {
    parts.push_back(fmt::format("memory {} (swap included)", format_limit(d.memory_cap)));
  }
  if (d.tasks_cap > 0) {
    parts.push_back(fmt::format("tasks {}", d.tasks_cap));
  }
  if (d.cpu_quota_pct > 0) {
    parts.push_back(fmt::format("cpu {}% of one CPU", d.cpu_quota_pct));
  }
  std::string out;
  for (const auto& p : parts) {
    out += (out.empty() ? "" : "; ") + p;
  }
  return out;
}

std::string render_detail(const ListedJob& job, const JobHistory& history, const LsStyle& style)
{
  const JobView& v = job.view;
  std::string out = v.name + ": " + paint(shown_state(job), v.shown, style.colour);
  if (v.shown == RunState::Lost) {
    out += ": " + terminal_safe(lost_why(v)) + leftovers_note(v);
  }
  out += "\n";
  if (!v.error.empty() && v.error != lost_why(v)) {
    field(out, "Error", terminal_safe(v.error));
  }
  if (v.state) {
    definition_fields(out, job, style);
    process_fields(out, job, style);
    status_fields(out, job);
  }
  if (history.readable) {
    detail_exits(out, history.exits);
    detail_log(out, job, history);
  }
  return out;
}

} // namespace pg
