// pg-ctl unit NAME: the systemd unit that comes closest to a job's recorded definition, for a
// user who graduates to systemd. What systemd cannot express (a premature exit 0 counted as a
// failure, --stall, the graceful --max-memory restart...) is said in comments, never dropped.
#pragma once

#include "state.h"

#include <string>
#include <string_view>

namespace pg {

// One word of ExecStart=, quoted and escaped for systemd's parser: backslash and double quote
// escaped, specifiers (%) and variable expansion ($) made literal, control characters as C
// escapes; quoted when it holds whitespace or quotes or is empty.
std::string systemd_exec_word(std::string_view word);

// A value of Environment= ("K=V", quoted and escaped; % made literal).
std::string systemd_env_assignment(std::string_view key, std::string_view value);

// The whole unit text for the job (a user unit: WantedBy=default.target); source names where
// the definition was read, for the header comment.
std::string systemd_unit(const JobState& st, std::string_view source);

} // namespace pg
