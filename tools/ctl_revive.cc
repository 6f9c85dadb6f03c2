#include "ctl_revive.h"

#include "ctl_pg_run.h"
#include "ctl_scope.h"
#include "events.h"
#include "ls_format.h"
#include "parse.h"
#include "run_status.h"
#include "syscalls.h"

#include <fmt/format.h>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace pg {

namespace {

// The job's deadline passed while it was down: it ends as pg-run would have ended it, under
// the lock, so a launch meanwhile cannot interleave.
CtlResult end_at_deadline(const JobDir& dir, const JobState& st, CtlResult r)
{
  UniqueFd lock = dir.open_lock();
  if (!try_lock(lock.get())) {
    r.message = "was started by someone else meanwhile; left alone";
    r.ok = true;
    return r;
  }
  JobState end = st;
  const JobDefinition& d = st.definition;
  end.state = d.oneshot ? RunState::Failed : RunState::Completed;
  end.end_cause = fmt::format("timeout: planned duration {} ended at {} while the job was down; "
                              "not revived",
                              format_duration(d.duration), format_rfc3339(*st.deadline_at));
  end.pid.reset();
  end.next_start_at.reset();
  end.updated_at = wall_now();
  dir.write_state(end);
  EventLog events(dir.fd());
  nlohmann::json ended = ev::End{to_string(end.state), end.end_cause, "pg-ctl revive"};
  ended["at"] = format_rfc3339(wall_now());
  events.append(ended);
  r.ok = true;
  r.state = end.state;
  r.message = fmt::format("not revived: its --duration deadline ({}) has passed; marked {}",
                          format_local(*st.deadline_at), to_string(end.state));
  return r;
}

// Revives the job by running pg-run --revive: here, or inside a new scope named unit (given
// when --scope can make one), where the supervisor pg-run detaches then stays.
CtlResult revive_one(const JobsAt& jobs, const JobDir& dir, const JobView& v,
                     const ReviveOptions& ro, const std::string& unit)
{
  CtlResult r;
  r.name = v.name;
  r.action = "revive";
  const JobState& st = *v.state;
  const std::string why = *revive_reason(v);
  if (st.deadline_at && wall_now() >= *st.deadline_at) {
    return end_at_deadline(dir, st, std::move(r));
  }
  // pg-run --revive here, its --json report read; in a scope, this revival again (`pg-ctl
  // revive NAME`), which then runs pg-run there, and the record is read after it. Either says
  // why on stderr when it fails.
  Launched launched;
  const std::string in = unit.empty() ? "" : " in scope " + unit;
  if (unit.empty()) {
    std::vector<std::string> args{"--state-dir", jobs.path, "--name=" + v.name, "--revive"};
    if (ro.replace) {
      args.emplace_back("--replace");
    }
    launched = launch_through_pg_run(r, jobs, &dir, v.name, args, Millis{0});
  } else {
    std::vector<std::string> argv{ro.self, "--state-dir", jobs.path, "revive"};
    if (ro.replace) {
      argv.emplace_back("--replace");
    }
    argv.push_back(v.name);
    launched.status = run_in_scope(unit, "process-guardian job " + v.name, argv);
    const JobView after = look_after(dir, r);
    if (launched.status == k_exit_ok && (!after.state || !is_live(after.state->state))) {
      r.message = fmt::format("not running after its revival{}: {}", in,
                              after.state ? to_string(after.shown) : after.error);
      return r;
    }
    launched.supervisor = after.state ? after.state->supervisor.pid : 0;
  }
  if (launched.status != k_exit_ok) {
    r.ok = false;
    r.message = fmt::format("not revived (status {}{}){}", launched.status, in,
                            launched.status == k_exit_busy && !ro.replace
                                ? ": processes of its old run live; --replace ends them"
                                : "");
    return r;
  }
  r.ok = true;
  r.message = fmt::format("revived ({}){}: running, pid {} (supervisor {})", why, in,
                          r.pid.value_or(0), launched.supervisor);
  return r;
}

// A scope unit's name for the job's revival: unique by the time and pg-ctl's pid.
std::string revival_scope(const std::string& name)
{
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(wall_now().time_since_epoch()).count();
  return scope_unit_name(name, static_cast<long long>(now_s), static_cast<int>(::getpid()));
}

} // namespace

std::optional<std::string> revive_reason(const JobView& v)
{
  if (!v.state) {
    return std::nullopt; // nothing to start it again from
  }
  if (v.shown == RunState::Lost) {
    return "was lost: " +
           (v.lost_reason.empty() ? std::string("its supervisor is gone") : v.lost_reason);
  }
  if (v.shown == RunState::Stopped && is_outside_stop(v.state->end_cause)) {
    return "was stopped by an outside signal";
  }
  return std::nullopt;
}

namespace {

// A named job revive does not start: running already (done), unreadable, or ended as asked.
CtlResult not_revivable(const JobView& v, CtlResult r)
{
  if (v.state && v.supervisor_alive && is_live(v.state->state)) {
    r.ok = true; // what revive is for is true already
    r.state = v.shown;
    r.pid = v.state->pid;
    r.message = "already running";
  } else if (!v.state) {
    r.message = "cannot read its state: " + v.error;
  } else {
    r.state = v.shown;
    r.message = fmt::format("not revived: it is {} ({}); revive starts only lost jobs and "
                            "jobs stopped by an outside signal",
                            to_string(v.shown),
                            v.state->end_cause.empty() ? "no end recorded" : v.state->end_cause);
  }
  return r;
}

} // namespace

std::vector<CtlResult> revive_jobs(const JobsAt& jobs, const std::vector<std::string>& names,
                                   const ReviveOptions& opt)
{
  std::vector<CtlResult> out;
  if (!jobs.dir) {
    for (const auto& n : names) {
      CtlResult r;
      r.name = n;
      r.action = "revive";
      r.message = fmt::format("no such job in {}", jobs.path);
      out.push_back(std::move(r));
    }
    return out;
  }
  std::vector<std::string> todo = names.empty() ? jobs.dir->job_names() : names;
  bool scopes_checked = false; // systemd-run is asked once, and only when a job is revived
  bool scopes_ok = false;
  std::string no_scope_why;
  for (const auto& name : todo) {
    CtlResult r;
    r.name = name;
    r.action = "revive";
    std::optional<JobDir> dir;
    try {
      dir = jobs.dir->job(name, false);
    } catch (const StateDirError& e) {
      r.unreadable = true;
      r.message = e.what();
      out.push_back(std::move(r));
      continue;
    }
    if (!dir) {
      r.message = fmt::format("no such job in {}", jobs.path);
      out.push_back(std::move(r));
      continue;
    }
    JobView v = view_job(*dir);
    if (!revive_reason(v)) {
      if (names.empty()) {
        continue; // with no names, only the revivable ones are acted on
      }
      out.push_back(not_revivable(v, std::move(r)));
      continue;
    }
    try {
      const JobState& st = *v.state;
      const bool deadline_passed = st.deadline_at && wall_now() >= *st.deadline_at;
      if (opt.scope && !deadline_passed) {
        if (!scopes_checked) {
          scopes_checked = true;
          scopes_ok = scopes_available(opt.self, no_scope_why);
        }
        if (scopes_ok) {
          out.push_back(revive_one(jobs, *dir, v, opt, revival_scope(name)));
          continue;
        }
      }
      CtlResult done = revive_one(jobs, *dir, v, opt, "");
      if (opt.scope && !deadline_passed && done.ok) {
        done.message += fmt::format(" (in pg-ctl's own cgroup: {})", no_scope_why);
      }
      out.push_back(std::move(done));
    } catch (const std::exception& e) {
      r.message = fmt::format("not revived: {}", e.what());
      out.push_back(std::move(r));
    }
  }
  return out;
}

} // namespace pg
