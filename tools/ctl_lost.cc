#include "ctl_lost.h"

#include "events.h"
#include "failures.h"
#include "job_view.h"
#include "leftovers.h"
#include "lost_run.h"
#include "parse.h"

#include <fmt/format.h>

namespace pg {

CtlResult stop_lost_job(const JobDir& dir, CtlResult r, std::optional<Millis> timeout)
{
  // Under the lock: a launch or revive meanwhile waits for us (or we leave the job to it).
  UniqueFd lock = dir.open_lock();
  if (!try_lock(lock.get())) {
    return r;
  }
  // We hold the lock now, so a state that still says alive is a lost job's.
  const JobView v = view_job(dir);
  if (!v.state || !is_live(v.state->state)) {
    return r;
  }
  const JobState& st = *v.state;
  const std::vector<TreeProcess> left = leftovers(st);
  if (left.empty()) {
    return r;
  }
  const Millis grace = timeout.value_or(st.definition.stop_timeout);
  if (!end_leftovers(st, st.definition.stop_signal, grace, grace + k_ctl_margin)) {
    r.message = fmt::format("is lost and its leftovers ({}) did not end within {}",
                            leftover_pids_text(left), format_duration(grace + k_ctl_margin));
    return r;
  }
  JobState end = st;
  EventLog events(dir.fd());
  if (auto lost = lost_run_exit(st, read_history_tail(dir, st.definition.log))) {
    end.last_exit = *lost;
    end.failures = end.failures.value_or(0) + 1; // a lost run is a failed exit
    if (!state_acknowledged(st)) {
      ++end.failures_since_ack; // a failure heard, unless its lost state was acknowledged
    }
    events.append(ev::Exit{*lost});
  }
  const std::string pids = leftover_pids_text(left);
  end.state = RunState::Stopped;
  end.end_cause =
      fmt::format("requested: pg-ctl stop of the lost job ended its leftovers ({})", pids);
  end.pid.reset();
  end.next_start_at.reset();
  end.tree.clear();
  end.updated_at = wall_now();
  nlohmann::json ended = ev::End{to_string(end.state), end.end_cause, "pg-ctl stop"};
  ended["at"] = format_rfc3339(end.updated_at);
  events.append(ended);
  dir.write_state(end);
  r.ok = true;
  r.state = end.state;
  r.pid.reset();
  r.last_exit = end.last_exit;
  r.message = fmt::format("stopped: it was lost, and its leftovers ({}) ended", pids);
  return r;
}

} // namespace pg
