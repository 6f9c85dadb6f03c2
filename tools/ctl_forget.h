// pg-ctl forget: remove an ended job's state directory, so its name starts again with an empty
// history. Never a live job (its supervisor holds the lock), and never a lost job whose
// processes still run (its state is the only record of how to find them).
#pragma once

#include "ctl_actions.h"

#include <string>
#include <string_view>
#include <vector>

namespace pg {

// Whether a file of a job directory is one pg wrote there and forget may remove: state.json
// and environ (and their temp files), events.jsonl and its rotations, lock, output.log and its
// rotations.
bool forgettable_file(std::string_view file);

// Forgets each named job; one result per name.
std::vector<CtlResult> forget_jobs(const JobsAt& jobs, const std::vector<std::string>& names);

} // namespace pg
