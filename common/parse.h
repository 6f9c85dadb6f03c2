// Pure parsers for what users type: job names, durations, sizes, env files.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pg {

using Millis = std::chrono::milliseconds;

// text for a one-line message on a terminal: control bytes (a newline, an escape sequence)
// shown as \xNN, everything else as is.
std::string escape_control(std::string_view text);

// Empty when name matches [A-Za-z0-9][A-Za-z0-9._-]{0,63}; otherwise why it does not.
std::string name_problem(std::string_view name);

// The longest duration pg takes anywhere (options, state.json): 36500 days, about 100 years.
// A deadline is a clock value plus a duration in signed 64-bit nanoseconds (about 292 years):
// this leaves room for any BOOTTIME a time namespace allows (about 146 years).
inline constexpr Millis k_max_duration = std::chrono::days(36500);

// "250ms", "90s", "30m", "8h", "2d", "1h30m"; a bare number is seconds. nullopt when malformed
// or longer than k_max_duration (duration_too_long tells which).
std::optional<Millis> parse_duration(std::string_view text);

// True when text is a well-formed duration longer than k_max_duration ("36501d",
// "99999999999999999999s"): parse_duration refuses it as too long, not as malformed.
bool duration_too_long(std::string_view text);

// The one wording of that refusal, for every tool: "OPTION: 'TEXT' is longer than the limit of
// 36500d (about 100 years)".
std::string duration_too_long_error(std::string_view option, std::string_view text);

// The shortest exact rendering: "1h30m", "250ms", "0s".
std::string format_duration(Millis d);

// "512", "10K", "10M", "1G" (powers of 1024). nullopt when malformed or out of range.
std::optional<uint64_t> parse_size(std::string_view text);

// A size as parse_size reads it back: "512M", "10K", "1G" when a power of 1024 divides it
// exactly, else the plain number of bytes ("1000").
std::string format_size(uint64_t bytes);

// "50%" or "50" (a whole number of percent; "150%" is one and a half CPUs), at most max; nullopt
// when malformed, 0 or above max.
std::optional<unsigned> parse_percent(std::string_view text, unsigned max);

// One KEY=VALUE line of an env file, or the reason it is malformed.
struct EnvFileResult {
  std::vector<std::pair<std::string, std::string>> vars;
  std::string error; // "line 3: ..." when malformed
};

// Lines KEY=VALUE, optional "export ", # comments, blank lines, values in '' or "" unexpanded.
EnvFileResult parse_env_file(std::string_view text);
// The --env-file at path, read and parsed; error says "--env-file PATH: WHY" when it cannot be
// read or is malformed. The one loader, for the launch and for a revival.
EnvFileResult load_env_file(const std::string& path);

// True when key is a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*).
bool valid_env_key(std::string_view key);

// Variables pg-run sets for the job itself (PG_NAME, PG_RUN_ID, NOTIFY_SOCKET, WATCHDOG_USEC,
// WATCHDOG_PID): never taken from the ambient environment, --env or --env-file.
bool reserved_env_key(std::string_view key);

} // namespace pg
