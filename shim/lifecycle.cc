#include "lifecycle.h"

namespace pg {

namespace {

bool is_request(StopKind k)
{
  return k == StopKind::Requested || k == StopKind::Outside;
}

// pg-run is ending a run that failed (its main process) or hung, or leaked memory.
bool is_failing(StopKind k)
{
  return k == StopKind::Cleanup || k == StopKind::Watchdog || k == StopKind::Stall ||
         k == StopKind::Memory || k == StopKind::Oom;
}

Ending duration_between_runs(const JobDefinition& def)
{
  return {def.oneshot ? RunState::Failed : RunState::Completed,
          "timeout: planned duration " + format_duration(def.duration) + " reached between runs"};
}

Clock clock_of(Deadline d)
{
  // Durations of the job's life are on CLOCK_BOOTTIME (a suspend counts); timeouts of
  // pg-run's own patience on CLOCK_MONOTONIC (a suspend is no time the job had).
  return d == Deadline::Restart || d == Deadline::Duration || d == Deadline::RestartEvery
             ? Clock::Boot
             : Clock::Mono;
}

} // namespace

bool Lifecycle::active() const
{
  return m_phase == Phase::Running || m_phase == Phase::Aborting || m_phase == Phase::Stopping ||
         m_phase == Phase::Killing;
}

RunState Lifecycle::published(RunState prev) const
{
  switch (m_phase) {
  case Phase::Running:
    if (m_run.said_stopping) {
      return RunState::Stopping; // the run's classification stays that of its end
    }
    return m_def.notify && !m_run.ready ? RunState::Starting : RunState::Running;
  case Phase::Aborting:
  case Phase::Stopping:
  case Phase::Killing:
    return RunState::Stopping;
  case Phase::Backoff:
    return RunState::Backoff;
  case Phase::Done:
    return m_final;
  case Phase::Idle:
  case Phase::Restarting:
    break;
  }
  return prev;
}

bool Lifecycle::in_force(Deadline d) const
{
  return d == Deadline::Restart        ? m_phase == Phase::Backoff
         : d == Deadline::Duration     ? m_phase != Phase::Done && m_stop.kind != StopKind::Duration
         : d == Deadline::RestartEvery ? m_phase == Phase::Running
         : d == Deadline::Memory       ? active()
                                       : true; // Kill and Wait: set only while they apply
}

bool Lifecycle::due(Deadline d, Nanos now) const
{
  const Nanos at = deadline(d);
  return at.count() > 0 && now >= at && in_force(d);
}

Nanos Lifecycle::next(Clock c) const
{
  Nanos best{0};
  for (size_t i = 0; i < m_deadlines.size(); ++i) {
    const auto d = static_cast<Deadline>(i);
    const Nanos at = m_deadlines[i];
    if (clock_of(d) == c && at.count() > 0 && in_force(d) && (best.count() == 0 || at < best)) {
      best = at;
    }
  }
  return best;
}

void Lifecycle::started(pid_t pid, int exec_status)
{
  m_phase = Phase::Running;
  m_stop = Stop{};
  m_run = Run{};
  deadline(Deadline::Restart) = Nanos(0);
  if (pid > 0) {
    m_run.main = pid;
    m_run.pgid = pid;
    m_run.status_pid = pid;
  } else {
    m_run.main_exited = true; // nothing ran: the run is over at once
    m_run.status = ExitStatus::exited(exec_status);
  }
}

Actions Lifecycle::enter_stop(StopKind kind, const std::string& detail, Millis timeout, Nanos now)
{
  m_stop.kind = kind;
  m_stop.detail = detail;
  m_stop.timeout = timeout;
  m_phase = Phase::Stopping;
  deadline(Deadline::Kill) = now + timeout;
  Actions a;
  a.stop_signal = true;
  a.publish = true;
  return a;
}

Actions Lifecycle::stop(StopKind kind, const std::string& detail, Millis timeout, Nanos now)
{
  Actions a;
  a.stop_kind = kind;
  a.stop_by = detail;
  const std::string why =
      (kind == StopKind::Requested ? "requested: " : "outside-signal: ") + detail;
  switch (m_phase) {
  case Phase::Idle:
  case Phase::Done:
    return {};
  case Phase::Backoff:
  case Phase::Restarting:
    // Between runs: the stop takes effect at once.
    a.record_stop = true;
    if (kind == StopKind::Planned) {
      m_phase = Phase::Restarting;
      return a;
    }
    if (kind == StopKind::Duration) {
      const Ending e = duration_between_runs(m_def);
      a.finish = finish(e.state, e.why).finish;
      return a;
    }
    a.alert_outside = kind == StopKind::Outside;
    a.finish = finish(RunState::Stopped, why + " (between runs)").finish;
    return a;
  case Phase::Running: {
    Actions s = enter_stop(kind, detail, timeout, now);
    s.record_stop = true;
    s.stop_kind = kind;
    s.stop_by = detail;
    return s;
  }
  case Phase::Aborting:
  case Phase::Stopping:
  case Phase::Killing:
    break;
  }
  return stop_again(kind, detail, why, timeout, now);
}

Actions Lifecycle::stop_again(StopKind kind, const std::string& detail, const std::string& why,
                              Millis timeout, Nanos now)
{
  Actions a;
  a.stop_kind = kind;
  a.stop_by = detail;
  const StopKind cur = m_stop.kind;
  const bool was_request = is_request(cur) || !m_stop.stop_after.empty();
  if (is_request(kind) && was_request) {
    // A second stop request: no more patience.
    a.record_stop = true;
    a.kill = true;
    m_phase = Phase::Killing;
    deadline(Deadline::Kill) = Nanos(0);
    return a;
  }
  if (is_request(kind)) {
    a.record_stop = true;
    if (is_failing(cur)) {
      // pg-run was ending a failed or hung run: that stays the run's story, and the job then
      // ends stopped. A hung main got SIGABRT alone: the rest of the tree is stopped now.
      m_stop.stop_after = why;
      if (m_phase == Phase::Aborting) {
        m_phase = Phase::Stopping;
        a.stop_signal = true;
      }
    } else {
      // A stop takes over a planned restart or a duration end.
      m_stop.kind = kind;
      m_stop.detail = detail;
    }
    // The request's timeout, when it is the shorter one.
    Nanos& kill_at = deadline(Deadline::Kill);
    if (m_phase != Phase::Killing && now + timeout < kill_at) {
      kill_at = now + timeout;
      m_stop.timeout = timeout;
    }
    a.publish = true;
    return a;
  }
  if (kind == StopKind::Planned && is_failing(cur) && m_stop.stop_after.empty()) {
    a.record_stop = true;
    m_stop.restart_after = true; // honoured once the failed run is over
  }
  // Anything else (a duration end or a liveness kill during another stop) changes nothing.
  return a;
}

Actions Lifecycle::hung(StopKind kind, const std::string& detail, Nanos now)
{
  if (m_phase != Phase::Running) {
    return {};
  }
  Actions a = enter_stop(kind, detail, m_def.stop_timeout, now);
  // SIGABRT first and alone, so it can dump core or print where it hangs (the stop signal
  // would race it); the rest of the tree is stopped once it is gone.
  m_phase = Phase::Aborting;
  a.stop_signal = false;
  a.abort_main = true;
  return a;
}

Actions Lifecycle::aborted()
{
  m_run.aborted = 0;
  Actions a;
  if (m_phase == Phase::Aborting) {
    m_phase = Phase::Stopping;
    a.stop_signal = true;
  }
  return a;
}

Actions Lifecycle::reaped(pid_t pid, const ExitStatus& status)
{
  Actions a;
  if (pid == m_run.aborted && pid != 0) {
    a = aborted();
  }
  if (!active()) {
    return a;
  }
  m_run.last_reaped = pid;
  m_run.last_reaped_status = status;
  if (pid == m_run.main) {
    m_run.main = 0;
    m_run.main_exited = true;
    m_run.status = status;
    m_run.status_pid = pid;
  } else if (m_run.main_exited && m_run.status.success() && m_run.status_pid != 0 &&
             m_phase == Phase::Running) {
    // The main process exited 0 and, before it could hand over, a descendant ended too (a
    // daemon that failed at once): that end classifies the run. Never during a stop: then the
    // main process's own end is the record, whatever the stop did to the rest.
    m_run.status = status;
    m_run.status_pid = pid;
  }
  return a;
}

Actions Lifecycle::after_reap(bool tree_left, Nanos now)
{
  Actions a;
  if (!active()) {
    return a;
  }
  if (!m_run.main_exited && !tree_left && m_run.last_reaped != 0) {
    // Nothing of the tree is left, yet its main process was never ours to reap: a MAINPID=
    // that its own parent waited for. The run is over, classified by the last end we saw.
    a.mainpid_gone = m_run.main;
    m_run.main = 0;
    m_run.main_exited = true;
    m_run.status = m_run.last_reaped_status;
    m_run.status_pid = m_run.last_reaped;
  }
  if (!m_run.main_exited) {
    return a;
  }
  if (!tree_left) {
    a.end_run = true;
  } else if (m_phase == Phase::Killing) {
    a.kill = true; // orphans that were reparented to us since the last round
  } else if (m_phase == Phase::Running && !m_run.status.success()) {
    // The main process failed: what it left behind goes down with it.
    Actions s = enter_stop(StopKind::Cleanup, {}, m_def.stop_timeout, now);
    s.mainpid_gone = a.mainpid_gone;
    return s;
  } else if (m_phase == Phase::Running) {
    // Exit 0 with descendants alive (a start script that backgrounded a daemon): the run goes on.
    a.hand_over = true;
  }
  return a;
}

void Lifecycle::set_main(pid_t pid)
{
  m_run.main = pid;
  m_run.main_exited = false;
  m_run.status = ExitStatus{};
  m_run.status_pid = pid;
}

bool Lifecycle::main_may_move() const
{
  return m_phase == Phase::Running && (!m_run.main_exited || m_run.status.success());
}

Actions Lifecycle::kill_due()
{
  deadline(Deadline::Kill) = Nanos(0);
  Actions a;
  if (active()) {
    m_phase = Phase::Killing;
    a.kill = true;
    a.kill_timeout = true;
  }
  return a;
}

Actions Lifecycle::duration_due(Nanos now)
{
  if (active()) {
    return stop(StopKind::Duration, "duration", m_def.stop_timeout, now);
  }
  if (m_phase == Phase::Backoff || m_phase == Phase::Restarting) {
    const Ending e = duration_between_runs(m_def);
    return finish(e.state, e.why);
  }
  return {};
}

void Lifecycle::restart_due()
{
  if (m_phase == Phase::Backoff) {
    m_phase = Phase::Restarting;
  }
}

Next Lifecycle::after_run(const Classification& c, Next decided, bool deadline_passed,
                          bool in_wait) const
{
  Next next = decided;
  if (m_stop.restart_after && !deadline_passed) {
    // A planned restart was asked for while pg-run was ending a failed run: the failure stays
    // recorded as it was, and the restart happens now.
    next = Next{true, Millis(0), RunState::Failed, false};
  }
  if (!m_stop.stop_after.empty()) {
    next = Next{false, Millis(0), RunState::Stopped, false};
  }
  // A run that ended within --wait is not restarted, so the name is free to launch again once
  // fixed (a planned restart is no end: the wait goes on with the new run).
  if (in_wait) {
    next.restart = false;
    next.gave_up = false;
    next.final_state = c.outcome == Outcome::Completed ? RunState::Completed
                       : c.outcome == Outcome::Stopped ? RunState::Stopped
                                                       : RunState::Failed;
  }
  return next;
}

Actions Lifecycle::ended(const Next& next, const std::string& cause, Nanos now_boot)
{
  const std::string stop_after = m_stop.stop_after;
  m_stop = Stop{};
  m_run = Run{};
  deadline(Deadline::Kill) = Nanos(0);
  if (!next.restart) {
    return finish(next.final_state, stop_after.empty() ? cause : stop_after + "; " + cause);
  }
  if (next.delay.count() == 0) {
    m_phase = Phase::Restarting; // through the loop once, so signals are seen between runs
    return {};
  }
  m_phase = Phase::Backoff;
  deadline(Deadline::Restart) = now_boot + next.delay;
  Actions a;
  a.publish = true;
  return a;
}

Actions Lifecycle::finish(RunState state, std::string why)
{
  m_phase = Phase::Done;
  m_final = state;
  Actions a;
  a.finish = Ending{state, std::move(why)};
  return a;
}

} // namespace pg
