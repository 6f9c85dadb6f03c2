// pg-ctl up and down: a jobs file's jobs started, replaced when their definition changed, left
// alone when it did not; stopped again by down (only the jobs recorded as coming from the file).
#pragma once

#include "ctl_actions.h"
#include "jobs_file.h"

#include <string>
#include <vector>

namespace pg {

struct UpOptions {
  bool prune = false; // stop the file's running jobs that left it
  bool force = false; // replace a job of the same name from another file or launched by hand
};

// One result per job of the file (the named ones, or all), then one per job that left it.
std::vector<CtlResult> up_jobs(const JobsAt& jobs, const JobsFile& file,
                               const std::vector<std::string>& names, const UpOptions& opt);

// Stops the running jobs recorded as coming from the file (the named ones, or all).
std::vector<CtlResult> down_jobs(const JobsAt& jobs, const std::string& file_path,
                                 const std::vector<std::string>& names);

} // namespace pg
