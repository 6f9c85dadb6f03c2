#include "ctl_start.h"

#include "environ.h"
#include "job_view.h"
#include "launch.h"
#include "parse.h"

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
  Options opt;
  try {
    opt = relaunch_options(jobs, *dir, *v.state, so.update_env);
  } catch (const Failure& f) {
    r.message = fmt::format("not started: {}", f.what());
    return r;
  }
  opt.wait = so.wait;
  opt.quiet = true;               // its receipt is this result's line, in the order of the names
  const int status = launch(opt); // says why on stderr when it fails
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
  r.message = receipt_text(opt, r.state == RunState::Starting, r.pid.value_or(0),
                           after.state ? after.state->supervisor.pid : 0);
  return r;
}

} // namespace

Options relaunch_options(const JobsAt& jobs, const JobDir& dir, const JobState& st, bool update_env)
{
  Options opt;
  opt.name = dir.name();
  opt.def = st.definition;
  opt.state_dir = jobs.path;
  std::string kept;
  if (!update_env && dir.read("environ", kept)) {
    opt.launch_env = parse_environ(kept);
  } else {
    opt.launch_env = current_environ();
  }
  if (!opt.def.env_file.empty()) {
    auto parsed = load_env_file(opt.def.env_file);
    if (!parsed.error.empty()) {
      throw Failure(k_ctl_exit_failed, parsed.error);
    }
    opt.file_env = std::move(parsed.vars);
  }
  return opt;
}

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
