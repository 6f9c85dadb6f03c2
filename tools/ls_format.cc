#include "ls_format.h"

#include "leftovers.h"
#include "parse.h"
#include "proc.h"
#include "signals.h"
#include "tree_memory.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace pg {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

constexpr std::string_view k_reset = "\x1b[0m";
constexpr size_t k_max_line = 512; // bytes of one output line shown before it is cut

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

// text in the colour of state s, when colours are on.
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

// The age of t at now, never negative.
std::chrono::seconds age(WallTime t, WallTime now)
{
  return std::max(std::chrono::seconds(0), std::chrono::floor<std::chrono::seconds>(now - t));
}

// Control characters (ESC, BEL, a bare \r...) would act on the reader's terminal: escape them.
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

// Whether a live supervisor's records about the running process can be trusted.
bool has_live_process(const ListedJob& job)
{
  const RunState s = job.view.shown;
  return s == RunState::Starting || s == RunState::Running || s == RunState::Stopping ||
         s == RunState::Backoff;
}

// A live supervisor in another pid namespace: its records hold there, its pids mean nothing
// here (pid 2 here is kthreadd, not the job's supervisor).
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

// "lost (2 processes left)": a lost job's processes that outlived its supervisor.
std::string state_text(const JobView& v)
{
  if (v.shown != RunState::Lost || v.leftovers.empty()) {
    return to_string(v.shown);
  }
  const size_t n = v.leftovers.size();
  return fmt::format("lost ({} process{} left)", n, n == 1 ? "" : "es");
}

// What to do about a lost job's leftovers, after its reason: "" when it has none.
std::string leftovers_note(const JobView& v)
{
  if (v.shown != RunState::Lost || v.leftovers.empty()) {
    return "";
  }
  return fmt::format("; {} still live{} (pg-ctl stop ends them; pg-ctl revive --replace ends "
                     "them and starts the job again)",
                     leftover_pids_text(v.leftovers), v.leftovers.size() == 1 ? "s" : "");
}

// The STATE as shown: "running", or "running (in another pid namespace)".
std::string shown_state(const ListedJob& job)
{
  return state_text(job.view) + (elsewhere(job) ? " (in another pid namespace)" : "");
}

// The supervisor's pid namespace for --json: "pid:[N]" when it is not pg-ls's own, else null.
std::optional<std::string> json_pid_namespace(const JobView& v)
{
  if (!v.other_pid_namespace || !v.state) {
    return std::nullopt;
  }
  return pid_namespace_name(v.state->supervisor.pid_namespace);
}

// Why a job is lost or unreadable, in one phrase.
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

// What a storage fault means, in one phrase.
std::string storage_fault_text(const std::string& kind)
{
  if (kind == "full" || kind == "read-only") {
    return "the state directory's filesystem is " + kind + ": recording is suspended";
  }
  return "pg-run cannot write to the job's directory: recording is suspended";
}

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

// "exit 3", "SIGTERM", "SIGSEGV+core": the status alone, compactly.
std::string short_status(const ExitRecord& e)
{
  if (e.signal) {
    return signal_name(*e.signal) + (e.core_dumped ? "+core" : "");
  }
  if (e.code) {
    return fmt::format("exit {}", *e.code);
  }
  return "?";
}

// A job's STATUS= text for a table cell: one line, at most k_status_cell characters.
constexpr size_t k_status_cell = 40;

std::string status_cell(std::string_view text)
{
  // One line: the first one; then at most k_status_cell characters (UTF-8 sequences whole).
  size_t nl = text.find('\n');
  bool cut = nl != std::string_view::npos;
  text = text.substr(0, nl);
  size_t chars = 0;
  size_t keep = text.size();
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) {
      continue;
    }
    if (chars == k_status_cell - 1) {
      keep = i; // where a cut text ends, to leave room for the ellipsis
    }
    if (++chars > k_status_cell) {
      cut = true;
      break;
    }
  }
  if (!cut) {
    return terminal_safe(text);
  }
  return terminal_safe(text.substr(0, std::min(keep, text.size()))) + "\u2026";
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

void detail_fields(std::string& out, const ListedJob& job, const LsStyle& style)
{
  const JobView& v = job.view;
  const JobState& st = *v.state;
  const JobDefinition& d = st.definition;
  if (v.shown != st.state) {
    field(out, "Recorded",
          fmt::format("{} (last update {})", to_string(st.state), format_local(st.updated_at)));
  }
  field(out, "Command", terminal_safe(shell_join(d.argv)));
  field(out, "Resolved", terminal_safe(d.command));
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
  if (d.duration.count() == 0) {
    field(out, "Duration", "indefinite (no --duration)");
  } else {
    std::string s = format_duration(d.duration);
    if (job.duration_done) {
      s += "  " + duration_bar(*job.duration_done);
    }
    if (st.deadline_at) {
      const bool ahead = has_live_process(job) && *st.deadline_at > style.now;
      s += fmt::format(", {} {}", ahead ? "ends" : "deadline", format_local(*st.deadline_at));
    }
    field(out, "Duration", s);
  }
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
  if (elsewhere(job)) {
    field(out, "Main PID", st.pid ? fmt::format("{}{}", *st.pid, there) : "-");
  } else if (auto pid = live_pid(job)) {
    field(out, "Main PID",
          st.handover && st.handover->pid == *pid
              ? fmt::format("{} (after pid {} exited 0)", *pid, st.handover->from_pid)
              : std::to_string(*pid));
  } else if (v.shown == RunState::Lost && st.pid) {
    field(out, "Main PID", fmt::format("{} (as last recorded; unwatched since)", *st.pid));
  } else {
    field(out, "Main PID", "-");
  }
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
  if (v.shown == RunState::Backoff && st.next_start_at) {
    std::string when =
        *st.next_start_at > style.now
            ? fmt::format("in {}", format_age(std::chrono::ceil<std::chrono::seconds>(
                                       *st.next_start_at - style.now)))
            : std::string("due now");
    field(out, "Next start", fmt::format("{} ({})", format_local(*st.next_start_at), when));
  }
  if (!st.status_text.empty()) {
    field(out, "Status", terminal_safe(st.status_text));
  }
  if (st.memory_rss && has_live_process(job)) {
    field(out, "Memory",
          d.max_memory > 0 ? fmt::format("{} (the tree's RSS) of --max-memory {}",
                                         format_bytes(*st.memory_rss), format_limit(d.max_memory))
                           : fmt::format("{} (the tree's RSS)", format_bytes(*st.memory_rss)));
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
                    describe_exit(e), "ran " + format_runtime(e.runtime_s)});
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

ListedJob listed_job(JobView view)
{
  ListedJob job;
  job.uptime = view.uptime();
  job.duration_done = view.duration_done();
  job.view = std::move(view);
  return job;
}

std::string duration_bar(double done, int width)
{
  if (!std::isfinite(done)) {
    done = 0;
  }
  done = std::clamp(done, 0.0, 1.0);
  width = std::max(width, 1);
  // Floor, so a bar is full and says 100% only once the duration is really over.
  const int filled = static_cast<int>(std::floor(done * width));
  const int percent = static_cast<int>(std::floor(done * 100.0));
  return fmt::format("[{}{}] {}%", std::string(static_cast<size_t>(filled), '#'),
                     std::string(static_cast<size_t>(width - filled), '-'), percent);
}

std::string shell_join(const std::vector<std::string>& argv)
{
  std::string out;
  for (const auto& word : argv) {
    if (!out.empty()) {
      out += ' ';
    }
    const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             std::string_view("_@%+=:,./-").find(c) != std::string_view::npos;
    });
    if (plain) {
      out += word;
      continue;
    }
    out += '\'';
    for (char c : word) {
      if (c == '\'') {
        out += "'\\''";
      } else {
        out += c;
      }
    }
    out += '\'';
  }
  return out;
}

std::string describe_exit(const ExitRecord& e)
{
  if (e.signal) {
    return "signal " + signal_name(*e.signal) + (e.core_dumped ? " (core dumped)" : "");
  }
  if (e.code) {
    return fmt::format("exit code {}", *e.code);
  }
  return "unknown status";
}

std::string cause_keyword(std::string_view cause)
{
  size_t n = 0;
  while (n < cause.size() && ((cause[n] >= 'a' && cause[n] <= 'z') || cause[n] == '-')) {
    ++n;
  }
  return std::string(cause.substr(0, n));
}

std::string last_exit_summary(const ExitRecord& e, WallTime now)
{
  std::string kw = cause_keyword(e.cause);
  std::string why = kw.empty() || kw == "exit" || kw == "signal" ? "" : " (" + kw + ")";
  return fmt::format("{}: {}{}, {} ago", to_string(e.outcome), short_status(e), why,
                     format_age(age(e.at, now)));
}

std::string resource_summary(const ExitRecord& e)
{
  std::string out;
  if (e.max_rss_kb) {
    // A damaged record may say any uint64_t: the bytes saturate rather than wrap.
    const uint64_t kb = *e.max_rss_kb;
    constexpr uint64_t max_kb = std::numeric_limits<uint64_t>::max() / 1024;
    out = "rss " + short_bytes(kb > max_kb ? std::numeric_limits<uint64_t>::max() : kb * 1024);
  }
  if (e.user_cpu_s || e.sys_cpu_s) {
    const double cpu = e.user_cpu_s.value_or(0) + e.sys_cpu_s.value_or(0);
    out += fmt::format("{}cpu {:.2f}s", out.empty() ? "" : " ", cpu);
  }
  return out.empty() ? "-" : out;
}

std::string short_bytes(uint64_t bytes)
{
  constexpr std::array<const char*, 4> units{"K", "M", "G", "T"};
  if (bytes < 1024) {
    return fmt::format("{}B", bytes);
  }
  double v = static_cast<double>(bytes) / 1024.0;
  size_t u = 0;
  while (v >= 1024.0 && u + 1 < units.size()) {
    v /= 1024.0;
    ++u;
  }
  return v < 10 ? fmt::format("{:.1f}{}", v, units[u]) : fmt::format("{:.0f}{}", v, units[u]);
}

std::string format_runtime(double seconds)
{
  // Any double: a damaged state.json or events line may say 1e75 (found by fuzz_state), and
  // converting that to an integer is undefined. No run is longer than the longest duration.
  const double longest = std::chrono::duration<double>(k_max_duration).count();
  if (!std::isfinite(seconds) || seconds < 0) {
    seconds = 0;
  }
  if (seconds < 60) {
    return fmt::format("{:.1f}s", seconds);
  }
  return format_age(std::chrono::seconds(static_cast<long long>(std::min(seconds, longest))));
}

std::string render_table(const std::vector<ListedJob>& jobs, const LsStyle& style)
{
  TableBuilder table(style);
  for (const auto& job : jobs) {
    table.add(job);
  }
  return table.text();
}

void TableBuilder::cell(std::string_view text)
{
  const size_t column = m_ends.size() % k_columns;
  m_widths[column] = std::max(m_widths[column], text.size());
  m_cells += text;
  m_ends.push_back(m_cells.size());
}

void TableBuilder::add(const ListedJob& job)
{
  const JobView& v = job.view;
  const JobState* st = v.state ? &*v.state : nullptr;
  auto pid = live_pid(job);
  cell(v.name);
  cell(shown_state(job));
  cell(pid ? std::to_string(*pid) : "-");
  cell(job.uptime ? format_age(*job.uptime) : "-");
  cell(st ? std::to_string(st->restarts) : "-");
  cell(st && st->last_exit ? last_exit_summary(*st->last_exit, m_style.now) : "-");
  cell(job.duration_done ? duration_bar(*job.duration_done) : "-");
  // STATUS (the jobs' sd_notify STATUS= text) is shown only when some job has one.
  const bool status = st && !st->status_text.empty();
  m_any_status = m_any_status || status;
  cell(status ? status_cell(st->status_text) : "-");
  m_states.push_back(v.shown);
  m_any_live = m_any_live || v.supervisor_alive;
  if (v.shown == RunState::Lost) {
    m_lost_notes +=
        fmt::format("{}: lost: {}{}\n", v.name, terminal_safe(lost_why(v)), leftovers_note(v));
    return;
  }
  // A full or read-only filesystem concerns every job on it: said once, under the notes.
  const std::string& kind = v.storage_fault;
  if (kind == "write-error") {
    m_fault_notes += fmt::format("{}: {}\n", v.name, storage_fault_text(kind));
  } else if (!kind.empty() &&
             std::find(m_fs_faults.begin(), m_fs_faults.end(), kind) == m_fs_faults.end()) {
    m_fs_faults.push_back(kind);
  }
}

// Left-aligned columns separated by two spaces, the last one not padded; the STATE cells in
// their row's colour.
std::string TableBuilder::text() const
{
  static constexpr std::array<std::string_view, k_columns> header{
      "NAME", "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT", "DURATION", "STATUS"};
  const size_t columns = m_any_status ? k_columns : k_columns - 1;
  std::array<size_t, k_columns> widths{};
  for (size_t i = 0; i < columns; ++i) {
    widths[i] = std::max(m_widths[i], header[i].size());
  }
  std::string out;
  out.reserve(m_cells.size() + (m_states.size() + 1) * (columns * 2 + 1) + m_lost_notes.size() +
              m_fault_notes.size() + 256);
  auto row = [&](auto cell_at, const RunState* state) {
    const size_t start = out.size();
    for (size_t i = 0; i < columns; ++i) {
      const std::string_view text = cell_at(i);
      if (i == 1 && state != nullptr) {
        out += paint(text, *state, m_style.colour);
      } else {
        out += text;
      }
      if (i + 1 < columns) {
        out.append(widths[i] - text.size() + 2, ' ');
      }
    }
    while (out.size() > start && out.back() == ' ') {
      out.pop_back();
    }
    out += '\n';
  };
  row([&](size_t i) { return header[i]; }, nullptr);
  for (size_t r = 0; r < m_states.size(); ++r) {
    row(
        [&](size_t i) {
          const size_t n = r * k_columns + i;
          const size_t from = n == 0 ? 0 : m_ends[n - 1];
          return std::string_view(m_cells).substr(from, m_ends[n] - from);
        },
        &m_states[r]);
  }
  std::string notes = m_lost_notes + m_fault_notes;
  for (const auto& kind : m_fs_faults) {
    notes += m_any_live ? "warning: " + storage_fault_text(kind) +
                              " (the jobs go on; pg-ls shows the state last written)\n"
                        : "warning: the state directory's filesystem is " + kind +
                              ": nothing can be recorded there (no launch, no revive)\n";
  }
  if (!notes.empty()) {
    out += "\n" + notes;
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
    detail_fields(out, job, style);
  }
  if (history.readable) {
    detail_exits(out, history.exits);
    detail_log(out, job, history);
  }
  return out;
}

namespace {

// Pretty-printed JSON as nlohmann's dump(2) writes it, straight into a string: containers
// open on their line, one member or item a line, "{}" and "[]" when empty.
class JsonWriter {
public:
  explicit JsonWriter(std::string& out) : m_out(out) {}
  // Starts inside an open array that holds items_before items already (streamed arrays).
  JsonWriter(std::string& out, int items_before) : m_out(out), m_counts{items_before} {}

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  // A member's key; its value follows.
  JsonWriter& key(std::string_view k) // plain ASCII, never escaped
  {
    next();
    m_out += '"';
    m_out += k;
    m_out += "\": ";
    m_keyed = true;
    return *this;
  }
  void null() { item("null"); }
  void boolean(bool b) { item(b ? "true" : "false"); }
  template <typename T> void integer(T n)
  {
    prefix();
    fmt::format_to(std::back_inserter(m_out), "{}", n);
  }
  void real(double d)
  {
    prefix();
    m_out += ordered_json(d).dump(); // nlohmann's own shortest form ("1800.5", "1e-05")
  }
  void string(std::string_view s)
  {
    prefix();
    quoted(s);
  }
  void opt_string(const std::optional<std::string>& s) { s ? string(*s) : null(); }
  void time(const std::optional<WallTime>& t) { t ? string(format_rfc3339(*t)) : null(); }

private:
  void open(char c)
  {
    prefix();
    m_out += c;
    m_counts.push_back(0);
  }
  void close(char c)
  {
    const bool empty = m_counts.back() == 0;
    m_counts.pop_back();
    if (!empty) {
      m_out += '\n';
      m_out.append(2 * m_counts.size(), ' ');
    }
    m_out += c;
  }
  // Before a member or an array item: the separator and the indentation.
  void next()
  {
    if (m_counts.empty()) {
      return;
    }
    if (m_counts.back()++ > 0) {
      m_out += ',';
    }
    m_out += '\n';
    m_out.append(2 * m_counts.size(), ' ');
  }
  // Before a value: nothing after a key, the item's separator in an array.
  void prefix()
  {
    if (m_keyed) {
      m_keyed = false;
    } else {
      next();
    }
  }
  void item(std::string_view text)
  {
    prefix();
    m_out += text;
  }
  void quoted(std::string_view s)
  {
    const size_t mark = m_out.size();
    m_out += '"';
    size_t run = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c < 0x20 || c >= 0x80) {
        // Control characters and UTF-8 (valid or not): nlohmann's own escaping and replacement.
        m_out.resize(mark);
        m_out += ordered_json(std::string(s))
                     .dump(-1, ' ', false, ordered_json::error_handler_t::replace);
        return;
      }
      if (c == '"' || c == '\\') {
        m_out.append(s.substr(run, i - run));
        m_out += '\\';
        run = i;
      }
    }
    m_out.append(s.substr(run));
    m_out += '"';
  }

  std::string& m_out;
  std::vector<int> m_counts; // members or items written, per open container
  bool m_keyed = false;      // a key was written, its value comes next
};

template <typename T> void opt_integer(JsonWriter& w, const std::optional<T>& n)
{
  n ? w.integer(*n) : w.null();
}

void write_exit(JsonWriter& w, const ExitRecord& e)
{
  w.begin_object();
  w.key("code");
  opt_integer(w, e.code);
  w.key("signal").opt_string(e.signal ? std::optional(signal_name(*e.signal)) : std::nullopt);
  w.key("core_dumped").boolean(e.core_dumped);
  w.key("runtime_s").real(e.runtime_s);
  w.key("outcome").string(to_string(e.outcome));
  w.key("cause").string(e.cause);
  w.key("at").string(format_rfc3339(e.at));
  w.key("pid");
  opt_integer(w, e.pid > 0 ? std::optional<pid_t>(e.pid) : std::nullopt);
  w.key("max_rss_kb");
  opt_integer(w, e.max_rss_kb);
  w.key("user_cpu_s");
  e.user_cpu_s ? w.real(*e.user_cpu_s) : w.null();
  w.key("sys_cpu_s");
  e.sys_cpu_s ? w.real(*e.sys_cpu_s) : w.null();
  w.end_object();
}

// A job's --json object (end_cause, log_dropped_bytes, storage_error and pid_namespace were
// added to it after its initial keys, so they come last).
void write_job(JsonWriter& w, const ListedJob& job)
{
  const JobView& v = job.view;
  const JobState* st = v.state ? &*v.state : nullptr;
  const JobDefinition* d = st ? &st->definition : nullptr;
  w.begin_object();
  w.key("name").string(v.name);
  w.key("state").string(to_string(v.shown));
  w.key("lost_reason")
      .opt_string(v.shown == RunState::Lost ? std::optional(lost_why(v)) : std::nullopt);
  w.key("leftovers");
  v.shown == RunState::Lost ? w.integer(v.leftovers.size()) : w.null();
  w.key("error").opt_string(v.error.empty() ? std::nullopt : std::optional(v.error));
  w.key("supervisor_pid");
  opt_integer(w, st && v.supervisor_alive && !v.other_pid_namespace
                     ? std::optional<pid_t>(st->supervisor.pid)
                     : std::nullopt);
  w.key("pid");
  opt_integer(w, st ? live_pid(job) : std::nullopt);
  w.key("command");
  if (d) {
    w.begin_array();
    for (const auto& a : d->argv) {
      w.string(a);
    }
    w.end_array();
  } else {
    w.null();
  }
  w.key("resolved_command").opt_string(d ? std::optional(d->command) : std::nullopt);
  w.key("cwd").opt_string(d ? std::optional(d->cwd) : std::nullopt);
  w.key("started_at").time(st ? st->started_at : std::nullopt);
  w.key("run_started_at").time(st && job.uptime ? st->run_started_at : std::nullopt);
  w.key("uptime_s");
  job.uptime ? w.integer(job.uptime->count()) : w.null();
  w.key("duration_s");
  d ? w.real(static_cast<double>(d->duration.count()) / 1000.0) : w.null();
  w.key("duration_done");
  job.duration_done ? w.real(*job.duration_done) : w.null();
  w.key("deadline_at").time(st ? st->deadline_at : std::nullopt);
  w.key("next_start_at")
      .time(st && v.shown == RunState::Backoff ? st->next_start_at : std::nullopt);
  w.key("restarts");
  st ? w.integer(st->restarts) : w.null();
  w.key("restart_policy").opt_string(d ? std::optional(to_string(d->restart)) : std::nullopt);
  w.key("max_restarts");
  if (!d) {
    w.null();
  } else if (d->max_restarts) {
    w.integer(*d->max_restarts);
  } else {
    w.string("unlimited");
  }
  w.key("oneshot");
  d ? w.boolean(d->oneshot) : w.null();
  w.key("status_text").opt_string(st ? std::optional(st->status_text) : std::nullopt);
  w.key("log").opt_string(d ? std::optional(d->log) : std::nullopt);
  w.key("last_exit");
  if (st && st->last_exit) {
    write_exit(w, *st->last_exit);
  } else {
    w.null();
  }
  w.key("supervisor");
  if (st) {
    w.begin_object();
    w.key("pid").integer(st->supervisor.pid);
    w.key("alive").boolean(v.supervisor_alive);
    w.key("parent_pid").integer(st->supervisor.parent_pid);
    w.key("parent_command").string(st->supervisor.parent_command);
    w.key("cgroup").string(st->supervisor.cgroup);
    w.end_object();
  } else {
    w.null();
  }
  w.key("updated_at").time(st ? std::optional(st->updated_at) : std::nullopt);
  const std::string& fault = job.view.storage_fault;
  w.key("storage_fault").opt_string(fault.empty() ? std::nullopt : std::optional(fault));
  if (st) {
    w.key("end_cause")
        .opt_string(st->end_cause.empty() ? std::nullopt : std::optional(st->end_cause));
    w.key("log_dropped_bytes").integer(st->log_dropped_bytes);
    w.key("storage_error");
    if (st->storage_error) {
      const StorageFault& f = *st->storage_error;
      w.begin_object();
      w.key("error").string(f.error);
      w.key("since").time(f.since);
      w.key("until").time(f.until);
      w.key("events_queued").integer(f.events_queued);
      w.key("events_dropped").integer(f.events_dropped);
      w.key("state_writes_failed").integer(f.state_writes_failed);
      w.end_object();
    } else {
      w.null();
    }
    w.key("pid_namespace").opt_string(json_pid_namespace(v));
  }
  w.end_object();
}

} // namespace

void append_job_json(std::string& out, const ListedJob& job, size_t index)
{
  if (index == 0) {
    out += '[';
  }
  JsonWriter w(out, index == 0 ? 0 : 1);
  write_job(w, job);
}

void append_jobs_json_end(std::string& out, size_t count)
{
  out += count == 0 ? "[]" : "\n]";
}

std::string jobs_json_text(const std::vector<ListedJob>& jobs)
{
  std::string out;
  out.reserve(jobs.size() * 1536 + 2);
  for (size_t i = 0; i < jobs.size(); ++i) {
    append_job_json(out, jobs[i], i);
  }
  append_jobs_json_end(out, jobs.size());
  return out;
}

ordered_json job_json(const ListedJob& job)
{
  std::string text;
  JsonWriter w(text);
  write_job(w, job);
  return ordered_json::parse(text);
}

ordered_json exit_json(const ExitRecord& e)
{
  std::string text;
  JsonWriter w(text);
  write_exit(w, e);
  return ordered_json::parse(text);
}

std::optional<std::string> check_problem(const ListedJob& job)
{
  const JobView& v = job.view;
  if (v.shown == RunState::Lost) {
    return fmt::format("{}: lost: {}{}", v.name, terminal_safe(lost_why(v)), leftovers_note(v));
  }
  if (!v.state) {
    return std::nullopt;
  }
  const std::optional<ExitRecord>& last = v.state->last_exit;
  if (v.shown == RunState::Failed) {
    if (!last) {
      return fmt::format("{}: failed (no exit recorded)", v.name);
    }
    return fmt::format("{}: failed: {} at {}; {}", v.name, describe_exit(*last),
                       format_rfc3339(last->at), terminal_safe(last->cause));
  }
  // A stop nobody asked pg-ctl for: a shutdown, a session cleanup, an agent's kill.
  // The job's end cause says who stopped it, also when the stop came between runs.
  if (v.shown == RunState::Stopped && cause_keyword(v.state->end_cause) == "outside-signal") {
    return fmt::format("{}: stopped by an outside signal: {}", v.name,
                       terminal_safe(v.state->end_cause));
  }
  if (!v.storage_fault.empty() && v.supervisor_alive) {
    return fmt::format("{}: {}", v.name, storage_fault_text(v.storage_fault));
  }
  return std::nullopt;
}

std::vector<ExitRecord> exits_from_events(std::string_view tail, bool starts_mid_line, size_t max)
{
  std::vector<ExitRecord> out;
  size_t pos = 0;
  if (starts_mid_line) {
    pos = tail.find('\n');
    pos = pos == std::string_view::npos ? tail.size() : pos + 1;
  }
  while (pos < tail.size()) {
    size_t end = tail.find('\n', pos);
    if (end == std::string_view::npos) {
      end = tail.size(); // a line being written: it parses only once complete
    }
    std::string_view line = tail.substr(pos, end - pos);
    pos = end + 1;
    // Cheap filter first: most lines of a busy history are not exits.
    if (line.find("\"exit\"") == std::string_view::npos) {
      continue;
    }
    json j = json::parse(line, nullptr, false);
    if (!j.is_object() || j.value("event", json()) != "exit") {
      continue;
    }
    try {
      out.push_back(exit_record_from_json(j));
    } catch (const std::exception&) {
      continue; // a damaged line says nothing reliable
    }
  }
  if (out.size() > max) {
    out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(max));
  }
  return out;
}

std::vector<std::string> last_log_lines(std::string_view tail, bool starts_mid_line, size_t max)
{
  if (starts_mid_line) {
    // The first line is cut; with no newline at all the tail is the end of one long line
    // (a progress bar redrawn with \r, say), which is still worth showing.
    size_t nl = tail.find('\n');
    if (nl != std::string_view::npos) {
      tail = tail.substr(nl + 1);
    }
  }
  if (!tail.empty() && tail.back() == '\n') {
    tail.remove_suffix(1);
  }
  std::vector<std::string_view> lines;
  if (!tail.empty()) {
    size_t pos = 0;
    for (;;) {
      size_t nl = tail.find('\n', pos);
      lines.push_back(tail.substr(pos, nl == std::string_view::npos ? nl : nl - pos));
      if (nl == std::string_view::npos) {
        break;
      }
      pos = nl + 1;
    }
  }
  if (lines.size() > max) {
    lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(max));
  }
  std::vector<std::string> out;
  for (std::string_view line : lines) {
    while (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    // A terminal shows only what follows the last carriage return.
    if (size_t cr = line.rfind('\r'); cr != std::string_view::npos) {
      line.remove_prefix(cr + 1);
    }
    std::string cut;
    if (line.size() > k_max_line) {
      size_t keep = k_max_line;
      // Cut before a UTF-8 sequence, not inside it.
      while (keep > 0 && (static_cast<unsigned char>(line[keep]) & 0xC0) == 0x80) {
        --keep;
      }
      cut = fmt::format(" [... {} more bytes]", line.size() - keep);
      line = line.substr(0, keep);
    }
    out.push_back(terminal_safe(line) + cut);
  }
  return out;
}

} // namespace pg
