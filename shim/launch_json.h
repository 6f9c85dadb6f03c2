// What `pg-run --json` prints when the launch does not end with a receipt: an error before
// anything started, a command that cannot run, a job that ended during --wait. Pure functions
// of values; the caller prints them as one line on stdout.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>

#include <string>
#include <string_view>
#include <vector>

namespace pg {

// {"name", "error", "status"}: a launch that started nothing (name null when not known yet).
nlohmann::json launch_error_json(std::string_view name, std::string_view error, int status);

// The command could not be executed (126/127): launch_error_json() plus "state": "failed" and
// "last_exit" (the supervisor's record of the attempt, or null when none was made).
nlohmann::json exec_failure_json(std::string_view name, std::string_view error, int status,
                                 const nlohmann::json& last_exit);

// A run that ended during --wait: {"name", "state", "last_exit", "log", "log_tail", "wait_s",
// "status"}, from the supervisor's report (an exit record plus the job's "state").
nlohmann::json ended_json(std::string_view name, const nlohmann::json& report,
                          const std::string& log, const std::vector<std::string>& log_tail,
                          double wait_s, int status);

// A run that ended during --wait, in words, from its exit record: "ended during the 5s wait:
// exit code 3 after 0.012s, failed (CAUSE)". pg-run prints it after "NAME: ", and so does
// pg-ctl start from pg-run's JSON.
std::string early_end_text(std::chrono::milliseconds wait, const nlohmann::json& exit_record);

// What a command line the option parser refused still says: whether --json is among the
// arguments before "--", and the -n/--name given there ("" when none).
struct ArgsPeek {
  bool json = false;
  std::string name;
};
ArgsPeek peek_args(const std::vector<std::string>& args);

} // namespace pg
