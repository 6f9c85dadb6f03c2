// What readers (pg-ls, pg-ctl) see of a job: its recorded state, plus what only the lock can
// tell: whether its supervisor still lives. A state that says alive with a free lock is lost.
#pragma once

#include "state.h"
#include "state_dir.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pg {

struct JobView {
  std::string name;
  std::optional<JobState> state; // nullopt when state.json is missing or unreadable
  std::string error;             // why it could not be read
  RunState shown = RunState::Lost;
  bool supervisor_alive = false; // the lock is held
  std::string lost_reason;       // set when shown == Lost
  // When shown == Lost: the job's processes that outlived its supervisor (leftovers.h).
  std::vector<TreeProcess> leftovers;
  // The supervisor recorded a pid namespace other than this reader's (a job started under
  // unshare --pid, or in a container): its recorded pids are not pids here, and only the lock
  // tells whether it lives.
  bool other_pid_namespace = false;
  // Why pg-run cannot record (write the job's directory): "full" or "read-only" (its
  // filesystem's state, for any job), "write-error" (its live supervisor's flag, on a
  // filesystem that looks fine: a quota, an I/O error...), or "" (no trouble).
  std::string storage_fault;

  // Age of the current run, when one is running.
  std::optional<std::chrono::seconds> uptime() const;
  // Fraction of --duration done (0..1), when a duration is set.
  std::optional<double> duration_done() const;
};

// Reads one job; never throws for a damaged job (the damage is in error).
JobView view_job(const JobDir& dir);
// Every job of the state directory, sorted by name. For a listing: the lock is tested only
// where it tells something (a state that says live, or no readable state), not for ended jobs.
std::vector<JobView> view_all(const StateDir& sd);
// view_all's jobs, in its order, each given to visit as soon as it is read: a listing of
// thousands renders them one by one instead of holding them all.
void for_each_view(const StateDir& sd, const std::function<void(JobView&&)>& visit);

} // namespace pg
