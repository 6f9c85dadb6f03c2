// The stress suite's shared helpers, on top of the e2e harness (tests/e2e/harness.h).
// Size: PG_STRESS_SCALE=full runs every test at its full size (tests/stress/run.sh --full);
// unset (or "ci") the reduced form that ctest runs in seconds; a number N runs N times the
// reduced size, capped at the full one. Each test prints its figures as lines starting with
// "STRESS " (collected by run.sh).
#pragma once

#include "harness.h"

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace pg::stress {

using e2e::Json;
using e2e::operator+;

inline const std::string k_stress_job = STRESS_JOB_BIN;

// ci in the reduced form, full with PG_STRESS_SCALE=full (or a multiple of ci, capped at full).
long scaled(long ci, long full);
bool full_size();
// Built with AddressSanitizer (its quarantine makes RSS grow by design).
bool sanitized();

// A figure for the report: printed as "STRESS test: key = value" and recorded in the XML.
void figure(const std::string& key, const std::string& value);

// What the kernel says about a process's use of descriptors and memory.
struct Usage {
  long fds = -1;    // entries in /proc/PID/fd
  long rss_kb = -1; // VmRSS
  long pss_kb = -1; // Pss of /proc/PID/smaps_rollup
};
Usage usage_of(pid_t pid);

// Every line of STATE/NAME/events.jsonl and its rotations, oldest first (events.jsonl.9 ...
// .1, then events.jsonl), one at a time. A line that does not parse, or a file that does not
// end in a newline, fails the test (and is skipped). Returns the number of lines.
long for_each_event(const std::string& job_dir, const std::function<void(const Json&)>& fn);
std::vector<Json> all_events(const std::string& job_dir);
// How many events.jsonl.N files exist.
int rotations(const std::string& job_dir);

// Zombies whose parent is ppid.
std::vector<pid_t> zombies_of(pid_t ppid);
// Live (non-zombie) processes whose environment holds KEY=VALUE.
std::vector<pid_t> with_env(const std::string& key, const std::string& value);
// KEY's value in /proc/PID/environ, or "" when absent or unreadable.
std::string env_of(pid_t pid, const std::string& key);
// True when pid's ancestry reaches ancestor.
bool descends_from(pid_t pid, pid_t ancestor);

// stress_job's journal: run number n -> PG_RUN_ID, in order.
std::vector<std::string> read_journal(const std::string& path);
// Runs in the journal, from its size (cheap to poll).
long journal_runs(const std::string& path);

// The fixture of the stress tests: the e2e fixture (temp dir, state dir, teardown that ends
// everything the test started) plus stress_job launches.
class Stress : public e2e::E2e {
protected:
  // pg-run --state-dir STATE -n NAME OPTS... stress_job JOB_ARGS...; fails (Abort) unless the
  // launch succeeds.
  e2e::Result launch_stress(const std::string& name, const e2e::Args& opts,
                            const e2e::Args& job_args);
  std::string job_dir(const std::string& name) const { return state_dir() + "/" + name; }
  // pg-ls --state-dir STATE --json NAME: the job's object (null when that fails).
  Json ls_json(const std::string& name);
};

} // namespace pg::stress
