// Pure decisions: how a run ended (outcome + cause) and what happens next (restart, after what
// delay, or the job's end). No clocks, no I/O: every input is a value, so all of it is testable.
#pragma once

#include "exit_status.h"
#include "parse.h"
#include "state.h"

#include <deque>
#include <string>

namespace pg {

// Why pg-run itself was ending the run, if it was.
enum class StopKind {
  None,      // the run ended on its own
  Requested, // pg-ctl stop (or --replace)
  Outside,   // TERM/INT/QUIT to the supervisor from another process
  Planned,   // SIGHUP, pg-ctl restart
  Duration,  // --duration passed
  Cleanup,   // the main process failed; pg-run stopped what it left behind
  Watchdog,  // --watchdog: no WATCHDOG=1 in time (the job is hung)
  Stall,     // --stall: no output in time (the job is hung)
  Memory,    // --max-memory: the tree's RSS went above the limit (a leak)
  Oom,       // --memory-cap: the kernel OOM-killed a process of the job's cgroup
};

// The keyword of a stop in events: "requested", "outside-signal", "planned", "duration",
// "cleanup", "watchdog", "stall", "memory", "oom" ("" for None).
const char* stop_kind_name(StopKind k);

struct RunEnd {
  ExitStatus status;  // the end that classifies the run
  Millis runtime{0};  // this run's age at its end
  Millis job_time{0}; // time since the job's first start
  StopKind stop = StopKind::None;
  std::string stop_detail;      // who asked: "pg-ctl stop (pid 42)", "SIGTERM from pid 7 (bash)";
                                // for a liveness kill, what was seen: "no output for 5m"
  int forwarded_signal = 0;     // the last signal forwarded on request, 0 if none
  std::string forwarded_detail; // who asked for it
  Millis forwarded_age{0};      // how long before the run's end it was forwarded
  std::string exec_error;       // non-empty when the command could not be executed
  // Non-empty when the job's cgroup recorded an OOM kill during the run (its oom_kill count
  // went up): "the kernel killed pid P (NAME) at the 64M cap". It classifies the run (oom).
  std::string oom_detail;
};

struct Classification {
  Outcome outcome = Outcome::Failed;
  std::string cause;
};

Classification classify(const RunEnd& end, const JobDefinition& def);

// Restarts after failures inside the window, and the consecutive-failure streak for backoff.
struct RestartBudget {
  std::deque<Nanos> failure_restarts; // CLOCK_BOOTTIME of each restart after a failure
  unsigned consecutive_failures = 0;
};

// A run that stayed up this long resets the backoff.
inline constexpr Millis k_stable_run{60'000};

// restart_delay doubled per consecutive failure (1 = the first), capped at restart_delay_max.
Millis backoff_delay(const JobDefinition& def, unsigned consecutive_failures);

struct Next {
  bool restart = false;
  Millis delay{0};
  RunState final_state = RunState::Failed; // when not restarting
  bool gave_up = false;
};

// What follows a classified run. Updates the budget when a failure leads to a restart.
Next decide(const Classification& c, const RunEnd& end, const JobDefinition& def,
            RestartBudget& budget, Nanos now_boot, bool deadline_passed);

// "gave-up: exit code 1; 5 restarts within 1h (--max-restarts 5)"
std::string gave_up_cause(const std::string& last_cause, const JobDefinition& def);

} // namespace pg
