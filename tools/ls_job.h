// One job as pg-ls shows it (its view and the clock-derived values), how to render it, and what
// the detail view reads of its files besides.
#pragma once

#include "clock.h"
#include "job_view.h"
#include "state.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
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
  // The table's live figures of the job's tree (measure_tree(), ls_views.h), when measured.
  std::optional<uint64_t> memory_bytes;
  std::optional<double> cpu_percent; // of one CPU
  // The task count of live_usage(), when measured with it (measure_memory(), for --json).
  std::optional<uint64_t> tasks;
  bool tasks_measured = false;
};

// A view with uptime and duration_done measured on this machine's clocks now.
inline ListedJob listed_job(JobView view)
{
  ListedJob job;
  job.uptime = view.uptime();
  job.duration_done = view.duration_done();
  job.view = std::move(view);
  return job;
}

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

} // namespace pg
