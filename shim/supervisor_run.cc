// The supervisor's side of a run: starting it, reaping its tree, recording its end, and
// carrying out what the lifecycle (lifecycle.cc) decides at each transition.
#include "clock.h"
#include "failures.h"
#include "signals.h"
#include "supervisor.h"

#include "say.h"
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace pg {

namespace {

double seconds(Nanos n)
{
  return static_cast<double>(n.count()) / 1e9;
}

} // namespace

bool Supervisor::start_run(bool first)
{
  m_pub.next_start_at.reset();
  const JobDefinition& def = m_opt.def;
  // This supervisor's random prefix and the run's number: a run that state.json has not named
  // yet is still found (through the run it does name) if we die before naming it.
  std::string run_id = fmt::format("{}{:08x}", m_run_family, m_runs + 1);
  std::vector<std::string> env = m_base_env;
  env.push_back("PG_RUN_ID=" + run_id);
  SpawnRequest req{def.resolved,
                   def.argv,
                   std::move(env),
                   def.cwd,
                   def.umask,
                   m_outputs.front().write.get(),
                   m_outputs.back().write.get(),
                   def.stop_signal,
                   {},
                   def.limits};
  req.reset_signals = &m_spawn_reset;
  notify_spawn_env(req);
  const std::string join_error = cgroup_join(req);
  // The run starts before the fork: a run's runtime is never shorter than the job's own life.
  const Nanos now_boot = boottime_now();
  const WallTime now_wall = wall_now();
  SpawnResult r = join_error.empty() ? spawn(req) : SpawnResult::failed_setup(join_error);
  cgroup_run_started(r.pid);
  if (first) {
    first_run_clocks(now_boot, now_wall);
  } else {
    ++m_pub.restarts;
  }
  m_pub.run_id = run_id;
  m_run_start_boot = now_boot;
  m_pub.run_started_at = now_wall;
  m_pub.run_started_boot_ns = now_boot.count();
  ++m_runs;
  m_pub.run = m_run_base + m_runs;
  m_life.started(r.pid > 0 ? r.pid : 0, r.shell_status());
  on_run_start(r.pid > 0);
  if (r.pid < 0) {
    m_last_status = r.shell_status();
    if (first) {
      // Nothing ran: the launcher reports 126/127 and the job ends failed.
      ExitRecord rec;
      rec.status = ExitStatus::exited(r.shell_status());
      rec.outcome = Outcome::Failed;
      rec.cause = "exec: " + r.message();
      rec.at = now_wall;
      record_exit(rec);
      apply(m_life.finish(RunState::Failed, rec.cause));
      return false;
    }
    end_run(r.message());
    return true;
  }
  m_pub.pid = r.pid;
  m_pub.handover.reset();
  tree_run_started(r.pid);
  notify_run_started();
  event(ev::Start{r.pid, run_id, m_pub.run, def.argv});
  publish();
  return true;
}

void Supervisor::first_run_clocks(Nanos now_boot, WallTime now_wall)
{
  m_first_start_boot = now_boot;
  m_pub.started_at = m_opt.keep_started_at.value_or(now_wall);
  m_prior_job_time = std::chrono::duration_cast<Millis>(now_wall - *m_pub.started_at);
  if (m_prior_job_time.count() < 0) {
    m_prior_job_time = Millis(0);
  }
  Nanos& deadline = m_life.deadline(Deadline::Duration);
  if (m_opt.keep_deadline_at) {
    m_pub.deadline_at = m_opt.keep_deadline_at;
    // At most k_max_duration ahead, as any deadline pg-run set: a hostile or misdated
    // deadline_at must not overflow the BOOTTIME arithmetic.
    deadline = now_boot + std::min<Nanos>(*m_opt.keep_deadline_at - now_wall, k_max_duration);
    if (deadline.count() <= 0) {
      deadline = Nanos(1);
    }
  } else if (m_opt.def.duration.count() > 0) {
    deadline = now_boot + m_opt.def.duration;
    m_pub.deadline_at = now_wall + m_opt.def.duration;
  }
}

void Supervisor::reap()
{
  bool tree_left = false;
  for (;;) {
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    // The raw syscall also reports the reaped process's rusage (glibc's waitid does not).
    struct rusage ru {};
    if (::syscall(SYS_waitid, P_ALL, 0, &info, WEXITED | WNOHANG, &ru) < 0) {
      if (errno == EINTR) {
        continue;
      }
      break; // ECHILD: nothing of the tree is left
    }
    if (info.si_pid == 0) {
      tree_left = true;
      break;
    }
    if (m_life.active()) {
      m_usage.add(ru);
    }
    m_tree_reaped =
        m_tree_reaped || std::any_of(m_pub.tree.begin(), m_pub.tree.end(),
                                     [&](const auto& t) { return t.pid == info.si_pid; });
    apply(m_life.reaped(info.si_pid, ExitStatus::from_siginfo(info)));
  }
  tree_after_reap(tree_left);
  apply(m_life.after_reap(tree_left, monotonic_now()));
}

void Supervisor::apply(const Actions& a)
{
  if (a.mainpid_gone != 0) {
    event(ev::MainpidGone{a.mainpid_gone,
                          fmt::format("pid {} was reaped by its own parent; the run is classified "
                                      "by the last process pg-run reaped (pid {})",
                                      a.mainpid_gone, m_life.run().status_pid)});
  }
  if (a.record_stop) {
    event(ev::Stop{stop_kind_name(a.stop_kind), a.stop_by});
  }
  if (a.alert_outside) {
    raise_alert(AlertKind::StoppedOutside, nullptr, a.stop_by, std::nullopt);
  }
  if (a.kill_timeout) {
    event(ev::Kill{"stop timeout " + format_duration(m_life.stop().timeout) + " passed"});
  }
  if (a.abort_main) {
    // Only a child of ours is seen to end (a MAINPID's own parent may reap it): for any other,
    // the stop signal to the tree follows at once.
    const pid_t target = main_target();
    const bool ours = target > 0 && read_proc_stat(target).value_or(ProcStat{}).ppid == ::getpid();
    if (target > 0 && ::kill(target, SIGABRT) == 0 && ours) {
      m_life.run().aborted = target;
    } else {
      apply(m_life.aborted());
    }
  }
  if (a.stop_signal) {
    signal_tree(m_opt.def.stop_signal);
  }
  if (a.kill) {
    signal_tree(SIGKILL);
  }
  if (a.hand_over) {
    hand_over();
  }
  if (a.end_run) {
    end_run();
  }
  if (a.finish) {
    finish(*a.finish);
  } else if (a.publish) {
    publish();
  }
}

void Supervisor::request_stop(StopKind kind, const std::string& detail, Millis timeout)
{
  apply(m_life.stop(kind, detail, timeout, monotonic_now()));
}

pid_t Supervisor::main_target() const
{
  // Once the main process has exited 0, the oldest survivor stands for it (pg-ls's pid).
  const pid_t main = m_life.run().main;
  return main != 0 ? main : m_pub.pid.value_or(0);
}

void Supervisor::set_main(pid_t pid)
{
  m_life.set_main(pid);
  m_pub.pid = pid;
}

void Supervisor::hand_over()
{
  // The oldest live descendant: its parent is dead (an older descendant would be older still),
  // so it was reparented to us and its end is ours to see.
  std::optional<pid_t> next;
  for (const ProcStat& p : descendant_stats(::getpid())) {
    if (p.state != 'Z' && p.state != 'X') {
      next = p.pid;
      break;
    }
  }
  if (!next) {
    return; // what is left is exiting: the next reap ends the run
  }
  const pid_t from = m_life.run().status_pid;
  event(ev::Handover{from, *next});
  set_main(*next);
  m_pub.handover = Handover{from, *next, wall_now()};
  publish();
}

RunEnd Supervisor::run_end(const std::string& exec_error, Nanos now_boot)
{
  const Run& run = m_life.run();
  RunEnd end;
  end.status = run.status;
  end.runtime = std::chrono::duration_cast<Millis>(now_boot - m_run_start_boot);
  end.job_time = job_time();
  end.stop = m_life.stop().kind;
  end.stop_detail = m_life.stop().detail;
  end.forwarded_signal = run.forwarded_signal;
  end.forwarded_detail = run.forwarded_detail;
  end.forwarded_age = run.forwarded_signal != 0
                          ? std::chrono::duration_cast<Millis>(monotonic_now() - run.forwarded_at)
                          : Millis(0);
  end.exec_error = exec_error;
  end.oom_detail = oom_detail(run.status, run.status_pid);
  return end;
}

void Supervisor::end_run(const std::string& exec_error)
{
  cgroup_run_ended();
  drain_outputs();
  report_dropped(true);
  const Nanos now_boot = boottime_now();
  const RunEnd end = run_end(exec_error, now_boot);
  Classification c = classify(end, m_opt.def);
  const Nanos deadline = m_life.deadline(Deadline::Duration);
  const bool deadline_passed = deadline.count() > 0 && now_boot >= deadline;
  const bool in_wait = m_report && c.outcome != Outcome::Restarted;
  const Next next = m_life.after_run(
      c, decide(c, end, m_opt.def, m_budget, now_boot, deadline_passed), deadline_passed, in_wait);
  if (next.gave_up) {
    c.cause = gave_up_cause(c.cause, m_opt.def);
  }
  ExitRecord rec;
  rec.pid = m_life.run().status_pid;
  rec.status = end.status;
  rec.runtime_s = seconds(now_boot - m_run_start_boot);
  rec.outcome = c.outcome;
  rec.cause = c.cause;
  rec.at = wall_now();
  m_usage.fill(rec);
  m_pub.memory_rss.reset();
  m_last_status = end.status.shell_status();
  record_exit(rec);
  if (m_foreground) {
    say("{}: run ended: {} ({})", m_opt.name, to_string(c.outcome), c.cause);
  }
  const Actions after = m_life.ended(next, c.cause, now_boot);
  m_pub.pid.reset();
  report_run_end(rec, c, end, next);
  apply(after);
  if (m_report && c.outcome != Outcome::Restarted) {
    // The launcher prints this end and the last output lines. Sent once the end is applied, so
    // the state.json that send_report() writes first is the final one.
    nlohmann::json ended = to_json(rec);
    ended["state"] = to_string(next.final_state);
    send_report("ended\t" + dump_line(ended) + "\n");
  }
}

void Supervisor::report_run_end(const ExitRecord& rec, const Classification& c, const RunEnd& end,
                                const Next& next)
{
  if (next.gave_up) {
    event(ev::GaveUp{c.cause});
  }
  if (next.gave_up || c.outcome == Outcome::Failed ||
      (c.outcome == Outcome::Stopped && end.stop == StopKind::Outside)) {
    raise_alert(next.gave_up                   ? AlertKind::GaveUp
                : c.outcome == Outcome::Failed ? AlertKind::Failed
                                               : AlertKind::StoppedOutside,
                &rec, end.stop_detail,
                next.restart ? std::optional<Millis>(next.delay) : std::nullopt);
  }
  if (!next.restart) {
    return;
  }
  const char* reason = c.outcome == Outcome::Restarted ? "planned"
                       : c.outcome == Outcome::Failed  ? "failure"
                                                       : "always";
  event(ev::Restart{reason, static_cast<double>(next.delay.count()) / 1000.0});
  if (next.delay.count() > 0) {
    m_pub.next_start_at = wall_now() + next.delay;
  }
}

void Supervisor::forward(int sig, const std::string& detail)
{
  const pid_t target = main_target();
  event(ev::Signal{signal_name(sig), target, detail});
  if (!m_life.active() || target == 0) {
    return;
  }
  Run& run = m_life.run();
  run.forwarded_signal = sig;
  run.forwarded_detail = detail;
  run.forwarded_at = monotonic_now();
  ::kill(target, sig);
}

void Supervisor::record_exit(const ExitRecord& rec, bool heard)
{
  m_pub.last_exit = rec;
  if (is_failed_exit(rec)) {
    m_pub.failures = m_pub.failures.value_or(0) + 1; // heard or not: pg_job_failures_total
    if (heard) {
      ++m_pub.failures_since_ack;
    }
  }
  event(ev::Exit{rec});
}

void Supervisor::finish(const Ending& e)
{
  if (is_outside_stop(e.why)) {
    ++m_pub.failures_since_ack; // a stop from outside, during a run or between runs
  }
  m_pub.end_cause = e.why;
  m_pub.pid.reset();
  m_pub.next_start_at.reset();
  event(ev::End{to_string(e.state), e.why, {}});
  publish();
  m_alerts.finish(); // held-back alerts go now; the helper finishes its hooks without us
  if (m_foreground) {
    say("{}: {} ({})", m_opt.name, to_string(e.state), e.why);
  }
}

void Supervisor::signal_tree(int sig)
{
  const pid_t pgid = m_life.run().pgid;
  const bool group = pgid > 0 && ::kill(-pgid, sig) == 0;
  // Processes that left the job's process group are still ours: we are their subreaper. Those
  // the group signal reached are not signalled again: a second SIGTERM cuts a handler short.
  std::vector<pid_t> reached;
  for (const ProcStat& p : descendant_stats(::getpid())) {
    reached.push_back(p.pid);
    if (!(group && p.pgid == pgid) && p.state != 'Z') {
      ::kill(p.pid, sig);
    }
  }
  cgroup_signal(sig, reached);
}

void Supervisor::raise_alert(AlertKind kind, const ExitRecord* exit, const std::string& stop_by,
                             std::optional<Millis> restart_in)
{
  if (!m_alerts.enabled()) {
    return;
  }
  AlertFacts f;
  f.name = m_opt.name;
  f.kind = kind;
  if (exit != nullptr) {
    f.exit = *exit;
  }
  f.stop_by = stop_by;
  f.restart_in = restart_in;
  f.restarts = m_pub.restarts;
  f.last_output = m_log.last_line();
  f.at = wall_now();
  m_alerts.raise(make_alert(f), boottime_now());
}

Millis Supervisor::job_time() const
{
  return m_prior_job_time + std::chrono::duration_cast<Millis>(boottime_now() - m_first_start_boot);
}

} // namespace pg
