// pg-run --relaunch and --revive: a recorded job launched again from its record, as pg-ctl start
// and pg-ctl revive ask (they run pg-run with these options; they do not launch in process).
#pragma once

#include "options.h"

#include <string>

namespace pg {

struct Relaunch {
  bool revive = false;     // --revive: the revived run goes on from the job's earlier life
  bool update_env = false; // --update-env: pg-run's own environment becomes the job's
};

// Completes opt (its name given, options about one launch set) as a launch of the job recorded
// in the state directory (state_dir as --state-dir gave it): its definition, its launch
// environment (STATE/NAME/environ; pg-run's own with update_env, or when none was kept: a job
// recorded by an older pg-run), its --env-file read again. A revival keeps the job's first
// start, its --duration deadline and its acknowledgements, and counts one restart more.
// Throws Failure (1) when the job, its record or its env file cannot be read.
void relaunch_from_record(Options& opt, const std::string& state_dir, const Relaunch& how);

} // namespace pg
