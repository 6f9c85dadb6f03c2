// pg-ctl's verbs (stop, restart, signal) as functions of values: each returns one result per
// named job, and main only prints them. Every request goes through open_supervisor(), so the
// supervisor's identity (boot id, pid, start time) is checked before anything is signalled.
// logs streams a job's output log (its tail, then what is appended) to a descriptor.
#pragma once

#include "control.h"
#include "failure.h"
#include "fd.h"
#include "state.h"
#include "state_dir.h"

#include <nlohmann/json.hpp>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pg {

inline constexpr int k_ctl_exit_ok = 0;        // done for every named job
inline constexpr int k_ctl_exit_failed = 1;    // a job was not running, unknown, failed, timed out
inline constexpr int k_ctl_exit_usage = 2;     // bad command line
inline constexpr int k_ctl_exit_state_dir = 4; // the state directory cannot be read

// Extra time granted past a stop timeout for the supervisor to reap the tree and exit.
inline constexpr Millis k_ctl_margin{5000};
// The longest --timeout pg-ctl sends: a request's value holds 28 bits of milliseconds + 1 (74.5h).
inline constexpr Millis k_max_stop_timeout{74LL * 3600 * 1000};

// What pg-ctl did to one job.
struct CtlResult {
  std::string name;
  std::string action;            // "stop", "restart", "signal", "ack", ...
  bool ok = false;               // done as asked
  bool unreadable = false;       // the job's directory could not be read (exit 4)
  std::string message;           // "stopped (signal SIGTERM after 12.3s)", "not running (...)"
  std::optional<RunState> state; // the job's state after the action, when known
  std::optional<pid_t> pid;      // the job's main process after the action
  std::optional<ExitRecord> last_exit;  // the job's last exit after a stop
  std::optional<unsigned> acknowledged; // ack: how many failures it acknowledged
};

// Where the jobs are: the resolved state directory, opened when it exists.
struct JobsAt {
  std::string path;
  std::optional<StateDir> dir; // nullopt when the directory does not exist: no job does
};

// Opens the state directory at path for reading; throws StateDirError when it exists but is
// unsafe or unreadable (exit 4).
JobsAt open_jobs(const std::string& path);

// Stops each job gracefully (SIGKILL after timeout, or after each job's own --stop-timeout),
// sending every request first, then waiting for every supervisor to exit.
std::vector<CtlResult> stop_jobs(const JobsAt& jobs, const std::vector<std::string>& names,
                                 std::optional<Millis> timeout);

// Asks each job for a planned restart, then waits until each runs again as a new run.
std::vector<CtlResult> restart_jobs(const JobsAt& jobs, const std::vector<std::string>& names);

// Asks the job's supervisor to forward sig to the job's main process.
CtlResult signal_job(const JobsAt& jobs, const std::string& name, int sig);

// The value of a Stop request: 0 for the job's own stop timeout, else the timeout in ms + 1;
// nullopt when the timeout is longer than k_max_stop_timeout.
std::optional<uint32_t> stop_request_arg(std::optional<Millis> timeout);

// "signal SIGTERM after 12.3s", "exit code 0 after 2m05s": how a run ended, briefly.
std::string describe_end(const ExitRecord& e);

// What a stop came to, once the supervisor exited.
struct StopOutcome {
  bool ok = false; // the job ended (its final state is not a live one)
  std::string message;
};

// The outcome of a stop from the job's final state; outlived is the stop timeout when the wait
// lasted at least that long, so a SIGKILL end is said to be the timeout's.
StopOutcome stopped_message(const JobState& final_state, std::optional<Millis> outlived);

// One result as the JSON object of --json.
nlohmann::json to_json(const CtlResult& r);

// 4 when a job directory could not be read, else 1 when any job failed, else 0.
int ctl_exit_status(const std::vector<CtlResult>& results);

// The names in order, each once.
std::vector<std::string> unique_names(const std::vector<std::string>& names);

// A job reached through its verified supervisor, or the result saying why it could not be.
struct Target {
  CtlResult result;
  std::optional<JobDir> dir;
  JobState state; // as recorded when reached
  UniqueFd pidfd; // valid when reached
};

// Finds the job and opens a pidfd for its supervisor once its identity (boot id, pid, start
// time) is checked. A job whose lock and state disagree is given a moment to agree.
Target reach(const JobsAt& jobs, const std::string& name, const char* action);

// Sends r to the reached supervisor; on failure, fills t.result (the job ended meanwhile, or
// the signal could not be sent) and returns false.
bool send(Target& t, const Request& r);

} // namespace pg
