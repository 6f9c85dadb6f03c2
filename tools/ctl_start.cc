#include "ctl_start.h"

#include "ctl_pg_run.h"
#include "job_view.h"
#include "run_args.h"

#include <fmt/format.h>

namespace pg {

namespace {

CtlResult start_one(const JobsAt& jobs, const std::string& name, const StartOptions& so)
{
  CtlResult r;
  r.name = name;
  r.action = "start";
  std::optional<JobDir> dir = jobs.dir ? jobs.dir->job(name, false) : std::nullopt;
  if (!dir) {
    r.message = fmt::format("no such job in {}", jobs.path);
    return r;
  }
  const JobView v = view_job(*dir);
  if (!v.state) {
    r.message = "cannot read its definition: " + v.error;
    return r;
  }
  if (v.supervisor_alive) {
    r.ok = true; // what start is for is true already
    r.state = v.shown;
    r.pid = v.state->pid;
    r.message = "already running";
    return r;
  }
  std::vector<std::string> args{"--state-dir", jobs.path, "--name=" + name, "--relaunch",
                                "--quiet"}; // its receipt is this result's line
  if (so.update_env) {
    args.emplace_back("--update-env");
  }
  if (so.wait.count() > 0) {
    args.insert(args.end(), {"--wait", fmt::format("{}ms", so.wait.count())});
  }
  const int status = run_pg_run(args); // says why on stderr when it fails
  const JobView after = view_job(*dir);
  if (after.state) {
    r.state = after.shown;
    r.pid = after.supervisor_alive ? after.state->pid : std::nullopt;
  }
  if (status != k_exit_ok) {
    r.message = fmt::format("not started (pg-run's status {}){}", status,
                            status == k_exit_busy
                                ? ": processes of its lost run live; pg-ctl revive --replace "
                                  "ends them"
                                : "");
    return r;
  }
  r.ok = true;
  r.message = receipt_text(after.state ? after.state->definition.log : "", so.wait,
                           r.state == RunState::Starting, r.pid.value_or(0),
                           after.state ? after.state->supervisor.pid : 0);
  return r;
}

} // namespace

std::vector<CtlResult> start_jobs(const JobsAt& jobs, const std::vector<std::string>& names,
                                  const StartOptions& opt)
{
  std::vector<CtlResult> out;
  for (const auto& n : names) {
    out.push_back(start_one(jobs, n, opt));
  }
  return out;
}

} // namespace pg
