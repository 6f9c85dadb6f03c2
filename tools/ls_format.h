// What pg-ls prints: the table, the one-job detail view, the JSON objects and the --check
// problem lines. Pure functions of values (the job, "now", colour on/off): no I/O here.
#pragma once

#include "clock.h"
#include "job_view.h"
#include "state.h"

#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pg {

// How to render: the moment "now" is, and whether to use ANSI colours.
struct LsStyle {
  WallTime now{};
  bool colour = false;
};

// One job as pg-ls lists it: its view plus the clock-derived values (given by tests).
struct ListedJob {
  JobView view;
  std::optional<std::chrono::seconds> uptime; // age of the current run, when one runs
  std::optional<double> duration_done;        // 0..1 of --duration, when one is set
};

// A view with uptime and duration_done measured on this machine's clocks now.
ListedJob listed_job(JobView view);

// What only the job's files tell, for the detail view (read by the caller, tails only).
struct JobHistory {
  std::vector<ExitRecord> exits;      // the last exits, oldest first
  std::vector<std::string> log_lines; // the last output lines, oldest first
  std::string log_note;               // why the log could not be shown, or "" when it could
  bool readable = true;               // false: the job's directory could not be opened at all
};

// How many exits and output lines the detail view shows.
inline constexpr size_t k_detail_exits = 5;
inline constexpr size_t k_detail_log_lines = 10;

// "[######----] 62%": done (0..1) as a bar of width cells.
std::string duration_bar(double done, int width = 10);

// argv joined with spaces, each word single-quoted when the shell would need it.
std::string shell_join(const std::vector<std::string>& argv);

// The exact end of one run: "exit code 3", "signal SIGSEGV (core dumped)".
std::string describe_exit(const ExitRecord& e);

// The stable keyword a cause starts with ("exit", "outside-signal", ...).
std::string cause_keyword(std::string_view cause);

// "failed: exit 3, 2m00s ago" / "stopped: SIGTERM (outside-signal), 5s ago": for tables.
std::string last_exit_summary(const ExitRecord& e, WallTime now);

// A run's length for people: "0.4s", "12.0s", "4m10s", "2h05m".
std::string format_runtime(double seconds);

// A size for a table cell, in binary units: "512B", "1.5K", "12M", "3.0G".
std::string short_bytes(uint64_t bytes);

// A run's resource use from its exit record: "rss 12M cpu 1.25s", or "-" when not recorded.
std::string resource_summary(const ExitRecord& e);

// The job table (NAME STATE PID UPTIME RESTARTS LAST EXIT DURATION, and STATUS when some job
// has sd_notify STATUS= text, cut to one short line), one row per job, with a note under it
// for every lost or unreadable job; widths fit the content.
std::string render_table(const std::vector<ListedJob>& jobs, const LsStyle& style);

// render_table() one job at a time: add() each job in order, then text(). It keeps each row's
// cells (the columns' widths need every row) and the notes, not the jobs.
class TableBuilder {
public:
  explicit TableBuilder(const LsStyle& style) : m_style(style) {}
  void add(const ListedJob& job);
  size_t rows() const { return m_states.size(); }
  std::string text() const;

private:
  static constexpr size_t k_columns = 8; // STATUS last, shown when some job has one
  void cell(std::string_view text);

  LsStyle m_style;
  std::string m_cells;        // every cell's text, one after the other
  std::vector<size_t> m_ends; // where each cell ends in m_cells, k_columns a row
  std::array<size_t, k_columns> m_widths{};
  std::vector<RunState> m_states;       // each row's state, for its colour
  bool m_any_status = false;            // some job has STATUS= text
  bool m_any_live = false;              // some job's supervisor lives
  std::string m_lost_notes;             // "NAME: lost: why" lines, in the rows' order
  std::string m_fault_notes;            // "NAME: pg-run cannot write..." lines, after those
  std::vector<std::string> m_fs_faults; // "full", "read-only": said once under the notes
};

// The systemctl-status-like view of one job.
std::string render_detail(const ListedJob& job, const JobHistory& history, const LsStyle& style);

// pg-ls --json: the array of the jobs' objects (times RFC 3339 UTC, durations in seconds, null
// when unknown; keys in a reading order, name and state first), as nlohmann's dump(2) writes
// it (invalid UTF-8 replaced), written straight without building JSON values.
std::string jobs_json_text(const std::vector<ListedJob>& jobs);
// jobs_json_text() one job at a time: appends to out the array's text for its job number
// index (0 for the first, which opens the array); append_jobs_json_end() closes the array
// after count jobs.
void append_job_json(std::string& out, const ListedJob& job, size_t index);
void append_jobs_json_end(std::string& out, size_t count);

// One job's object of that array as a JSON value (its text parsed: one writer), for callers
// that add to it (--check --json) or look into it.
nlohmann::ordered_json job_json(const ListedJob& job);

// The last_exit object of a job's: {code, signal, core_dumped, runtime_s, outcome, cause, at,
// pid, max_rss_kb, user_cpu_s, sys_cpu_s}, as a value likewise.
nlohmann::ordered_json exit_json(const ExitRecord& e);

// The --check line for a job that needs attention (failed, lost, or stopped by a signal that
// pg-ctl did not send), or nullopt when it is healthy.
std::optional<std::string> check_problem(const ListedJob& job);

// The exit records among the lines of an events.jsonl tail (oldest first, at most max, the
// newest kept). A first line cut by the tail and lines that do not parse are skipped.
std::vector<ExitRecord> exits_from_events(std::string_view tail, bool starts_mid_line, size_t max);

// The last max lines of a log tail (a first line cut by the tail is dropped), each made safe
// for a terminal: control characters escaped, a trailing \r removed, very long lines cut.
std::vector<std::string> last_log_lines(std::string_view tail, bool starts_mid_line, size_t max);

} // namespace pg
