// Failures heard until acknowledged (DESIGN, "Day-2 operations"): what counts as a failure, and
// how an acknowledgement is kept in state.json (failures_since_ack, last_ack_at), so that
// pg-ls --check hears a death until someone says they heard it, without reading history.
// Pure functions of values.
#pragma once

#include "clock.h"
#include "state.h"

#include <string>
#include <string_view>

namespace pg {

// The stable keyword a cause starts with ("exit", "outside-signal", ...).
std::string cause_keyword(std::string_view cause);

// An exit record that counts as a failure: outcome failed (premature, lost and oom included).
bool is_failed_exit(const ExitRecord& e);
// A job's end (its end_cause) that counts as a failure: a stop by a signal that pg-ctl did not
// send, during a run or between runs.
bool is_outside_stop(std::string_view end_cause);
// An exit that pg-ls --check hears as a failure: a failed one, or a run stopped by a signal
// pg-ctl did not send.
bool is_heard_failure(const ExitRecord& e);
// The job's last exit when a failure is heard of it (it failed, or a signal from outside stopped
// its run), else nullptr: what pg-ls --check says the last failure was.
const ExitRecord* last_failure(const JobState& s);

// Acknowledges every failure up to at: failures_since_ack becomes 0, last_ack_at at. Returns
// how many failures were acknowledged.
unsigned acknowledge(JobState& s, WallTime at);

// Whether the state state.json shows now was acknowledged after it was recorded: a job's
// current failed, lost or outside-stopped state, which pg-ls --check is quiet about then.
//
// Known from the two times alone, because of who writes them. A supervisor sets updated_at at
// each of its writes, never earlier than the last_ack_at it records (supervisor_time()), so
// nothing a supervisor wrote reads as acknowledged after the fact, not even a lost job's last
// state. pg-ctl acknowledges a job without a live supervisor under the job's lock, writing
// last_ack_at later than updated_at (ack_time()) and leaving updated_at as the last supervisor
// wrote it. So last_ack_at > updated_at exactly when the last write was such an ack: nothing
// happened to the job since, and what it shows (its end, or its loss, which came before the
// lock was free) was acknowledged. Any later writer of state.json (a new supervisor, pg-ctl
// marking the job stopped or completed) sets updated_at anew.
bool state_acknowledged(const JobState& s);

// The last_ack_at pg-ctl records for an ack of a job whose supervisor is gone: now (to the
// millisecond state.json keeps), but always later than updated_at, also when the wall clock
// stepped back or the supervisor wrote within the same millisecond.
WallTime ack_time(const JobState& s, WallTime now);
// The updated_at a supervisor records for a write at now: never earlier than its last_ack_at.
WallTime supervisor_time(const JobState& s, WallTime now);

} // namespace pg
