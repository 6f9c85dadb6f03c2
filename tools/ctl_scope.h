// Transient systemd scopes for pg-ctl revive --scope: a command run through
// `systemd-run --user --scope` starts in a scope unit of its own, and what it leaves behind (a
// detached supervisor) stays there, not in the cgroup of the unit that ran pg-ctl.
#pragma once

#include <string>
#include <vector>

namespace pg {

// The unit name for a job's scope: pg-job-NAME-<seconds>-<pid>.scope (job names are valid
// unit name characters already).
std::string scope_unit_name(const std::string& job, long long now_s, int pid);

// systemd-run --user --scope can make a scope here: it is on PATH and the user manager
// answers. Runs `systemd-run ... -- self --version` once; why it cannot, in why.
bool scopes_available(const std::string& self, std::string& why);

// Runs argv inside a new scope named unit (systemd-run --user --scope --quiet --collect),
// its stdout on /dev/null and stderr inherited, and returns its exit status (128+N for a
// signal, 127 when systemd-run cannot be run at all).
int run_in_scope(const std::string& unit, const std::string& description,
                 const std::vector<std::string>& argv);

// This program's own path (/proc/self/exe), for running it again inside a scope.
std::string self_exe();

} // namespace pg
