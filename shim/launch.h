// pg-run's launch: take the job's lock, then either supervise in the foreground or detach
// (fork, setsid, fork) and report back to the launcher once the job has exec'd.
#pragma once

#include "options.h"
#include "run_status.h"

namespace pg {

// Runs the job as opt says; returns pg-run's exit status.
int launch(const Options& opt);

} // namespace pg
