#include "policy.h"

#include "signals.h"

#include <csignal>

namespace pg {

namespace {

std::string status_detail(const ExitStatus& s)
{
  return s.describe();
}

// A signal that asks a process to end: a run that exits soon after one was answering it.
bool terminating_request(int sig, const JobDefinition& def)
{
  return sig == def.stop_signal || sig == SIGTERM || sig == SIGINT || sig == SIGQUIT ||
         sig == SIGHUP;
}

Classification with_forwarded(Classification c, const RunEnd& end, const JobDefinition& def)
{
  // A run that exited after a forwarded request to end: say what it was answering (a SIGTERM
  // handler that exits 0 is the seeds' story). A signal the job handled and lived on (USR1 to
  // reopen logs, HUP to reload) is no part of a later end's story, nor is a request to end that
  // the job outlived by more than its stop timeout.
  if (end.forwarded_signal != 0 && end.status.signal == 0 &&
      terminating_request(end.forwarded_signal, def) && end.forwarded_age <= def.stop_timeout) {
    c.cause += " (after " + signal_name(end.forwarded_signal) + " forwarded on request of " +
               end.forwarded_detail + ")";
  }
  return c;
}

Classification natural_end(const RunEnd& end, const JobDefinition& def)
{
  const ExitStatus& s = end.status;
  if (s.signal != 0) {
    std::string cause =
        "signal: " + signal_name(s.signal) + (s.core_dumped ? " (core dumped)" : "");
    if (end.forwarded_signal == s.signal) {
      cause += ", forwarded on request of " + end.forwarded_detail;
    }
    return {Outcome::Failed, cause};
  }
  if (s.code != 0) {
    return {Outcome::Failed, "exit: code " + std::to_string(s.code)};
  }
  if (def.oneshot) {
    return {Outcome::Completed, "exit: code 0"};
  }
  if (def.duration.count() == 0) {
    return {Outcome::Failed, "premature: exit 0 of a service after " +
                                 format_duration(end.runtime) +
                                 " (no --duration set; use --oneshot for a task meant to finish)"};
  }
  // 80% of the planned duration, counted on the job's time since its first start.
  if (end.job_time.count() * 5 >= def.duration.count() * 4) {
    return {Outcome::Completed, "exit: code 0 after " + format_duration(end.job_time) +
                                    " of planned " + format_duration(def.duration)};
  }
  return {Outcome::Failed, "premature: exit 0 after " + format_duration(end.job_time) +
                               " of planned " + format_duration(def.duration) +
                               " (80% needed to count as completed)"};
}

} // namespace

const char* stop_kind_name(StopKind k)
{
  switch (k) {
  case StopKind::None:
    return "";
  case StopKind::Requested:
    return "requested";
  case StopKind::Outside:
    return "outside-signal";
  case StopKind::Planned:
    return "planned";
  case StopKind::Duration:
    return "duration";
  case StopKind::Cleanup:
    return "cleanup";
  case StopKind::Watchdog:
    return "watchdog";
  case StopKind::Stall:
    return "stall";
  case StopKind::Memory:
    return "memory";
  case StopKind::Oom:
    return "oom";
  }
  return "";
}

Classification classify(const RunEnd& end, const JobDefinition& def)
{
  if (!end.exec_error.empty()) {
    return {Outcome::Failed, "exec: " + end.exec_error};
  }
  const std::string st = status_detail(end.status);
  // The cgroup's own OOM record, never a guess from SIGKILL; a stop asked for from outside
  // keeps its story (the OOM kill is then in the events).
  if (!end.oom_detail.empty() && end.stop != StopKind::Requested && end.stop != StopKind::Outside &&
      end.stop != StopKind::Planned) {
    return {Outcome::Failed, "oom: " + end.oom_detail + "; " + st};
  }
  switch (end.stop) {
  case StopKind::Requested:
    return {Outcome::Stopped, "requested: " + end.stop_detail + "; " + st};
  case StopKind::Outside:
    return {Outcome::Stopped, "outside-signal: " + end.stop_detail + "; " + st};
  case StopKind::Planned:
    return {Outcome::Restarted, "planned: " + end.stop_detail + "; " + st};
  case StopKind::Duration:
    return {def.oneshot ? Outcome::Failed : Outcome::Completed,
            "timeout: planned duration " + format_duration(def.duration) +
                " reached, stopped by pg-run; " + st};
  case StopKind::Watchdog:
    return {Outcome::Failed, "watchdog: " + end.stop_detail + "; " + st};
  case StopKind::Stall:
    return {Outcome::Failed, "stall: " + end.stop_detail + "; " + st};
  case StopKind::Memory:
    return {Outcome::Failed, "memory: " + end.stop_detail + "; " + st};
  case StopKind::Oom:
    return {Outcome::Failed, "oom: " + end.stop_detail + "; " + st};
  case StopKind::Cleanup:
  case StopKind::None:
    break;
  }
  return with_forwarded(natural_end(end, def), end, def);
}

Millis backoff_delay(const JobDefinition& def, unsigned consecutive_failures)
{
  Millis d = def.restart_delay;
  for (unsigned i = 1; i < consecutive_failures && d < def.restart_delay_max; ++i) {
    d *= 2;
  }
  return std::min(d, def.restart_delay_max);
}

Next decide(const Classification& c, const RunEnd& end, const JobDefinition& def,
            RestartBudget& budget, Nanos now_boot, bool deadline_passed)
{
  Next next;
  if (end.runtime >= k_stable_run) {
    budget.consecutive_failures = 0; // any run that stayed up resets the backoff
  }
  if (c.outcome == Outcome::Stopped) {
    next.final_state = RunState::Stopped;
    return next;
  }
  if (deadline_passed) {
    // The planned duration is over: the job ends whatever --restart says.
    next.final_state =
        def.oneshot && c.outcome != Outcome::Completed ? RunState::Failed : RunState::Completed;
    return next;
  }
  if (c.outcome == Outcome::Restarted) {
    next.restart = true;
    return next;
  }
  if (c.outcome == Outcome::Completed) {
    budget.consecutive_failures = 0;
    if (def.restart == RestartPolicy::Always) {
      next.restart = true;
      next.delay = def.restart_delay;
      return next;
    }
    next.final_state = RunState::Completed;
    return next;
  }
  // Failed.
  if (def.restart == RestartPolicy::Never) {
    next.final_state = RunState::Failed;
    return next;
  }
  while (!budget.failure_restarts.empty() &&
         now_boot - budget.failure_restarts.front() >= def.restart_window) {
    budget.failure_restarts.pop_front();
  }
  if (def.max_restarts && budget.failure_restarts.size() >= *def.max_restarts) {
    next.final_state = RunState::Failed;
    next.gave_up = true;
    return next;
  }
  if (def.max_restarts) {
    // Only a limit reads them: with no limit a crash loop would keep one per restart for a
    // whole --restart-window (millions within the default hour).
    budget.failure_restarts.push_back(now_boot);
  }
  ++budget.consecutive_failures;
  next.restart = true;
  next.delay = backoff_delay(def, budget.consecutive_failures);
  return next;
}

std::string gave_up_cause(const std::string& last_cause, const JobDefinition& def)
{
  unsigned n = def.max_restarts.value_or(0);
  return "gave-up: " + last_cause + "; " + std::to_string(n) + " restart" + (n == 1 ? "" : "s") +
         " within " + format_duration(def.restart_window) + " already spent (--max-restarts " +
         std::to_string(n) + ")";
}

} // namespace pg
