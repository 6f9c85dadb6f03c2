// pg-ls --json: one writer of a job's JSON object, straight into text as nlohmann's dump(2)
// writes it; the values job_json() and exit_json() are that text parsed.
#pragma once

#include "ls_job.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace pg {

// pg-ls --json: the array of the jobs' objects (times RFC 3339 UTC, durations in seconds, null
// when unknown; keys in a reading order, name and state first), as nlohmann's dump(2) writes
// it (invalid UTF-8 replaced), written straight without building JSON values.
std::string jobs_json_text(const std::vector<ListedJob>& jobs);
// jobs_json_text() one job at a time: appends to out the array's text for its job number
// index (0 for the first, which opens the array); append_jobs_json_end() closes the array
// after count jobs.
void append_job_json(std::string& out, const ListedJob& job, size_t index);
void append_jobs_json_end(std::string& out, size_t count);

// One job's object of that array as a JSON value (its text parsed: one writer), for callers
// that add to it (--check --json) or look into it.
nlohmann::ordered_json job_json(const ListedJob& job);

// The last_exit object of a job's: {code, signal, core_dumped, runtime_s, outcome, cause, at,
// pid, max_rss_kb, user_cpu_s, sys_cpu_s}, as a value likewise.
nlohmann::ordered_json exit_json(const ExitRecord& e);

} // namespace pg
