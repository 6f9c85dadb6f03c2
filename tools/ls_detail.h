// pg-ls NAME: the systemctl-status-like view of one job.
#pragma once

#include "ls_job.h"

#include <string>
#include <vector>

namespace pg {

// "Limits": each --limit in force in the option's words ("core=0; nofile=64:128"), nproc noted
// as not enforced when the job runs as root (the kernel exempts it); "" without limits.
std::string limits_text(const std::vector<Limit>& limits, bool root);
// "Caps": "memory 512 MiB (swap included); tasks 100; cpu 50% of one CPU"; "" without caps.
std::string caps_text(const JobDefinition& d);

// The systemctl-status-like view of one job.
std::string render_detail(const ListedJob& job, const JobHistory& history, const LsStyle& style);

} // namespace pg
