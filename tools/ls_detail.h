// pg-ls NAME: the systemctl-status-like view of one job.
#pragma once

#include "ls_job.h"

#include <string>

namespace pg {

// The systemctl-status-like view of one job.
std::string render_detail(const ListedJob& job, const JobHistory& history, const LsStyle& style);

} // namespace pg
