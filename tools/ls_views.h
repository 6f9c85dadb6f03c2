// pg-ls's views of the job list: which jobs (--state), in what order (--sort), and the live
// figures of a job's process tree (the table's CPU and MEM columns).
#pragma once

#include "ls_job.h"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pg {

// --sort's keys. uptime, restarts and memory put the largest first; ties go by name.
enum class SortKey { Name, State, Uptime, Restarts, Memory };

// "name", "state", ... as --sort takes them; nullopt for any other word.
std::optional<SortKey> sort_key_from(std::string_view text);

// --color: auto is on a terminal only, and never with NO_COLOR set (non-empty) or TERM=dumb.
enum class ColorMode { Auto, Always, Never };

// The view options of pg-ls, checked.
struct ViewOptions {
  std::vector<RunState> states; // --state: only jobs in these (every job when empty)
  SortKey sort = SortKey::Name; // --sort
  std::optional<std::chrono::milliseconds> watch; // --watch: the table again every this long
  ColorMode color = ColorMode::Auto;
  bool follow = false; // --events --follow
  // --timeline: each job's bar spans the last this long
  std::optional<std::chrono::milliseconds> timeline;
};

// --state's value ("running,failed"): the states named, or the reason it is not a list of
// state names (one line, for a usage error).
struct StateFilter {
  std::vector<RunState> states; // empty: every job
  std::string error;
};
StateFilter parse_state_filter(std::string_view text);

// Whether job is one of states (any job when states is empty).
bool state_matches(const ListedJob& job, const std::vector<RunState>& states);

// jobs put in key's order (stable; Name keeps the order given, which is by name already).
void sort_jobs(std::vector<ListedJob>& jobs, SortKey key);

// %CPU as ps computes it: CPU time over elapsed time, in percent of one CPU.
double cpu_percent(double cpu_seconds, double elapsed_seconds);

class CgroupAbsentFiles; // cgroup.h

// Fills job.memory_bytes and job.cpu_percent from this machine now: for a live job whose
// supervisor lives here, the memory of live_usage() (its cgroup, the --max-memory sample) or
// else the summed RSS of the processes below its supervisor, and their CPU time (their
// reaped children's included) over the run's age. Left unset for any other job. absent: what
// the listing learnt of its cgroups' files (live_usage()).
void measure_tree(ListedJob& job, CgroupAbsentFiles* absent = nullptr);
// job.memory_bytes as measure_tree() has it (the tree is walked only when the cgroup does not
// tell the memory), and job.tasks: for --json.
void measure_memory(ListedJob& job, CgroupAbsentFiles* absent = nullptr);

} // namespace pg
