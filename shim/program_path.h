// Where one of process-guardian's programs finds another: the launcher its pg-supervise, pg-ctl
// its pg-run.
#pragma once

#include <optional>
#include <string>

namespace pg {

// The program called name beside this one (the bin directory, a tarball, the build tree's
// shim/), else in the libexec directory of this installation's prefix; run from the build tree,
// the one built in shim/ (pg-ctl is built in tools/). Never looked up on PATH: another
// installation's program would not take this one's options. nullopt when none is executable.
std::optional<std::string> find_pg_program(const std::string& name);

} // namespace pg
