#include "job_view.h"

#include "leftovers.h"
#include "proc.h"
#include "storage_fault.h"

#include <algorithm>
#include <deque>
#include <future>

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

// What a view shows of its storage: the filesystem's trouble, else the flag a live supervisor
// raised because its writes fail.
std::string storage_fault_of(FsTrouble trouble, bool alive, const LockProbe& lock)
{
  std::string fault = to_string(trouble);
  if (fault.empty() && alive && lock.storage_flag) {
    fault = "write-error";
  }
  return fault;
}

// The rest of a view once its state is read and its lock tested (or not): what is shown, and
// why a job is lost.
void settle(JobView& v)
{
  if (!v.state) {
    v.shown = v.supervisor_alive ? RunState::Starting : RunState::Lost;
    if (!v.supervisor_alive) {
      v.lost_reason = v.error;
    }
    return;
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
  v.storage_fault = storage_fault_of(fs.get(dir), v.supervisor_alive, lock);
  if (v.state && is_live(v.state->state) && !v.supervisor_alive) {
    // The supervisor may have written its final state and exited between our two looks:
    // the final state is on disk before the lock is released, so one more read settles it.
    read_state(dir, v);
  }
  settle(v);
  return v;
}

// A listing's quick look at a job: its state.json read and its lock tested without opening its
// directory (StateDir::peek, open_beneath), its filesystem's state known already. Nullopt sends
// the job to the full look (view): any trouble, an unreadable state, a mount not asked yet, or
// a live state whose lock is free (the full look reads the final state again).
std::optional<JobView> glance(const StateDir& sd, const std::string& name, FsTroubleCache& fs)
{
  thread_local std::string text;
  uint64_t mount_id = 0;
  if (!sd.peek(name, "state.json", text, mount_id)) {
    return std::nullopt;
  }
  const std::optional<FsTrouble> trouble = fs.known(mount_id);
  if (!trouble) {
    return std::nullopt;
  }
  JobView v;
  v.name = name;
  try {
    v.state = parse_job_state(text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  LockProbe lock;
  if (is_live(v.state->state)) {
    // As view() has it: the lock tested after the state is read.
    lock = probe_lock(sd.open_beneath(name, "lock"));
    if (!lock.held) {
      return std::nullopt;
    }
    v.supervisor_alive = true;
  }
  v.storage_fault = storage_fault_of(*trouble, v.supervisor_alive, lock);
  settle(v);
  return v;
}

} // namespace

JobView view_job(const JobDir& dir)
{
  FsTroubleCache fs;
  return view(dir, true, fs);
}

namespace {

// One name's view, or nullopt when its directory is gone; a refused directory is a view with
// the reason in error.
std::optional<JobView> view_named(const StateDir& sd, const std::string& name, FsTroubleCache& fs)
{
  std::optional<JobView> v = glance(sd, name, fs);
  if (v) {
    return v;
  }
  try {
    if (auto dir = sd.job(name, false)) {
      v = view(*dir, false, fs);
    }
  } catch (const StateDirError& e) {
    v.emplace();
    v->name = name;
    v->error = e.what();
  }
  return v;
}

// A listing reads its jobs in chunks, a few chunks at a time on threads of their own, while the
// caller renders the chunk before: an ended job costs five system calls and a parse (glance),
// a live one a dozen more and its tree's measure (the caller's prepare), and two cores read
// twice as many. A chunk is a quarter of the names, between k_chunk_min and k_chunk_max; a
// directory of at most k_chunk_min jobs is read on the caller's thread alone.
constexpr size_t k_chunk_min = 16;
constexpr size_t k_chunk_max = 256;
constexpr size_t k_chunks_ahead = 3;
static_assert(k_chunks_ahead * k_chunk_max <= k_views_in_flight);

} // namespace

void read_views_in_order(const StateDir& sd, const std::vector<std::string>& names,
                         const std::function<void(size_t, std::optional<JobView>&&)>& read,
                         const std::function<void(size_t)>& emit)
{
  auto read_range = [&sd, &names, &read](size_t begin, size_t end) {
    FsTroubleCache fs; // one for the range: each mount asked once
    for (size_t i = begin; i < end; ++i) {
      read(i, view_named(sd, names[i], fs));
    }
  };
  if (names.size() <= k_chunk_min) {
    read_range(0, names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      emit(i);
    }
    return;
  }
  const size_t chunk = std::clamp(names.size() / 4, k_chunk_min, k_chunk_max);
  struct Ahead {
    size_t begin;
    size_t end;
    std::future<void> done;
  };
  std::deque<Ahead> ahead;
  size_t next = 0;
  // A future of std::async waits for its thread when destroyed: when emit throws, no thread
  // outlives what it reads into.
  while (next < names.size() || !ahead.empty()) {
    while (next < names.size() && ahead.size() < k_chunks_ahead) {
      const size_t end = std::min(names.size(), next + chunk);
      ahead.push_back({next, end, std::async(std::launch::async, read_range, next, end)});
      next = end;
    }
    Ahead& front = ahead.front();
    front.done.get();
    for (size_t i = front.begin; i < front.end; ++i) {
      emit(i);
    }
    ahead.pop_front();
  }
}

void for_each_view(const StateDir& sd, const std::function<void(JobView&&)>& visit)
{
  for_each_prepared<JobView>(
      sd, [](JobView&& v) { return std::optional<JobView>(std::move(v)); }, visit);
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
