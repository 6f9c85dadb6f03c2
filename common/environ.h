// The launch environment: what the job's environment was built from (pg-run's own, or the
// one pg-ctl start/revive hand over), kept in STATE/NAME/environ (0600) so a job started again
// from cron's bare environment, or after a reboot, runs as it was launched. The file is a list
// of KEY=VALUE entries, each ended by a NUL byte (as /proc/PID/environ); it is never printed,
// and never copied into state.json or the events.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pg {

// Variables bound to the session that launched the job, not kept: an SSH agent or connection,
// a terminal multiplexer, the X window, the login session, the shell's own bookkeeping
// (SSH_AUTH_SOCK, SSH_AGENT_PID, SSH_CONNECTION, SSH_CLIENT, SSH_TTY, XDG_SESSION_*, WINDOWID,
// TMUX, TMUX_PANE, STY, OLDPWD, SHLVL, _).
bool session_bound_env_key(std::string_view key);

// This process's environment, as KEY=VALUE entries.
std::vector<std::string> current_environ();

// The text of STATE/NAME/environ for entries: those worth keeping (not session-bound, not set
// by pg-run itself, well formed), each followed by a NUL.
std::string environ_text(const std::vector<std::string>& entries);

// The entries of an environ file's text; a piece without '=' or with an empty key is skipped.
std::vector<std::string> parse_environ(std::string_view text);

} // namespace pg
