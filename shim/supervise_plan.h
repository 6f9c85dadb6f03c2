// What pg-run hands pg-supervise across its exec: the launch as parsed (Options), the
// descriptors the claim opened, and what the job's history goes on from. pg-supervise links no
// command-line parser and no JSON reader, so this is one small format of its own, with this
// one writer and this one reader: "key=value" records each ending in a NUL byte, a repeated key
// for each element of a list (docs/supervise-plan.md). Both ends are the same build.
#pragma once

#include "fd.h"
#include "options.h"

#include <sys/types.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pg {

// What a supervisor goes on from in the job's history, read from the previous state.json and
// events.jsonl by the launcher under the job's lock (launch.cc).
struct PriorRuns {
  unsigned run_base = 0; // the history's last run number
  unsigned failures = 0; // failures ever recorded
  // A revival (Options::keep_ack): the failures heard since the last acknowledgement go on.
  unsigned failures_since_ack = 0;
  std::optional<WallTime> last_ack_at;
  // The run a dead supervisor left unrecorded, and whether its loss is a failure heard (not
  // when it was acknowledged after the dead supervisor's last write).
  std::optional<ExitRecord> lost;
  bool lost_heard = true;

  bool operator==(const PriorRuns&) const = default;
};

struct SupervisePlan {
  Options opt;
  PriorRuns prior;
  // Open across the exec (not close-on-exec): the job's directory, its lock, its log, and the
  // pipe the launcher reads the report on.
  int job_fd = -1;
  std::string job_path;
  uint64_t job_mount_id = 0;
  int lock_fd = -1;
  int log_fd = -1;
  int report_fd = -1;
  bool replaced = false; // --replace ended what ran: a failure says nothing of it runs now

  bool operator==(const SupervisePlan&) const = default;
};

class PlanError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Throws PlanError when a value holds a NUL byte (a damaged record's path, say: state.json can
// carry one as \u0000), which would end its record early and start another.
std::string write_plan(const SupervisePlan& plan);
// The plan written into a new memfd (close-on-exec, read from its start), by the launcher
// before it forks: a plan that cannot be written fails the launch there, before anything is
// started. Returns why it failed.
std::optional<std::string> write_plan_fd(const SupervisePlan& plan, UniqueFd& memfd);
// A launch that failed after --replace ended what ran: why, saying nothing of the job runs now.
std::string after_replace(bool replaced, const std::string& why);
// Throws PlanError naming the record that is not one of the plan's, or not of its kind.
SupervisePlan read_plan(std::string_view text);

} // namespace pg
