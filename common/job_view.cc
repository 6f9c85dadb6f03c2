#include "job_view.h"

#include "leftovers.h"
#include "proc.h"
#include "storage_fault.h"

#include <algorithm>

namespace pg {

namespace {

bool read_state(const JobDir& dir, JobView& v)
{
  // Kept between jobs: a listing reads thousands of them.
  thread_local std::string text;
  try {
    if (!dir.read("state.json", text)) {
      v.state.reset();
      v.error = "no state.json (never started, or being created)";
      return false;
    }
  } catch (const StateDirError& e) {
    v.state.reset();
    v.error = e.what(); // a link, a FIFO, a huge file: refused, never followed
    return false;
  }
  try {
    v.state = parse_job_state(text);
    v.error.clear();
    return true;
  } catch (const std::exception& e) {
    v.state.reset();
    v.error = std::string("state.json is damaged: ") + e.what();
    return false;
  }
}

// lock_ended: test the lock also when the state says the job has ended (for pg-ctl, which
// must know whether a supervisor still holds the name). A listing skips it there: an ended
// state is the supervisor's last word, written just before it exits.
// fs: the filesystem's state, asked once per mount over a listing.
JobView view(const JobDir& dir, bool lock_ended, FsTroubleCache& fs)
{
  JobView v;
  v.name = dir.name();
  read_state(dir, v);
  LockProbe lock;
  if (lock_ended || !v.state || is_live(v.state->state)) {
    lock = probe_lock(dir);
    v.supervisor_alive = lock.held;
  }
  v.storage_fault = to_string(fs.get(dir));
  if (v.storage_fault.empty() && v.supervisor_alive && lock.storage_flag) {
    v.storage_fault = "write-error";
  }
  if (v.state && is_live(v.state->state) && !v.supervisor_alive) {
    // The supervisor may have written its final state and exited between our two looks:
    // the final state is on disk before the lock is released, so one more read settles it.
    read_state(dir, v);
  }
  if (!v.state) {
    v.shown = v.supervisor_alive ? RunState::Starting : RunState::Lost;
    if (!v.supervisor_alive) {
      v.lost_reason = v.error;
    }
    return v;
  }
  v.shown = v.state->state;
  const SupervisorRecord& sup = v.state->supervisor;
  v.other_pid_namespace = pid_namespace_differs(sup.pid_namespace, own_pid_namespace());
  // From another pid namespace the recorded pid names some other process here (or none): the
  // identity check would fail for a supervisor alive and well, so the lock alone tells.
  if (is_live(v.state->state) && v.supervisor_alive && !v.other_pid_namespace &&
      !ProcessIdentity{sup.pid, sup.start_time, sup.boot_id}.alive()) {
    // The lock is held, but not by the supervisor state.json names: a launch or revive is under
    // way, or that supervisor was just killed and a child it forked holds a copy of the lock's
    // descriptor until it execs or dies. Either way that supervisor runs nothing.
    v.shown = RunState::Starting;
  }
  if (is_live(v.state->state) && !v.supervisor_alive) {
    v.shown = RunState::Lost;
    if (v.state->supervisor.boot_id != boot_id()) {
      v.lost_reason = "the machine rebooted since it last ran";
    } else {
      v.lost_reason = "its supervisor (pid " + std::to_string(v.state->supervisor.pid) +
                      (v.other_pid_namespace ? " in another pid namespace" : "") +
                      ") died without recording an end";
    }
    v.leftovers = leftovers(*v.state);
  }
  return v;
}

} // namespace

JobView view_job(const JobDir& dir)
{
  FsTroubleCache fs;
  return view(dir, true, fs);
}

void for_each_view(const StateDir& sd, const std::function<void(JobView&&)>& visit)
{
  FsTroubleCache fs;
  for (const auto& name : sd.job_names()) {
    std::optional<JobView> v;
    try {
      if (auto dir = sd.job(name, false)) {
        v = view(*dir, false, fs);
      }
    } catch (const StateDirError& e) {
      v.emplace();
      v->name = name;
      v->error = e.what();
    }
    if (v) {
      visit(std::move(*v));
    }
  }
}

std::vector<JobView> view_all(const StateDir& sd)
{
  std::vector<JobView> out;
  for_each_view(sd, [&](JobView&& v) { out.push_back(std::move(v)); });
  return out;
}

std::optional<std::chrono::seconds> JobView::uptime() const
{
  if (!state || !state->run_started_at ||
      (shown != RunState::Starting && shown != RunState::Running && shown != RunState::Stopping)) {
    return std::nullopt;
  }
  Nanos age{0};
  if (state->supervisor.boot_id == boot_id() && state->run_started_boot_ns > 0) {
    age = boottime_now() - Nanos(state->run_started_boot_ns);
  } else {
    age = wall_now() - *state->run_started_at;
  }
  return std::chrono::duration_cast<std::chrono::seconds>(age);
}

std::optional<double> JobView::duration_done() const
{
  if (!state || state->definition.duration.count() == 0 || !state->started_at) {
    return std::nullopt;
  }
  // An ended job's progress stops at its last update; so does a lost one's (nobody ran it since).
  WallTime end = wall_now();
  if (!is_live(state->state) || shown == RunState::Lost) {
    end = state->updated_at;
  }
  double done = std::chrono::duration<double>(end - *state->started_at).count() /
                (static_cast<double>(state->definition.duration.count()) / 1000.0);
  return std::clamp(done, 0.0, 1.0);
}

} // namespace pg
