// The lifecycle of a supervised job: where it stands (a Phase), what pg-run knows of the current
// run (a Run) and of the stop in progress (a Stop), and the deadlines in force. Every transition
// of a job is one of Lifecycle's event methods (lifecycle.cc): each takes the event's facts as
// values, changes the phase and returns the Actions the supervisor then carries out (signals,
// events, the run's record). No clocks, no system calls: all of it is unit-tested
// (tests/unit/lifecycle_test.cc). s6-supervise's state x event table is the model.
//
//   Running  --stop-->  Stopping  --timeout-->  Killing
//      |  \--hung--> Aborting --main gone--> Stopping     (each: --tree gone--> end of the run)
//      \--main failed, tree left--> Stopping (cleanup)
//   end of the run --> Backoff --delay--> Restarting --> Running,  or  --> Done
#pragma once

#include "exit_status.h"
#include "policy.h"

#include <sys/types.h>

#include <array>
#include <optional>
#include <string>

namespace pg {

enum class Phase {
  Idle,     // no run yet
  Running,  // the run lives and pg-run is not ending it
  Aborting, // hung: SIGABRT went to the main process alone; the tree's stop signal follows its end
  Stopping, // the stop signal went to the tree, once; the stop timeout runs
  Killing,  // SIGKILL went to everything left of the tree
  Backoff,  // between runs, until the restart delay has passed
  Restarting, // between runs: the next run starts at the loop's next turn
  Done,       // the job is over
};

// What pg-run knows of the current run. Reset at each run's start.
struct Run {
  pid_t main = 0;           // the main process while it lives (0 once it is gone)
  pid_t pgid = 0;           // the job's process group
  bool main_exited = false; // the main process is gone: the run ends when its tree has
  ExitStatus status;        // the end that classifies the run
  pid_t status_pid = 0;     // whose end that is
  pid_t last_reaped = 0;    // the last process of the run pg-run reaped, and how it ended
  ExitStatus last_reaped_status;
  pid_t aborted = 0;          // got SIGABRT as hung; the tree's stop signal follows its end
  bool ready = false;         // --notify: READY=1 received
  bool said_stopping = false; // --notify: STOPPING=1 received
  int forwarded_signal = 0;   // the last signal forwarded on request, by whom, and when (mono)
  std::string forwarded_detail;
  Nanos forwarded_at{0};
};

// Why pg-run is ending the run, while it does.
struct Stop {
  StopKind kind = StopKind::None;
  std::string detail;
  Millis timeout{0}; // the one in force: the job's own, or pg-ctl's --timeout
  // A planned restart asked for while pg-run was ending a failed run: honoured after it.
  bool restart_after = false;
  // A stop asked for while pg-run was ending a failed or hung run: the run's end is classified
  // by what pg-run was doing, and then the job ends stopped, with this cause.
  std::string stop_after;
};

// The supervisor's deadlines, each on its clock; zero is unset.
enum class Deadline { Kill, Restart, Duration, RestartEvery, Memory, Wait, Count };
enum class Clock { Boot, Mono };

// The job is over: its final state and why.
struct Ending {
  RunState state = RunState::Failed;
  std::string why;
};

// What the supervisor does after a transition, in this order.
struct Actions {
  bool record_stop = false; // the "stop" event: {kind, by} of the request that came
  StopKind stop_kind = StopKind::None;
  std::string stop_by;
  bool alert_outside = false; // an outside signal stopped the job between runs
  bool abort_main = false;    // SIGABRT to Run::main alone (then aborted() if it was not ours)
  bool stop_signal = false;   // the stop signal to the tree: only on entering Stopping, so once
  bool kill = false;          // SIGKILL to the tree
  bool kill_timeout = false;  // ... because the stop timeout passed (the "kill" event)
  pid_t mainpid_gone = 0;     // this MAINPID= was reaped by its own parent (an event)
  bool hand_over = false;     // the main process exited 0, its tree lives: find the next main
  bool end_run = false;       // the tree is gone: classify and record the run
  std::optional<Ending> finish;
  bool publish = false;
};

class Lifecycle {
public:
  explicit Lifecycle(const JobDefinition& def) : m_def(def) {}

  Phase phase() const { return m_phase; }
  const Run& run() const { return m_run; }
  Run& run() { return m_run; }
  const Stop& stop() const { return m_stop; }
  // A run lives: its tree is pg-run's to reap.
  bool active() const;
  // What state.json says in this phase (Restarting says what it said before: prev).
  RunState published(RunState prev) const;

  Nanos& deadline(Deadline d) { return m_deadlines[static_cast<size_t>(d)]; }
  Nanos deadline(Deadline d) const { return m_deadlines[static_cast<size_t>(d)]; }
  bool due(Deadline d, Nanos now) const;
  // The earliest deadline in force on clock c (zero: none).
  Nanos next(Clock c) const;

  // The events. now: CLOCK_MONOTONIC (the stop timeout's clock), or CLOCK_BOOTTIME (boot).
  // A run started: pid 0 when its command could not be executed (exec_status tells how).
  void started(pid_t pid, int exec_status);
  // pg-ctl stop, an outside TERM/INT/QUIT, a restart (Planned), --duration, --max-memory.
  Actions stop(StopKind kind, const std::string& detail, Millis timeout, Nanos now);
  // --watchdog or --stall found the job hung (kind Watchdog or Stall).
  Actions hung(StopKind kind, const std::string& detail, Nanos now);
  // The hung main process is gone, or was never pg-run's to see end: stop the rest.
  Actions aborted();
  Actions reaped(pid_t pid, const ExitStatus& status);
  // After a round of reaping: tree_left says whether processes of the tree remain.
  Actions after_reap(bool tree_left, Nanos now);
  // MAINPID= or a hand-over: pid is the run's main process from now on.
  void set_main(pid_t pid);
  // Whether MAINPID= may move the main process now.
  bool main_may_move() const;
  Actions kill_due();
  Actions duration_due(Nanos now);
  void restart_due();
  // The run is recorded: what follows it, given decide()'s answer (which this adjusts for a
  // restart or stop asked for while pg-run ended a failed run, and for an end within --wait).
  Next after_run(const Classification& c, Next decided, bool deadline_passed, bool in_wait) const;
  Actions ended(const Next& next, const std::string& cause, Nanos now_boot);
  Actions finish(RunState state, std::string why);

private:
  bool in_force(Deadline d) const;
  Actions enter_stop(StopKind kind, const std::string& detail, Millis timeout, Nanos now);
  // A stop of any kind while one is in progress already (Aborting, Stopping, Killing).
  Actions stop_again(StopKind kind, const std::string& detail, const std::string& why,
                     Millis timeout, Nanos now);

  const JobDefinition& m_def;
  Phase m_phase = Phase::Idle;
  RunState m_final = RunState::Failed;
  Run m_run;
  Stop m_stop;
  std::array<Nanos, static_cast<size_t>(Deadline::Count)> m_deadlines{};
};

} // namespace pg
