// Which jobs a verb acts on: the names given, shell globs among them ('bot-*') matched against
// the state directory's jobs, or --all. A glob or --all picks, of the jobs it matches, those
// the verb is for: stop and restart the live ones (ended jobs are skipped, no error), start
// the ended ones that did not complete, revive the revivable ones, the others every job. A plain
// name is taken as given, so the verb says what is wrong with it.
#pragma once

#include "ctl_actions.h"
#include "ctl_args.h"

#include <string>
#include <string_view>
#include <vector>

namespace pg {

// True when name holds a glob's special characters (*, ?, [).
bool is_glob(std::string_view name);

struct Selection {
  std::vector<std::string> names;   // in order, each once
  std::vector<CtlResult> unmatched; // a failed result per glob that matched no job at all
};

Selection select_jobs(const JobsAt& jobs, const CtlCommand& c);

} // namespace pg
