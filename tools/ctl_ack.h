// pg-ctl ack: every failure of a job up to now acknowledged (common/failures.h), its current
// failed, lost or outside-stopped state included, so pg-ls --check is quiet about the job until
// something new happens. A live job's ack goes through its supervisor (a control request: it
// appends the ack event and republishes state.json); an ended or lost job's is written by
// pg-ctl under the job's lock. History is never rewritten.
#pragma once

#include "ctl_actions.h"

#include <string>
#include <vector>

namespace pg {

// Acknowledges each named job; one result per name ("acknowledged 2 failures (running)").
std::vector<CtlResult> ack_jobs(const JobsAt& jobs, const std::vector<std::string>& names);

} // namespace pg
