#include "caps.h"

#include <fmt/format.h>

namespace pg {

std::optional<std::string> caps_unavailable(const JobDefinition& def)
{
  const char* option = def.memory_cap > 0      ? "--memory-cap"
                       : def.tasks_cap > 0     ? "--tasks-cap"
                       : def.cpu_quota_pct > 0 ? "--cpu-quota"
                                               : nullptr;
  if (option == nullptr) {
    return std::nullopt;
  }
  // The job's own cgroup is what enforces a cap; this build cannot make one yet.
  return fmt::format("{} cannot be enforced: this pg-run cannot give the job a cgroup of its "
                     "own (no cgroup support in this build); nothing was started",
                     option);
}

} // namespace pg
