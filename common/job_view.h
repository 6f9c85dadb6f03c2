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

// The machinery of for_each_view and for_each_prepared: read(i, view) of every name of names,
// on threads of their own, chunk by chunk; then emit(i), on the caller's thread, in order. At
// most k_views_in_flight indices are read and not yet emitted at any time. read runs on several
// threads at once; view is nullopt when the job's directory is gone.
inline constexpr size_t k_views_in_flight = 768;
void read_views_in_order(const StateDir& sd, const std::vector<std::string>& names,
                         const std::function<void(size_t, std::optional<JobView>&&)>& read,
                         const std::function<void(size_t)>& emit);

// for_each_view with a step of the caller's on the reading threads: prepare turns a view into
// what visit takes (nullopt: skipped). pg-ls measures a live job's tree there, the most costly
// of its work. prepare runs on several threads at once.
template <typename T>
void for_each_prepared(const StateDir& sd,
                       const std::function<std::optional<T>(JobView&&)>& prepare,
                       const std::function<void(T&&)>& visit)
{
  const std::vector<std::string> names = sd.job_names();
  std::vector<std::optional<T>> slots(std::min(names.size(), k_views_in_flight));
  read_views_in_order(
      sd, names,
      [&](size_t i, std::optional<JobView>&& v) {
        auto& slot = slots[i % slots.size()];
        slot.reset();
        if (v) {
          slot = prepare(std::move(*v));
        }
      },
      [&](size_t i) {
        auto& slot = slots[i % slots.size()];
        if (slot) {
          visit(std::move(*slot));
          slot.reset();
        }
      });
}

} // namespace pg
