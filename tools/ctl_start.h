// pg-ctl start: an ended job (stopped, failed, completed, or lost with no live leftovers)
// started again from its recorded definition and launch environment (STATE/NAME/environ), as
// if pg-run had been run again with the same options: history and run numbering go on, the
// restart budget and --duration begin again. A job whose supervisor lives is left alone.
#pragma once

#include "ctl_actions.h"
#include "options.h"

#include <string>
#include <vector>

namespace pg {

struct StartOptions {
  Millis wait{0};          // --wait, as pg-run's
  bool update_env = false; // --update-env: pg-ctl's own environment becomes the job's
};

std::vector<CtlResult> start_jobs(const JobsAt& jobs, const std::vector<std::string>& names,
                                  const StartOptions& opt);

// The Options that launch a recorded job again as pg-run would: its definition, its launch
// environment (the kept environ; pg-ctl's own with update_env, or when none was kept: a job
// recorded by an older pg-run), its --env-file read again. Throws Failure (1) when the env file
// cannot be read.
Options relaunch_options(const JobsAt& jobs, const JobDir& dir, const JobState& st,
                         bool update_env);

} // namespace pg
