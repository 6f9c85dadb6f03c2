// Text shared by pg-ls's views (the table, the detail view, the JSON, --check): terminal-safe
// strings, state colours, and what a job's state, pids and trouble are as shown.
#pragma once

#include "clock.h"
#include "ls_job.h"

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pg {

// text in the colour of state s, when colours are on.
std::string paint(std::string_view text, RunState s, bool colour);

// A local time, or "-".
std::string opt_local(const std::optional<WallTime>& t);

// The age of t at now, never negative.
std::chrono::seconds age(WallTime t, WallTime now);

// Control characters (ESC, BEL, a bare \r...) would act on the reader's terminal: escaped.
std::string terminal_safe(std::string_view text);

// Whether a live supervisor's records about the running process can be trusted.
bool has_live_process(const ListedJob& job);

// A live job's current use: from its cgroup (state.json's job_cgroup) when it has one, else the
// --max-memory sample state.json holds. The one source of pg-ls's memory, in every view.
class CgroupAbsentFiles; // cgroup.h

struct LiveUsage {
  std::optional<uint64_t> memory_rss_bytes; // cgroup: memory.current / memory.usage_in_bytes
  std::optional<uint64_t> tasks;            // cgroup: processes and threads (pids.current)
  bool from_cgroup = false;
};
// count_tasks false: the memory alone (the table shows no task count). absent: kept over one
// listing, the cgroup files a job's siblings lacked are not tried again (CgroupAbsentFiles).
LiveUsage live_usage(const ListedJob& job, bool count_tasks = true,
                     CgroupAbsentFiles* absent = nullptr);

// A live supervisor in another pid namespace: its records hold there, its pids mean nothing
// here (pid 2 here is kthreadd, not the job's supervisor).
bool elsewhere(const ListedJob& job);

// The main process's pid as shown, when it is a pid here and the job runs.
std::optional<pid_t> live_pid(const ListedJob& job);

// What to do about a lost job's leftovers, after its reason: "" when it has none.
std::string leftovers_note(const JobView& v);

// The STATE as shown: "running", "lost (2 processes left)", "running (in another pid
// namespace)".
std::string shown_state(const ListedJob& job);

// Why a job is lost or unreadable, in one phrase.
std::string lost_why(const JobView& v);

// What a storage fault ("full", "read-only", "write-error") means, in one phrase.
std::string storage_fault_text(const std::string& kind);

} // namespace pg
