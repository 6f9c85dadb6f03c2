#include "ctl_actions.h"

#include "clock.h"
#include "control.h"
#include "ctl_lost.h"
#include "ctl_watch.h"
#include "exit_status.h"
#include "job_view.h"
#include "ls_format.h"
#include "proc.h"
#include "signals.h"

#include "syscalls.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>

namespace pg {

namespace {

// How long a job may take to settle when its lock and its state.json disagree for a moment: a
// supervisor between its final publish and its exit, or a launch that has not published yet.
constexpr Millis k_settle{2000};
// Time allowed, beyond the stop timeout, for a planned restart to start the new run.
constexpr Millis k_restart_allowance{5000};

std::string not_running(const JobView& v)
{
  std::string msg = fmt::format("not running (state {}", to_string(v.shown));
  if (v.shown == RunState::Lost && !v.lost_reason.empty()) {
    msg += ": " + v.lost_reason;
  }
  return msg + ")";
}

// Fills what the job looks like now: its state, its main pid, and for a stop its last exit.
void fill_after(CtlResult& r, const JobView& v)
{
  r.state = v.shown;
  if (v.state) {
    r.pid = v.shown == RunState::Lost || v.other_pid_namespace ? std::nullopt : v.state->pid;
    if (r.action == "stop") {
      r.last_exit = v.state->last_exit;
    }
  }
}

} // namespace

Target reach(const JobsAt& jobs, const std::string& name, const char* action)
{
  Target t;
  t.result.name = name;
  t.result.action = action;
  try {
    if (jobs.dir) {
      t.dir = jobs.dir->job(name, false);
    }
  } catch (const StateDirError& e) {
    t.result.unreadable = true;
    t.result.message = e.what();
    return t;
  }
  if (!t.dir) {
    t.result.message = fmt::format("no such job in {}", jobs.path);
    return t;
  }
  const Nanos give_up = deadline_after(k_settle);
  std::optional<DirWatch> watch;
  for (;;) {
    JobView v = view_job(*t.dir);
    fill_after(t.result, v);
    if (!v.supervisor_alive) {
      t.result.message = not_running(v);
      return t;
    }
    if (v.other_pid_namespace && v.state && is_live(v.state->state)) {
      // Its recorded pid is not a pid here: signalling it could hit an unrelated process.
      t.result.message = fmt::format("in another pid namespace ({}, supervisor pid {} there): "
                                     "run pg-ctl inside it",
                                     pid_namespace_name(v.state->supervisor.pid_namespace),
                                     v.state->supervisor.pid);
      return t;
    }
    if (v.state && is_live(v.state->state)) {
      t.pidfd = open_supervisor(v.state->supervisor);
      if (t.pidfd) {
        t.state = *v.state;
        return t;
      }
    }
    if (monotonic_now() >= give_up) {
      if (!v.state) {
        t.result.message = "cannot read its state: " + v.error;
      } else if (!is_live(v.state->state)) {
        t.result.message = not_running(v);
      } else {
        t.result.message =
            fmt::format("supervisor pid {} is not the recorded process; refusing to signal",
                        v.state->supervisor.pid);
      }
      return t;
    }
    if (!watch) {
      // Watch first, then look again, so a change between the two looks is not missed.
      watch.emplace();
      watch->add(*t.dir);
      continue;
    }
    watch->wait(give_up);
  }
}

bool send(Target& t, const Request& r)
{
  if (send_request(t.pidfd.get(), r)) {
    return true;
  }
  const int err = errno;
  if (err == ESRCH) {
    // It exited between the identity check and the request: say how it ended.
    JobView v = view_job(*t.dir);
    fill_after(t.result, v);
    t.result.message = not_running(v);
  } else {
    t.result.message = fmt::format("cannot signal supervisor pid {}: {}", t.state.supervisor.pid,
                                   std::strerror(err));
  }
  return false;
}

JobsAt open_jobs(const std::string& path)
{
  JobsAt jobs;
  jobs.path = path;
  struct stat st {};
  if (::lstat(path.c_str(), &st) < 0 && errno == ENOENT) {
    return jobs; // nothing was ever started here: every named job is unknown
  }
  jobs.dir = StateDir::open(path, false);
  return jobs;
}

std::optional<uint32_t> stop_request_arg(std::optional<Millis> timeout)
{
  if (!timeout) {
    return 0;
  }
  if (timeout->count() < 0 || *timeout > k_max_stop_timeout) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(timeout->count()) + 1;
}

std::string describe_end(const ExitRecord& e)
{
  return e.status.value_or(ExitStatus::exited(-1)).describe() + " after " +
         format_runtime(e.runtime_s);
}

StopOutcome stopped_message(const JobState& final_state, std::optional<Millis> outlived)
{
  if (is_live(final_state.state)) {
    return {false, "its supervisor exited without recording an end (state lost)"};
  }
  const auto& last = final_state.last_exit;
  if (final_state.state != RunState::Stopped) {
    return {true, to_string(final_state.state) + (last ? " (" + last->cause + ")" : "")};
  }
  if (!last) {
    return {true, "stopped"};
  }
  if (last->outcome != Outcome::Stopped) {
    // Stopped between runs: the last exit is the run that ended before the backoff.
    return {true, "stopped during backoff (its last run: " + describe_end(*last) + ")"};
  }
  std::string note;
  if (outlived && last->exit_signal() == SIGKILL && final_state.definition.stop_signal != SIGKILL) {
    note = fmt::format("; it outlived the {} stop timeout", format_duration(*outlived));
  }
  return {true, "stopped (" + describe_end(*last) + note + ")"};
}

std::vector<CtlResult> stop_jobs(const JobsAt& jobs, const std::vector<std::string>& names,
                                 std::optional<Millis> timeout)
{
  const auto arg = stop_request_arg(timeout);
  if (!arg) {
    throw Failure(k_ctl_exit_usage,
                  fmt::format("--timeout: at most {}", format_duration(k_max_stop_timeout)));
  }
  struct Pending {
    Target target;
    Millis allowed{0}; // the stop timeout in effect
    Nanos sent{0};
    Nanos deadline{0};
    bool exited = false;
  };
  std::vector<Pending> all;
  for (const auto& name : names) {
    Pending p{reach(jobs, name, "stop")};
    if (p.target.pidfd && send(p.target, Request{Verb::Stop, *arg})) {
      p.allowed = timeout.value_or(p.target.state.definition.stop_timeout);
      p.sent = monotonic_now();
      p.deadline = p.sent + p.allowed + k_ctl_margin;
    } else {
      p.target.pidfd.reset();
    }
    all.push_back(std::move(p));
  }

  // Every request is out: now wait for every supervisor, each until its own deadline.
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<Pending*> waiting;
    Nanos next{0};
    for (auto& p : all) {
      if (p.target.pidfd && !p.exited && monotonic_now() < p.deadline) {
        fds.push_back(pollfd{p.target.pidfd.get(), POLLIN, 0});
        waiting.push_back(&p);
        next = next.count() == 0 ? p.deadline : std::min(next, p.deadline);
      }
    }
    if (fds.empty()) {
      break;
    }
    poll_until(fds, next);
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents != 0) {
        waiting[i]->exited = true;
      }
    }
  }

  std::vector<CtlResult> results;
  for (auto& p : all) {
    CtlResult& r = p.target.result;
    if (p.target.pidfd) {
      JobView v = view_job(*p.target.dir);
      fill_after(r, v);
      if (!p.exited) {
        r.message =
            fmt::format("did not end within {} (state {}); its supervisor (pid {}) still runs",
                        format_duration(p.allowed + k_ctl_margin), to_string(v.shown),
                        p.target.state.supervisor.pid);
      } else if (v.state) {
        // Waited at least the stop timeout: a SIGKILL end then came from the timeout.
        const bool outlived = monotonic_now() - p.sent >= p.allowed;
        StopOutcome o =
            stopped_message(*v.state, outlived ? std::optional(p.allowed) : std::nullopt);
        r.ok = o.ok;
        r.message = std::move(o.message);
      } else {
        r.message = "its supervisor exited, but its final state cannot be read: " + v.error;
      }
    } else if (p.target.dir && r.state == RunState::Lost) {
      r = stop_lost_job(*p.target.dir, std::move(r), timeout); // its leftovers, if any
    }
    results.push_back(std::move(r));
  }
  return results;
}

namespace {

// A restart asked for, until its new run is seen (or the job ended, or time ran out).
struct PendingRestart {
  Target target;
  Millis allowed{0};
  Nanos deadline{0};
  bool exited = false;
  bool done = true;
};

// Settles p from what its state.json says now; true when there is nothing more to wait for.
bool settle_restart(PendingRestart& p)
{
  CtlResult& r = p.target.result;
  JobView v = view_job(*p.target.dir);
  fill_after(r, v);
  const bool new_run = v.state && v.state->run_id != p.target.state.run_id;
  if (new_run && v.shown == RunState::Running) {
    r.ok = true;
    r.message = fmt::format("restarted, pid {}", v.state->pid.value_or(0));
    return true;
  }
  if (new_run && v.shown == RunState::Backoff) {
    r.message = fmt::format("restarted, but the new run ended at once ({}); now in backoff",
                            v.state->last_exit ? v.state->last_exit->cause : "no exit recorded");
    return true;
  }
  if (p.exited || (v.state && !is_live(v.state->state))) {
    r.message = fmt::format("ended instead of restarting (state {}{})", to_string(v.shown),
                            v.state && v.state->last_exit ? ": " + v.state->last_exit->cause
                                                          : std::string());
    return true;
  }
  if (monotonic_now() >= p.deadline) {
    r.message = fmt::format("did not restart within {} (state {})", format_duration(p.allowed),
                            to_string(v.shown));
    return true;
  }
  return false;
}

} // namespace

std::vector<CtlResult> restart_jobs(const JobsAt& jobs, const std::vector<std::string>& names)
{
  std::vector<PendingRestart> all;
  DirWatch watch;
  for (const auto& name : names) {
    PendingRestart p{reach(jobs, name, "restart")};
    if (p.target.pidfd) {
      // Watched before the request, so the new run's state.json cannot slip by unseen.
      watch.add(*p.target.dir);
      if (send(p.target, Request{Verb::Restart, 0})) {
        p.allowed = p.target.state.definition.stop_timeout + k_restart_allowance + k_ctl_margin;
        p.deadline = deadline_after(p.allowed);
        p.done = false;
      }
    }
    all.push_back(std::move(p));
  }

  for (;;) {
    std::vector<pollfd> fds{watch.poll_entry()};
    std::vector<PendingRestart*> waiting;
    Nanos next{0};
    for (auto& p : all) {
      if (!p.done) {
        p.done = settle_restart(p);
      }
      if (!p.done) {
        fds.push_back(pollfd{p.target.pidfd.get(), POLLIN, 0});
        waiting.push_back(&p);
        next = next.count() == 0 ? p.deadline : std::min(next, p.deadline);
      }
    }
    if (waiting.empty()) {
      break;
    }
    poll_until(fds, watch.cap(next));
    watch.drain();
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents != 0) {
        waiting[i - 1]->exited = true;
      }
    }
  }

  std::vector<CtlResult> results;
  for (auto& p : all) {
    results.push_back(std::move(p.target.result));
  }
  return results;
}

CtlResult signal_job(const JobsAt& jobs, const std::string& name, int sig)
{
  Target t = reach(jobs, name, "signal");
  CtlResult& r = t.result;
  if (!t.pidfd) {
    return r;
  }
  if (t.state.state == RunState::Backoff || !t.state.pid) {
    r.message = fmt::format("no process to signal (state {})", to_string(t.state.state));
    return r;
  }
  if (send(t, Request{Verb::Signal, static_cast<uint32_t>(sig)})) {
    r.ok = true;
    r.message = fmt::format("{} sent to pid {}", signal_name(sig), *t.state.pid);
  }
  return r;
}

nlohmann::json to_json(const CtlResult& r)
{
  nlohmann::json j{
      {"schema_version", k_schema_version},
      {"name", r.name},
      {"action", r.action},
      {"ok", r.ok},
      {"message", r.message},
      {"state", r.state ? nlohmann::json(to_string(*r.state)) : nlohmann::json(nullptr)},
      {"pid", r.pid ? nlohmann::json(*r.pid) : nlohmann::json(nullptr)},
  };
  if (r.action == "stop") {
    j["last_exit"] = r.last_exit ? to_json(*r.last_exit) : nlohmann::json(nullptr);
  }
  if (r.action == "ack") {
    j["failures_acknowledged"] =
        r.acknowledged ? nlohmann::json(*r.acknowledged) : nlohmann::json(nullptr);
  }
  return j;
}

int ctl_exit_status(const std::vector<CtlResult>& results)
{
  if (std::any_of(results.begin(), results.end(), [](const auto& r) { return r.unreadable; })) {
    return k_ctl_exit_state_dir;
  }
  if (std::any_of(results.begin(), results.end(), [](const auto& r) { return !r.ok; })) {
    return k_ctl_exit_failed;
  }
  return k_ctl_exit_ok;
}

std::vector<std::string> unique_names(const std::vector<std::string>& names)
{
  std::vector<std::string> out;
  for (const auto& n : names) {
    if (std::find(out.begin(), out.end(), n) == out.end()) {
      out.push_back(n);
    }
  }
  return out;
}

// ---- logs

} // namespace pg
