// pg-ctl stop of a lost job: its supervisor is gone, but processes of its last run may live on
// (a daemon that left the job's first process, a program that ignored the parent-death signal).
#pragma once

#include "ctl_actions.h"

namespace pg {

// When dir's job is lost with leftovers: ends them (its stop signal, SIGKILL after timeout or
// its --stop-timeout), records its lost run's end, and marks the job stopped (so revive leaves
// it alone), under the job's lock. Otherwise returns r as it is (the job is not running).
CtlResult stop_lost_job(const JobDir& dir, CtlResult r, std::optional<Millis> timeout);

} // namespace pg
