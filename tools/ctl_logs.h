// pg-ctl logs: the last lines of a job's output log (across its rotated files), then following
// it, through the job's verified supervisor.
#pragma once

#include "ctl_actions.h"
#include "tail.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace pg {

// The lines shown when -n is not given.
inline constexpr uint64_t k_default_log_lines = 10;

// The N of "-n N": digits only; nullopt when it is not a count of lines.
std::optional<uint64_t> parse_line_count(std::string_view text);

struct LogsOptions {
  uint64_t lines = k_default_log_lines;
  bool follow = false;
  bool json = false; // collect the lines into LogsResult::json instead of writing them
};

// What pg-ctl logs did.
struct LogsResult {
  int status = k_ctl_exit_ok;
  std::string error;   // why it failed, said on stderr as "pg-ctl: NAME: ERROR"
  std::string note;    // said on stderr though nothing failed: "not running; not following"
  nlohmann::json json; // with LogsOptions::json: {"log", "lines"} (show_logs adds "name")
};

// Writes the last opt.lines lines of the log at path (LOG, then LOG.1, ... when LOG holds fewer)
// to out. With opt.follow and a supervisor_pidfd, then writes what is appended, following LOG
// across rotations, until that process has exited and the log is drained, SIGINT or SIGTERM
// arrives, or out is closed (all three end with status 0). A log directly in dir is opened
// without following links; a log that is not a regular file is an error.
LogsResult write_log(const JobDir& dir, const std::string& path, const LogsOptions& opt,
                     int supervisor_pidfd, int out);

// pg-ctl logs NAME: the job's log (state.json's definition.log, else STATE/NAME/output.log)
// through write_log(), following it only while the job's verified supervisor lives.
LogsResult show_logs(const JobsAt& jobs, const std::string& name, const LogsOptions& opt, int out);

} // namespace pg
