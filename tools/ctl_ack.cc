#include "ctl_ack.h"

#include "ctl_watch.h"
#include "events.h"
#include "failures.h"
#include "job_view.h"
#include "parse.h"
#include "proc.h"

#include <fmt/format.h>
#include <unistd.h>

#include <optional>

namespace pg {

namespace {

// How long a live supervisor may take to show an ack in state.json (it writes within 50 ms).
constexpr Millis k_ack_wait{5000};

std::string failures_phrase(unsigned n)
{
  return n == 0 ? std::string("no failures")
                : fmt::format("{} {}", n, n == 1 ? "failure" : "failures");
}

void acknowledged(CtlResult& r, unsigned n)
{
  r.ok = true;
  r.acknowledged = n;
  r.message = fmt::format("acknowledged {} ({})", failures_phrase(n),
                          r.state ? to_string(*r.state) : std::string("state unknown"));
}

enum class Ack { Done, Gone };

// Through the live supervisor: the request, then state.json watched until it shows the ack (a
// new last_ack_at). Gone when the supervisor exited before it did: the job ended meanwhile.
Ack ack_live(Target& t)
{
  CtlResult& r = t.result;
  DirWatch watch;
  watch.add(*t.dir); // before the request, so its write cannot slip by unseen
  const std::optional<WallTime> before = t.state.last_ack_at;
  const unsigned failures = t.state.failures_since_ack;
  if (!send(t, Request{Verb::Ack, 0})) {
    return r.state && !is_live(*r.state) ? Ack::Gone : Ack::Done;
  }
  const Nanos deadline = deadline_after(k_ack_wait);
  bool exited = false;
  for (;;) {
    const JobView v = view_job(*t.dir);
    if (v.state && v.state->last_ack_at && v.state->last_ack_at != before) {
      r.state = v.shown;
      acknowledged(r, failures);
      return Ack::Done;
    }
    if (exited) {
      return Ack::Gone;
    }
    if (monotonic_now() >= deadline) {
      r.message = fmt::format("its supervisor (pid {}) did not record the ack within {}",
                              t.state.supervisor.pid, format_duration(k_ack_wait));
      return Ack::Done;
    }
    std::vector<pollfd> fds{watch.poll_entry(), pollfd{t.pidfd.get(), POLLIN, 0}};
    poll_until(fds, watch.cap(deadline));
    watch.drain();
    exited = fds[1].revents != 0; // look once more: it may have written the ack, then ended
  }
}

// The ack of a job whose supervisor is gone (ended, or lost), written under the job's lock:
// state.json replaced with the count zeroed and last_ack_at later than the supervisor's last
// write, which it keeps (failures.h), and the ack event appended. False when the lock is taken
// (a supervisor started meanwhile).
bool ack_under_lock(const JobDir& dir, CtlResult& r)
{
  UniqueFd lock = dir.open_lock();
  if (!try_lock(lock.get())) {
    return false;
  }
  // Read again under the lock: what is acknowledged is what nobody can change now. (The view's
  // state as shown stays the one seen before: with our lock held it would read alive.)
  const JobView v = view_job(dir);
  if (!v.state) {
    r.message = "cannot read its state: " + v.error;
    return true;
  }
  JobState st = *v.state;
  const WallTime at = ack_time(st, wall_now());
  const unsigned failures = acknowledge(st, at);
  const std::string by = fmt::format("{} (pid {})", process_command(::getpid()), ::getpid());
  EventLog(dir.fd()).append(nlohmann::json(ev::Ack{at, failures, by}));
  dir.write_state(st);
  acknowledged(r, failures);
  return true;
}

CtlResult ack_one(const JobsAt& jobs, const std::string& name)
{
  std::optional<Target> t;
  // Twice at most: a job that ends as its supervisor is asked is then acknowledged under its
  // lock, and one whose lock is taken meanwhile (a new supervisor) is then asked.
  for (int attempt = 0; attempt < 2; ++attempt) {
    t.emplace(reach(jobs, name, "ack"));
    if (t->pidfd) {
      if (ack_live(*t) == Ack::Done) {
        return std::move(t->result);
      }
      continue;
    }
    if (!t->dir || t->result.unreadable) {
      return std::move(t->result); // unknown, or its directory cannot be read
    }
    if (ack_under_lock(*t->dir, t->result)) {
      return std::move(t->result);
    }
  }
  t->result.ok = false;
  t->result.message =
      t->pidfd ? "its supervisor ended as it was asked; try again"
               : "its lock is held, but its supervisor cannot be asked: " + t->result.message;
  return std::move(t->result);
}

} // namespace

std::vector<CtlResult> ack_jobs(const JobsAt& jobs, const std::vector<std::string>& names)
{
  std::vector<CtlResult> results;
  for (const auto& name : names) {
    try {
      results.push_back(ack_one(jobs, name));
    } catch (const std::exception& e) {
      CtlResult r;
      r.name = name;
      r.action = "ack";
      r.message = fmt::format("not acknowledged: {}", e.what());
      results.push_back(std::move(r));
    }
  }
  return results;
}

} // namespace pg
