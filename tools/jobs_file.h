// A jobs file (pg.toml, or a Procfile): each job's table turned into pg-run's own argument
// vector and parsed by pg-run's own parser (shim/run_args.cc), so every check pg-run makes is
// made, with its words. Errors name the file, the line and the key; the whole file is checked
// before anything starts.
#pragma once

#include "options.h"

#include <string>
#include <vector>

namespace pg {

// One job of the file, as pg-run would launch it.
struct FileJob {
  std::string name;
  unsigned line = 0;             // of its table (or Procfile line)
  std::vector<std::string> args; // pg-run's arguments, --name and --state-dir included
  Options opt;                   // what parse_run_args made of them
};

struct JobsFile {
  std::string path; // absolute
  std::vector<FileJob> jobs;
};

// ./pg.toml when it exists, else ./Procfile; throws Failure (2) when neither does.
std::string default_jobs_file();

// Reads and checks the whole file (pg.toml, or a Procfile by its name); throws Failure (2):
// "pg.toml:12: jobs.bot.durration: unknown key". A file or env_file owned by another user or
// writable by group or others is refused (2: it would run commands).
JobsFile read_jobs_file(const std::string& path, const std::string& state_dir);

// The pure parts, for the tests.
// One Procfile line: nullopt for a blank or comment line; else name and command (trimmed).
struct ProcfileLine {
  std::string name, command;
};
std::optional<ProcfileLine> procfile_line(const std::string& line);
// pg-run's arguments of a TOML table, given as its text (one [jobs.NAME] table): for the tests.
std::vector<std::string> toml_job_args(const std::string& toml_text, const std::string& name,
                                       const std::string& folder);

// What differs between a recorded definition and the file's, in the file's words ("command",
// "duration", "env", ...); never PATH, umask or the resolved command.
std::vector<std::string> changed_keys(const JobDefinition& recorded, const JobDefinition& file);

// The recorded definition as a jobs-file table ([jobs.NAME] ...), and as the pg-run command line
// that recreates it (shell-quoted, one line); options at pg-run's defaults are left out (the log
// when it is state_dir's default).
std::string definition_toml(const std::string& name, const JobDefinition& d,
                            const std::string& state_dir);
std::string definition_command_line(const std::string& name, const JobDefinition& d,
                                    const std::string& state_dir);

} // namespace pg
