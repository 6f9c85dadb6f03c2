// A lost run's record: when a job whose supervisor died without recording an end is taken over
// (pg-ctl revive, pg-run, pg-ctl start), its last run gets an exit record first, and the run
// numbers go on from the history's last one. The taker-over writes it (Supervisor::start).
#pragma once

#include "state.h"
#include "state_dir.h"

#include <optional>

namespace pg {

// What the end of events.jsonl says about the job's last run, read from its tail only.
struct HistoryTail {
  std::optional<WallTime> last_at;       // the last event's time
  unsigned last_run = 0;                 // the last start event's run number (0: none seen)
  pid_t last_start_pid = 0;              // that start's pid
  std::optional<WallTime> last_start_at; // and time
  bool run_ended = false;                // an exit or an end was recorded after that start
  std::optional<WallTime> log_at;        // the job's log was last written (by its supervisor)
};

// The tail of STATE/NAME/events.jsonl (its last 64 KiB); empty when unreadable. log: the job's
// output log, whose modification time is the supervisor's last sign of life when it relayed
// output after its last event ("": not looked at).
HistoryTail read_history_tail(const JobDir& dir, const std::string& log = "");

// The number of the last run the job's history knows (0: none): state.json's, or the events'
// when they are ahead (state.json is written a moment after the event).
unsigned last_run_number(const std::optional<JobState>& prev, const HistoryTail& tail);

// The exit record of the run that prev's supervisor left unrecorded: nullopt unless prev says
// the job is live (then its supervisor is gone: the caller holds the lock) and a run was under
// way (not between runs, and no end of it on record). pid, the run's main process; code and
// signal null; outcome failed; cause "lost: supervisor pid S died without recording an end;
// last seen T"; runtime_s and at up to the last moment known (the latest of state.json's
// updated_at, the events' last line and the log's last write).
std::optional<ExitRecord> lost_run_exit(const JobState& prev, const HistoryTail& tail);

} // namespace pg
