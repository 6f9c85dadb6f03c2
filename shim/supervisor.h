// The supervisor: one job, one thread, one epoll loop over a signalfd, the output pipe(s) and
// two timerfds (CLOCK_BOOTTIME for the duration and backoff, CLOCK_MONOTONIC for stop timeouts).
// Every transition publishes state.json atomically and appends to events.jsonl.
#pragma once

#include "alert.h"
#include "cgroup.h"
#include "event_clock.h"
#include "events.h"
#include "fd.h"
#include "lifecycle.h"
#include "liveness.h"
#include "notify.h"
#include "options.h"
#include "output.h"
#include "policy.h"
#include "proc.h"
#include "resources.h"
#include "spawn.h"
#include "state_dir.h"
#include "supervise_plan.h"

#include <sys/signalfd.h>

#include <deque>
#include <exception>
#include <optional>
#include <string>
#include <vector>

namespace pg {

class Supervisor {
public:
  // prior: what the job's history goes on from, read by the launcher under the lock.
  Supervisor(Options opt, PriorRuns prior, JobDir job, UniqueFd lock, UniqueFd log,
             bool foreground);
  Supervisor(const Supervisor&) = delete; // m_life refers to m_opt
  Supervisor& operator=(const Supervisor&) = delete;

  // Sets up signals and pipes and starts the first run. Returns nullopt when the job runs, or
  // the launch status (126/127) with a message when it could not be started.
  std::optional<std::pair<int, std::string>> start();
  // Supervises until the job is over; returns the last run's shell status (code or 128+N).
  int loop();
  // The loop failed (an exception out of it): records a supervisor-error event, best effort.
  void fatal(const std::string& error) noexcept;

  const JobState& state() const { return m_pub; }
  // The launch receipt: name, state, pid, supervisor_pid, log, supervisor_parent, cgroup.
  nlohmann::json receipt() const;
  // --wait: report "ok" on report once the run stayed up for wait, or "ended" with its exit
  // record if it ended first (then it is not restarted).
  void report_after_wait(UniqueFd report, Millis wait);

private:
  struct Output {
    UniqueFd read;
    UniqueFd write;
    int mirror = -1; // foreground: our own stdout or stderr
  };
  void setup();
  void build_job_env(); // the job's environment: ours less what must not leak, plus its own
  void identify();      // who we are, and what could still kill us (our parent, our cgroup)
  bool start_run(bool first);
  void on_signals();
  void on_control(const struct signalfd_siginfo& si);
  void on_timers();
  void first_run_clocks(Nanos now_boot, WallTime now_wall);
  void reap();
  // Carries out what the lifecycle decided at a transition (supervisor_run.cc).
  void apply(const Actions& a);
  void request_stop(StopKind kind, const std::string& detail, Millis timeout);
  RunEnd run_end(const std::string& exec_error, Nanos now_boot);
  void end_run(const std::string& exec_error = {});
  // After a run's exit record: gave-up, the alert, the restart event (end_run then applies the
  // end, and answers a launcher still in its --wait).
  void report_run_end(const ExitRecord& rec, const Classification& c, const RunEnd& end,
                      const Next& next);
  void forward(int sig, const std::string& detail);
  // The job is over: publishes its final state with why (a cause with its keyword).
  void finish(const Ending& e);
  // A run's exit record: state.json's last_exit, the exit event, and a failure heard (counted
  // in failures_since_ack) when it failed, unless heard is false (a lost run whose loss was
  // acknowledged already).
  void record_exit(const ExitRecord& rec, bool heard = true);
  // pg-ctl ack: every failure up to now acknowledged, with an ack event saying by whom.
  void acknowledge(const std::string& by);
  // Sends sig to the job's process group and to every other process of its tree that the
  // group did not reach: each process gets it once.
  void signal_tree(int sig);
  // The process a signal on request or a liveness kill goes to: the main process, or once it
  // exited 0, the oldest survivor (pg-ls's pid).
  pid_t main_target() const;
  // Makes pid the run's main process: its end is the run's exit record (MAINPID=, hand-over).
  void set_main(pid_t pid);
  // The main process exited 0 while descendants live: the oldest of them takes over.
  void hand_over();
  void pump(Output& out);
  void drain_outputs();
  // Records output the log could not take (event log-dropped, state log_dropped_bytes).
  void report_dropped(bool now);
  static constexpr Nanos k_dropped_every{60'000'000'000};
  Nanos m_dropped_said_mono{0};
  void rearm_timers();
  // state.json: publish() says the state changed; the write itself is flush_state(). Writes are
  // coalesced during a burst of transitions (a crash loop with no restart delay): at most one
  // every k_state_every, and within k_state_idle once the loop has nothing else to do, so
  // state.json never lags by more than k_state_every (supervisor_publish.cc). events.jsonl is
  // never deferred.
  void publish();
  // A change to write with the next transition, or by the loop within k_state_idle.
  void publish_later() { m_state_dirty = true; }
  void flush_state();
  void flush_state_if_due(bool now);
  int state_wait_ms(); // the loop's epoll timeout (-1: none) while a write is pending
  static constexpr Nanos k_state_every{50'000'000};
  static constexpr Nanos k_state_idle{5'000'000};
  bool m_state_dirty = false;
  Nanos m_state_written_mono{0};
  void event(nlohmann::json ev);
  template <typename E> void event(const E& e) { event(nlohmann::json(e)); }
  Rfc3339Cache m_event_time; // the events' "at"
  std::string sender(const struct signalfd_siginfo& si) const;
  // --on-failure: raises an alert about the run that ended (exit), or a stop between runs.
  void raise_alert(AlertKind kind, const ExitRecord* exit, const std::string& stop_by,
                   std::optional<Millis> restart_in);
  Millis job_time() const;

  Options m_opt;
  PriorRuns m_prior;
  JobDir m_job;
  UniqueFd m_lock;
  OutputLog m_log;
  bool m_foreground;
  EventLog m_events;

  UniqueFd m_sigfd;
  sigset_t m_spawn_reset{}; // the dispositions a job's child sets back to SIG_DFL
  UniqueFd m_epoll;
  UniqueFd m_boot_timer;
  UniqueFd m_mono_timer;
  std::vector<Output> m_outputs;
  std::vector<std::string> m_base_env;

  JobState m_pub; // what state.json says
  RestartBudget m_budget;

  Nanos m_run_start_boot{0};
  // --foreground / PID 1: a signal sent to pg-run's whole process group (Ctrl-C, GNU timeout)
  // can reach us twice; the same stop signal again within k_duplicate_signal counts once.
  static constexpr Nanos k_duplicate_signal{250'000'000};
  int m_last_stop_signal = 0;
  Nanos m_last_stop_signal_mono{0};
  bool duplicate_delivery(int sig);
  unsigned m_runs = 0;
  std::string m_run_family; // the prefix of every PG_RUN_ID this supervisor gives

  Nanos m_first_start_boot{0};
  Millis m_prior_job_time{0}; // a revived job's time before this supervisor
  Nanos m_armed_boot{-1};
  Nanos m_armed_mono{-1};

  UniqueFd m_report; // the launcher, while --wait runs (Deadline::Wait)
  void send_report(const std::string& line);

  int m_last_status = 0;

  // Storage faults: the job's directory cannot be written (full, read-only...); see
  // supervisor_storage.cc. The job goes on; events wait in a bounded queue and are written in
  // order once writing works again, retried on the monotonic timer and at each new event.
  struct StorageFaultState {
    bool active = false;
    bool retrying = false;
    Nanos retry_at_mono{0};
    std::deque<std::string> queue; // whole events.jsonl lines, oldest first
    size_t queue_bytes = 0;
  };
  static constexpr Nanos k_storage_retry_every{1'000'000'000};
  static constexpr size_t k_storage_queue_lines = 4096;
  static constexpr size_t k_storage_queue_bytes = 1 << 20;
  StorageFaultState m_fault;
  void record_event(std::string line); // appends, or queues while in a fault
  // A write failed (state_write: of state.json): enters the fault, or counts in it.
  // A write failed. failed_line: the event line whose append failed (it happened before the
  // fault was seen, so it is queued ahead of the storage-fault event).
  void storage_failed(const std::exception& e, bool state_write,
                      std::string* failed_line = nullptr);
  void queue_event(std::string line); // holds a line while in a fault (bounded; counts drops)
  void storage_retry();               // writes what waits; leaves the fault if all did
  void storage_final_flush();         // at exit: a last few tries, bounded

  // Resource use, --max-memory and --restart-every (supervisor_limits.cc).
  RunUsage m_usage;                // what the kernel accounted for this run's reaped processes
  void on_run_start(bool spawned); // resets the usage; arms the limits of a spawned run
  void check_limits();             // from on_timers: samples the tree, restarts when planned

  // --notify, --watchdog, --stall (supervisor_notify.cc).
  static constexpr uint64_t k_notify_tag = uint64_t(1) << 32; // epoll tag of the notify socket
  void setup_notify();
  void notify_spawn_env(SpawnRequest& req) const; // WATCHDOG_USEC, WATCHDOG_PID
  void notify_run_started();
  void on_notify();
  void apply_notify(const NotifyMessage& msg, pid_t sender);
  void notify_ignored(const NotifyDatagram& d, const std::string& why);
  // The earliest liveness check due (zero: none), and the check at a timer expiry.
  Nanos hung_check();
  void check_hung();
  // The job is hung: SIGABRT to its main process; the rest of the tree gets the stop signal
  // once that process is gone, and everything SIGKILL after the stop timeout.
  void hung_kill(StopKind kind, const std::string& detail);
  NotifySocket m_notify;
  Liveness m_watchdog;
  Liveness m_stall;
  bool m_notify_ignored = false;
  // Notify events a job could repeat at will are rate-limited.
  static constexpr Nanos k_notify_event_every{10'000'000'000};
  Nanos m_extend_said{0};
  Nanos m_mainpid_said{0};
  unsigned m_mainpid_changes = 0; // MAINPID changes since the last mainpid event

  // The job's own cgroup: caps, exact tracking, OOM kills (supervisor_cgroup.cc).
  static constexpr uint64_t k_oom_tag = uint64_t(1) << 33; // epoll tag of the OOM watch
  // Before anything else starts: makes the job's cgroup. Why the launch is refused (a cap that
  // cannot be enforced), or nullopt.
  std::optional<std::string> setup_cgroup();
  void watch_oom();                           // the OOM watch into the event loop
  std::string cgroup_join(SpawnRequest& req); // the run's join descriptors; why not, or ""
  void cgroup_run_started(pid_t main);        // the run's OOM baseline and its main's name
  void on_oom();                              // the OOM watch woke
  std::string oom_detail(const ExitStatus& status, pid_t pid); // "" unless an OOM kill
  // sig to the cgroup's members that signal_tree did not reach (reached: the pids it saw).
  void cgroup_signal(int sig, const std::vector<pid_t>& reached);
  void cgroup_run_ended(); // ends what the run left in the cgroup
  void cgroup_exit();      // the supervisor ends: the cgroup goes
  CgroupHost m_cg_host;
  JobCgroup m_cg;
  std::string m_cg_name;
  OomWatch m_oom;
  CgroupJoin m_cg_join;
  std::optional<uint64_t> m_oom_base; // the run's OOM kills at its start
  std::string m_main_comm;            // the run's main process's name, for the oom cause
  bool m_oom_said = false;            // this run's OOM event was recorded
  std::string m_oom_detail;           // and what it said: the run's oom cause

  Alerter m_alerts; // --on-failure
  Lifecycle m_life; // where the job stands: every transition is in lifecycle.cc

  // The job's tree on disk and the history it continues (supervisor_tree.cc).
  // Before the first run: the run numbering goes on from the history's last run, and a lost
  // run (the previous supervisor died without recording its end) gets its exit record.
  void adopt_history();
  void tree_run_started(pid_t main);    // state.json's tree: the new run's main process
  void tree_after_reap(bool tree_left); // after a reap round: empty when nothing is left
  void tree_refresh();                  // at a state write: a stale tree is looked up again
  unsigned m_run_base = 0;              // the history's last run number before this supervisor
  bool m_tree_stale = false;
  bool m_tree_reaped = false; // this reap round reaped a process state.json's tree names
};

} // namespace pg
