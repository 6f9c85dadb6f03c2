// pg-ctl revive: start again, from its recorded definition, every job that is lost (its
// supervisor died, or the machine rebooted) and every job stopped by a signal that pg-ctl
// did not send. Never a job stopped by pg-ctl, completed, or failed; never a second copy
// while processes of the old run live (--replace ends them first); the original --duration
// deadline kept, and a job whose deadline passed is marked completed instead.
#pragma once

#include "ctl_actions.h"
#include "job_view.h"

#include <optional>
#include <string>
#include <vector>

namespace pg {

// Why a job may be revived ("lost: its supervisor died...", "stopped by an outside signal:
// ..."), or nullopt when it may not.
std::optional<std::string> revive_reason(const JobView& v);

struct ReviveOptions {
  bool replace = false; // end leftovers of a lost job first (SIGKILL)
  // Each revived supervisor in a transient systemd scope of its own (systemd-run --user
  // --scope running `self revive NAME`, which runs pg-run there), not in the caller's cgroup;
  // in the caller's own when no scope can be made (said in the result's message).
  bool scope = false;
  std::string self; // this pg-ctl's path, for scope
};

// Revives the named jobs (each must be revivable or already running), or with no names every
// revivable job of the state directory. One result per job acted on or named.
std::vector<CtlResult> revive_jobs(const JobsAt& jobs, const std::vector<std::string>& names,
                                   const ReviveOptions& opt);

} // namespace pg
