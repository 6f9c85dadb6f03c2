// A job's recorded state (state.json) and exit records, and their JSON forms.
#pragma once

#include "clock.h"
#include "exit_status.h"
#include "json_value_writer.h"
#include "json_writer.h"
#include "parse.h"
#include "rlimits.h"

#include <nlohmann/json.hpp>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pg {

// The version of pg's JSON vocabulary (docs/pg-json.schema.json), in state.json and every JSON
// output. 2 (2026-12-06): one name per thing (definition.command the argv, definition.resolved the
// path, restart_policy, supervisor_parent {pid, command}, memory_rss_bytes; "name" in events). The
// reader still takes version 1 files.
inline constexpr int k_schema_version = 2;

enum class RunState { Starting, Running, Backoff, Stopping, Stopped, Completed, Failed, Lost };
enum class Outcome { Completed, Failed, Restarted, Stopped };
enum class RestartPolicy { OnFailure, Always, Never };

std::string to_string(RunState s);
std::string to_string(Outcome o);
std::string to_string(RestartPolicy p);
std::optional<RunState> run_state_from(std::string_view s);
std::optional<Outcome> outcome_from(std::string_view s);
std::optional<RestartPolicy> restart_policy_from(std::string_view s);

// True for the states in which a live supervisor should hold the lock.
bool is_live(RunState s);

// Everything needed to start the job again as it was (pg-ctl revive), never the ambient env.
struct JobDefinition {
  std::vector<std::string> argv; // as given; argv[0] as typed
  std::string resolved;          // argv[0] resolved to an absolute path
  std::string cwd;
  unsigned umask = 022;
  std::string path;                                     // the PATH the command was resolved against
  std::vector<std::pair<std::string, std::string>> env; // explicit --env, in order
  std::string env_file; // re-read on revive; its values are not copied here
  bool oneshot = false;
  Millis duration{0}; // 0 = indefinite
  RestartPolicy restart = RestartPolicy::OnFailure;
  std::optional<unsigned> max_restarts = 5; // nullopt = unlimited
  Millis restart_window{3'600'000};
  Millis restart_delay{1000};
  Millis restart_delay_max{60'000};
  int stop_signal = 15;
  Millis stop_timeout{10'000};
  std::string log;                          // absolute path of the output log
  uint64_t log_max_size = 10 * 1024 * 1024; // rotate past this (0 = never)
  unsigned log_keep = 3;                    // rotated files kept: LOG.1 (newest) ... LOG.N
  bool log_timestamps = false;              // prefix each output line with an ISO-8601 time
  bool notify = false;                      // --notify: the job speaks sd_notify
  Millis watchdog{0};                       // --watchdog: no WATCHDOG=1 for this long = hung
  Millis stall{0};                          // --stall: no output for this long = hung
  uint64_t max_memory = 0;                  // --max-memory: the tree's summed RSS limit, bytes
  Millis restart_every{0};                  // --restart-every: planned restart period
  std::string on_failure;                   // --on-failure: /bin/sh -c command for alerts
  Millis alert_cooldown{900'000};           // --alert-cooldown: one alert per this long
  Millis alert_timeout{60'000};             // --alert-timeout: a hook is killed after this long
  std::string jobs_file;     // pg-ctl up: the jobs file it came from (absolute); "" = by hand
  std::vector<Limit> limits; // --limit: the job's setrlimit(2) values, sorted by name
  // Kernel-enforced caps on the job's whole tree through its cgroup; 0 = none.
  uint64_t memory_cap = 0;    // --memory-cap: bytes, swap included
  uint64_t tasks_cap = 0;     // --tasks-cap: processes and threads
  unsigned cpu_quota_pct = 0; // --cpu-quota: percent of one CPU (150 = one and a half)

  bool operator==(const JobDefinition&) const = default;
};

// One run's end, exactly.
struct ExitRecord {
  pid_t pid = 0;
  std::optional<ExitStatus> status; // how the process ended; nullopt when unknown (a lost run)
  double runtime_s = 0;
  Outcome outcome = Outcome::Failed;
  std::string cause; // starts with a stable keyword: "exit", "signal", "premature", ...
  WallTime at{};
  // The run's resource use from the kernel's accounting of its reaped processes (getrusage of
  // each): peak RSS of its largest process, and CPU time summed. nullopt when unknown.
  std::optional<uint64_t> max_rss_kb;
  std::optional<double> user_cpu_s;
  std::optional<double> sys_cpu_s;

  // The JSON's "code" and "signal": the exit code, nullopt when a signal ended the process; the
  // signal, nullopt when it exited. Both nullopt when the status is unknown.
  std::optional<int> exit_code() const
  {
    return status && status->signal == 0 ? std::optional(status->code) : std::nullopt;
  }
  std::optional<int> exit_signal() const
  {
    return status && status->signal != 0 ? std::optional(status->signal) : std::nullopt;
  }

  bool operator==(const ExitRecord&) const = default;
};

// A time pg-run could not write its state directory (full, read-only, I/O error): what failed
// and what it cost. state.json keeps the last one once writing works again.
struct StorageFault {
  std::string error;             // the first failure's errno text: "No space left on device"
  WallTime since{};              // its first failed write
  std::optional<WallTime> until; // when writing worked again; nullopt while it lasts
  uint64_t events_queued = 0;    // events held in memory meanwhile, written at the recovery
  uint64_t events_dropped = 0;   // events beyond the queue's bound: lost
  uint64_t state_writes_failed = 0;

  bool operator==(const StorageFault&) const = default;
};

// The main process exited 0 while descendants lived (a start script that backgrounded a daemon):
// the oldest live descendant became the main process, as systemd's Type=forking.
struct Handover {
  pid_t from_pid = 0; // the main process that exited 0
  pid_t pid = 0;      // the one that took over
  WallTime at{};

  bool operator==(const Handover&) const = default;
};

struct SupervisorRecord {
  pid_t pid = 0;
  uint64_t start_time = 0;
  std::string boot_id;
  pid_t parent_pid = 0;
  std::string parent_command;
  std::string cgroup;
  // The inode of its /proc/self/ns/pid: a reader in another pid namespace cannot resolve its
  // pids. 0 when not recorded (state files written before 2026-12).
  uint64_t pid_namespace = 0;

  bool operator==(const SupervisorRecord&) const = default;
};

// A process of the job's tree as its supervisor saw it: (pid, start time) names it beyond pid
// reuse, so it is found after the supervisor's death even if it lost PG_RUN_ID (a program that
// rewrote its environment, or cleared it).
struct TreeProcess {
  pid_t pid = 0;
  uint64_t start_time = 0; // /proc/PID/stat field 22, as ProcessIdentity reads it

  bool operator==(const TreeProcess&) const = default;
};

struct JobState {
  std::string name;
  RunState state = RunState::Starting;
  SupervisorRecord supervisor;
  std::optional<pid_t> pid;           // the main process, or the oldest survivor once it exited 0
  std::string run_id;                 // PG_RUN_ID of the current (or last) run
  std::optional<WallTime> started_at; // the job's first start
  std::optional<WallTime> run_started_at; // the current run's start
  int64_t run_started_boot_ns = 0;        // CLOCK_BOOTTIME at the current run's start
  std::optional<WallTime> deadline_at;    // first start + duration, when a duration is set
  std::optional<WallTime> next_start_at;  // in backoff: when the next run starts
  unsigned restarts = 0;
  unsigned run = 0; // the current (or last) run's number in the job's history; 0: not recorded
  std::string status_text;
  std::optional<uint64_t> memory_rss; // --max-memory: the tree's summed RSS at the last sample
  std::optional<ExitRecord> last_exit;
  std::optional<Handover> handover; // the current (or last) run's last hand-over
  // Why the job ended (stopped, completed, failed), with its cause keyword; "" while alive.
  // It differs from last_exit's cause when the end came between runs (a stop in backoff).
  std::string end_cause;
  // Output bytes the relay could not write to the log (disk full, I/O error), and why.
  uint64_t log_dropped_bytes = 0;
  std::string log_drop_error;
  std::optional<StorageFault> storage_error; // the last storage fault, or the one going on
  // Every process of the job's tree the supervisor saw at its last look (each run's start, each
  // reap round); empty once the tree is gone. Read by leftovers() after the supervisor's death.
  std::vector<TreeProcess> tree;
  // The job's own cgroup as made (JobCgroup::recorded_paths): a directory per hierarchy, then
  // the supervisor's v2 leaf ("...@sup") when it moved into one; empty when the job has none.
  std::vector<std::string> job_cgroup;
  JobDefinition definition;
  WallTime updated_at{};
  // Failures heard until acknowledged (failures.h): failures (failed exits, stops from outside)
  // since last_ack_at, the last pg-ctl ack or launch; nullopt in states written before them.
  unsigned failures_since_ack = 0;
  std::optional<WallTime> last_ack_at;
  // Failed exits ever recorded in the job's history (lost runs included), never reset but by
  // pg-ctl forget; carried over from one supervisor to the next like the run numbers. nullopt
  // in states written before it was kept.
  std::optional<unsigned> failures;

  bool operator==(const JobState&) const = default;
};

// The one writer of state.json and of its objects, as text (json_writer.h): each object's keys
// in their byte order, nlohmann's dump(-1) of the same values byte for byte.
// W: JsonWriter (text) or JsonValueWriter (a nlohmann value), both instantiated in state.cc.
template <typename W> void write_json(W& w, const JobDefinition& d);
template <typename W> void write_json(W& w, const ExitRecord& e);
template <typename W> void write_json(W& w, const StorageFault& f);
template <typename W> void write_json(W& w, const Handover& h);
template <typename W> void write_json(W& w, const JobState& s);
// state.json's text: the state's one line of JSON and its newline, appended to out.
void append_state_line(std::string& out, const JobState& s);
// An object above as a JSON value, for the callers that embed it (an exit event) or look into it:
// written by its one write_json into the value.
template <typename T>
requires requires(JsonValueWriter& w, const T& v)
{
  write_json(w, v);
}
nlohmann::json to_json(const T& v)
{
  nlohmann::json j;
  JsonValueWriter w(j);
  write_json(w, v);
  return j;
}
// The supervisor's parent as every output names it: "supervisor_parent": {"pid", "command"}.
nlohmann::json supervisor_parent_json(const SupervisorRecord& s);

// The one reader of state.json (state_read.cc), from its text: throws std::runtime_error naming
// the damaged field ("field 'definition': field 'command' is empty"), or saying why the text is
// not JSON (JsonSyntaxError, json_reader.h), when it does not describe a valid object.
JobState parse_job_state(std::string_view text);
JobDefinition parse_definition(std::string_view text);
ExitRecord parse_exit_record(std::string_view text);
StorageFault parse_storage_fault(std::string_view text);

// The same reader for a JSON value already parsed (an events.jsonl line): the value's text
// read by the functions above, so the same checks and the same errors.
StorageFault storage_fault_from_json(const nlohmann::json& j);
JobDefinition definition_from_json(const nlohmann::json& j);
ExitRecord exit_record_from_json(const nlohmann::json& j);
JobState job_state_from_json(const nlohmann::json& j);

// One line of JSON; invalid UTF-8 becomes U+FFFD instead of throwing.
std::string dump_line(const nlohmann::json& j);

} // namespace pg
