// pg-ctl start, revive and up launch by running pg-run, found beside pg-ctl: every launch is
// pg-run's own, its checks and its words, and pg-ctl holds none of the launcher's code.
#pragma once

#include "ctl_actions.h"
#include "job_view.h"

#include <nlohmann/json.hpp>

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

// What `pg-run --json` answered: its exit status, and the one object it printed on stdout (its
// receipt, the end of a run that ended during --wait, or its error; null when it printed none).
struct PgRunReport {
  int status = 127;
  nlohmann::json report;
};

// Runs pg-run --json with args, its stdout read (pg-ctl's stderr is its: pg-run still says there
// why a launch failed). Throws Failure (1) when no pg-run is beside pg-ctl.
PgRunReport run_pg_run_json(const std::vector<std::string>& args);

// A pid of pg-run's report ("pid", "supervisor_pid"), or 0 when it has none.
pid_t report_pid(const nlohmann::json& report, const char* key);

// A launch's result from pg-run's report: its receipt ("running, pid P (supervisor S), log L"),
// or a task that completed during --wait ("ended during the 5s wait: exit code 0 ..."), or "not
// started (pg-run's status N)"; a run that failed during --wait has its last output lines
// written on stderr, after pg-run's line, as pg-run writes them.
void take_launch_report(CtlResult& r, const PgRunReport& run, Millis wait);

// What a launch through pg-run gave: pg-run's exit status and the supervisor's pid (0: none
// known).
struct Launched {
  int status = 127;
  pid_t supervisor = 0;
};

// Launches job name through `pg-run --json` with args (pg-ctl's start, up and revive): r takes
// pg-run's report (take_launch_report, with wait), or, when the report gives no state (pg-run
// printed none, or an error), what the job's record says after it (look_after): in dir, the
// caller's open directory of the job, or, when null (a first launch may have made it), found in
// jobs. The supervisor's pid is the report's, else the record's.
Launched launch_through_pg_run(CtlResult& r, const JobsAt& jobs, const JobDir* dir,
                               const std::string& name, const std::vector<std::string>& args,
                               Millis wait);

// The job as a launch or revival left it, from its record: r's state (the shown one) and its pid
// while its supervisor lives; unchanged when the record cannot be read.
JobView look_after(const JobDir& dir, CtlResult& r);

} // namespace pg
