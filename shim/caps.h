// The kernel-enforced caps (--memory-cap, --tasks-cap, --cpu-quota): whether this pg-run can
// hold a job to them. A cap is never silently unenforced: the launch is refused instead.
#pragma once

#include "state.h"

#include <optional>
#include <string>

namespace pg {

// "--memory-cap cannot be enforced: WHY" for the first cap def asks for that cannot be
// enforced here, with what would allow it; nullopt when it asks for none (or all can be).
std::optional<std::string> caps_unavailable(const JobDefinition& def);

} // namespace pg
