// Where the launcher finds pg-supervise, the detached supervisor's program.
#pragma once

#include <optional>
#include <string>

namespace pg {

// Beside this program (the build tree's shim/, a tarball), else in the libexec directory of
// its installation prefix; from the build tree, pg-ctl's (tools/) finds the one built beside it
// in shim/. Never looked up on PATH. nullopt when none is executable.
std::optional<std::string> find_supervise();

} // namespace pg
