// pg-ctl start, revive and up launch by running pg-run, found beside pg-ctl: every launch is
// pg-run's own, its checks and its words, and pg-ctl holds none of the launcher's code.
#pragma once

#include <string>
#include <vector>

namespace pg {

// Where a child's output goes: pg-ctl's own, or /dev/null.
enum class ChildOutput { Inherit, NoStdout, None };

// Runs argv (PATH searched) and waits for it; returns its exit status (128+N for signal N), or
// 127 when it cannot be run. pg-ctl's buffered output is written out first.
int run_and_wait(const std::vector<std::string>& argv, ChildOutput out);

// pg-run's argv: its path, then args (those after its name). Throws Failure (1) when no pg-run
// is beside pg-ctl.
std::vector<std::string> pg_run_argv(const std::vector<std::string>& args);

// Runs pg-run with args (those after its name) and with pg-ctl's environment, stdout and stderr
// (pg-run says on stderr why a launch failed); returns its exit status. Throws Failure (1) when
// no pg-run is beside pg-ctl.
int run_pg_run(const std::vector<std::string>& args);

} // namespace pg
