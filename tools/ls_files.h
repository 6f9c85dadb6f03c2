// What pg-ls reads of a job's files besides its state: the tails of its events and output
// log for the detail view, and its events (with their rotations) for --events.
#pragma once

#include "clock.h"
#include "ls_history.h"
#include "ls_job.h"
#include "state_dir.h"

#include <optional>
#include <string>
#include <vector>

namespace pg {

// Opens a file of the job's directory for reading, never following a link.
UniqueFd open_in_job(const JobDir& dir, const std::string& file);

// The job's events at or after since (all when nullopt), oldest first: events.jsonl and, going
// back, its rotations while they may hold events that recent.
std::vector<JobEvent> read_events(const JobDir& dir, std::optional<WallTime> since);

// The same, and before them the older events of the oldest file read: what the job was doing
// when since came (--timeline's window), as far as its kept history tells.
std::vector<JobEvent> read_events_around(const JobDir& dir, WallTime since);

// The detail view's last exits and output lines.
JobHistory read_history(const JobDir& dir, const JobView& view);

} // namespace pg
