#include "relaunch.h"

#include "environ.h"
#include "failure.h"
#include "job_view.h"
#include "run_args.h"
#include "run_status.h"
#include "state_dir.h"

#include <fmt/format.h>

namespace pg {

void relaunch_from_record(Options& opt, const std::string& state_dir, const Relaunch& how)
{
  opt.state_dir = resolve_state_dir(state_dir);
  std::optional<JobDir> dir;
  try {
    dir = StateDir::open(opt.state_dir, false).job(opt.name, false);
  } catch (const StateDirError& e) {
    throw Failure(k_exit_env, e.what());
  }
  if (!dir) {
    throw Failure(k_exit_env, fmt::format("{}: no such job in {}", opt.name, opt.state_dir));
  }
  const JobView v = view_job(*dir);
  if (!v.state) {
    throw Failure(k_exit_env, fmt::format("{}: cannot read its definition: {}", opt.name, v.error));
  }
  const JobState& st = *v.state;
  opt.def = st.definition;
  std::string kept;
  if (!how.update_env && dir->read("environ", kept)) {
    opt.launch_env = parse_environ(kept);
  } else {
    opt.launch_env = current_environ();
  }
  if (!opt.def.env_file.empty()) {
    opt.file_env = job_env_file(opt.def.env_file); // read again, checked as at the first launch
  }
  if (how.revive) {
    opt.keep_started_at = st.started_at;
    opt.keep_deadline_at = st.deadline_at;
    opt.keep_restarts = st.restarts + 1; // the revived run is a restart too
    opt.keep_ack = true;                 // a revival acknowledges nothing
  }
}

} // namespace pg
