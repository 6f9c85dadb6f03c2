// pg-run's launch: take the job's lock, then either supervise in the foreground or detach
// (fork, setsid, fork) and report back to the launcher once the job has exec'd.
#pragma once

#include "options.h"

#include <sys/types.h>

#include <string>

namespace pg {

// Launch exit statuses, as DESIGN.md defines them.
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_env = 1;
inline constexpr int k_exit_usage = 2;
inline constexpr int k_exit_busy = 3;

// Runs the job as opt says; returns pg-run's exit status.
int launch(const Options& opt);

// The receipt of a launch, after "NAME: ": "running, pid P (supervisor S), log LOG", or
// "starting, ..." when a --notify job has not sent READY=1.
std::string receipt_text(const Options& opt, bool starting, pid_t pid, pid_t supervisor);

} // namespace pg
