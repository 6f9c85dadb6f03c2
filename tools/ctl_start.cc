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
  std::vector<std::string> args{"--state-dir", jobs.path, "--name=" + name, "--relaunch"};
  if (so.update_env) {
    args.emplace_back("--update-env");
  }
  if (so.wait.count() > 0) {
    args.insert(args.end(), {"--wait", fmt::format("{}ms", so.wait.count())});
  }
  if (launch_through_pg_run(r, jobs, &*dir, name, args, so.wait).status == k_exit_busy) {
    r.message += ": processes of its lost run live; pg-ctl revive --replace ends them";
  }
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
