#include "job_view.h"

#include "proc.h"
#include "state_fast.h"
#include "syscalls.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

namespace pg {

namespace {

// Reads state.json whole into buf (kept between jobs, never shrunk, so no refill); its size
// in len; false when it cannot be opened. state.json is only ever replaced by a rename, never
// written in place, so a read shorter than asked is its end: one read(2) for the usual file.
bool read_state_text(const JobDir& dir, std::string& buf, size_t& len)
{
  UniqueFd fd(retry_eintr(
      [&] { return ::openat(dir.fd(), "state.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC); }));
  len = 0;
  if (!fd) {
    return false;
  }
  if (buf.size() < 16384) {
    buf.resize(16384);
  }
  for (;;) {
    if (len == buf.size()) {
      buf.resize(buf.size() * 2);
    }
    const size_t want = buf.size() - len;
    ssize_t n = retry_eintr([&] { return ::read(fd.get(), buf.data() + len, want); });
    if (n < 0) {
      len = 0;
      return false;
    }
    len += static_cast<size_t>(n);
    if (static_cast<size_t>(n) < want) {
      return true;
    }
  }
}

bool read_state(const JobDir& dir, JobView& v)
{
  thread_local std::string buf;
  size_t len = 0;
  if (!read_state_text(dir, buf, len)) {
    v.error = "no state.json (never started, or being created)";
    return false;
  }
  const std::string_view text(buf.data(), len);
  // The one-pass reader knows the usual files; anything else (and every error message) is
  // the full parser's.
  if (auto fast = fast_job_state(text)) {
    v.state = std::move(fast);
    v.error.clear();
    return true;
  }
  try {
    v.state = job_state_from_json(nlohmann::json::parse(text.begin(), text.end()));
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
JobView view(const JobDir& dir, bool lock_ended)
{
  JobView v;
  v.name = dir.name();
  read_state(dir, v);
  if (lock_ended || !v.state || is_live(v.state->state)) {
    v.supervisor_alive = dir.lock_held();
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
  if (is_live(v.state->state) && !v.supervisor_alive) {
    v.shown = RunState::Lost;
    if (v.state->supervisor.boot_id != boot_id()) {
      v.lost_reason = "the machine rebooted since it last ran";
    } else {
      v.lost_reason = "its supervisor (pid " + std::to_string(v.state->supervisor.pid) +
                      ") died without recording an end";
    }
  }
  return v;
}

} // namespace

JobView view_job(const JobDir& dir)
{
  return view(dir, true);
}

std::vector<JobView> view_all(const StateDir& sd)
{
  std::vector<JobView> out;
  for (const auto& name : sd.job_names()) {
    try {
      if (auto dir = sd.job(name, false)) {
        out.push_back(view(*dir, false));
      }
    } catch (const StateDirError& e) {
      JobView v;
      v.name = name;
      v.error = e.what();
      out.push_back(std::move(v));
    }
  }
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
