// The kernel-enforced caps (--memory-cap, --tasks-cap, --cpu-quota): whether this pg-run can
// hold a job to them. A cap is never silently unenforced: the launch is refused instead.
//
// Two checks. The launcher's, here, before anything is created or stopped: each cap asked for
// needs its controller in a cgroup pg-run may write (v2 offering it to our cgroup, or a v1
// hierarchy carrying it). The supervisor's, authoritative: setup_job_cgroup (common/cgroup.h)
// makes the job's cgroup before the first run, and a failure there is the launch's error too
// (the supervisor answers the launcher with it: exit 1, nothing left running).
#pragma once

#include "cgroup.h"
#include "state.h"

#include <optional>
#include <string>

namespace pg {

// "--memory-cap cannot be enforced: WHY" for the first cap def asks for that host cannot
// enforce, with what would allow it; nullopt when it asks for none (or all look possible).
std::optional<std::string> caps_unavailable(const JobDefinition& def, const CgroupHost& host);

// The caps def asks for, as setup_job_cgroup takes them.
CgroupCaps caps_of(const JobDefinition& def);

} // namespace pg
