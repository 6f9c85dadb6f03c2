// pg-run's command line, parsed by CLI11 (each value checked by its validator, so the error
// names the option) into Options, then completed against the environment: the working
// directory, --env-file, the job's PATH, the command resolved to a file. Also what pg-run prints
// of a launch, so pg-ctl words its receipts as pg-run does.
#pragma once

#include "failure.h"
#include "options.h"
#include "run_status.h"

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace pg {

// Fills opt from argv. With the options pg-ctl gives (--relaunch, --revive: hidden from --help),
// the job's definition is the one recorded in its state directory, not the command line's
// (relaunch.h). Returns false when --help or --version was printed (exit 0). Throws
// Failure: 2 for a usage error, 1 for an environment error (bad --cwd, unreadable --env-file),
// 127/126 for a command not found / not executable. On a usage error the parser refused,
// opt.name and opt.json are what the arguments say, so the error can be reported as asked.
bool parse_run_args(int argc, char** argv, Options& opt);

// One of pg-run's long options as the jobs file names it ("max_restarts" for --max-restarts):
// whether it takes a value, and whether it defines the job (kept in its definition) or is about
// one launch (--name, --wait, --replace, --state-dir, --foreground, --quiet, --json).
struct RunOption {
  std::string key;
  bool flag = false;
  bool defines_job = true;
};
// Every option of pg-run's command line, from its declarations (not --help or --version).
std::vector<RunOption> run_options();

// --env-file's variables (common/environ.h's loader), refused whole, as Failure (1), when the file
// cannot be read or sets a variable that pg-run sets for the job itself.
std::vector<std::pair<std::string, std::string>> job_env_file(const std::string& path);

// The receipt of a launch, after "NAME: ": "running, pid P (supervisor S), log LOG", or
// "starting, ..." when a --notify job has not sent READY=1 (within the --wait, when one was given).
std::string receipt_text(const std::string& log, Millis wait, bool starting, pid_t pid,
                         pid_t supervisor);

// Prints a failure the pg-run way ("pg-run: error: MSG" on stderr; with --json, the error object
// on stdout) and returns its exit status.
int report_failure(const Options& opt, const Failure& f);

} // namespace pg
