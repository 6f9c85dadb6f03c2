// pg-run's command line, parsed by CLI11 (each value checked by its validator, so the error
// names the option) into Options, then completed against the environment: the working
// directory, --env-file, the job's PATH, the command resolved to a file.
#pragma once

#include "failure.h"
#include "options.h"

#include <string>
#include <vector>

namespace pg {

// Fills opt from argv. Returns false when --help or --version was printed (exit 0). Throws
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

// Prints a failure the pg-run way ("pg-run: error: MSG" on stderr; with --json, the error object
// on stdout) and returns its exit status.
int report_failure(const Options& opt, const Failure& f);

} // namespace pg
