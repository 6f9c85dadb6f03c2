// What pg-ls prints: its views (the table, ls_table.h; the one-job detail view, ls_detail.h;
// the JSON, ls_json.h: all included here), the phrases they share, the --check problem lines,
// and what the detail view shows of a job's events and log. Pure functions of values (the job,
// "now", colour on/off): no I/O here.
#pragma once

#include "clock.h"
#include "failures.h"
#include "ls_detail.h"
#include "ls_job.h"
#include "ls_json.h"
#include "ls_table.h"
#include "state.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pg {

// "[######----] 62%": done (0..1) as a bar of width cells.
std::string duration_bar(double done, int width = 10);

// argv joined with spaces, each word single-quoted when the shell would need it.
std::string shell_join(const std::vector<std::string>& argv);

// "failed: exit 3, 2m00s ago" / "stopped: SIGTERM (outside-signal), 5s ago": for tables.
std::string last_exit_summary(const ExitRecord& e, WallTime now);

// A run's length for people: "0.4s", "12.0s", "4m10s", "2h05m".
std::string format_runtime(double seconds);

// A size for a table cell, in binary units: "512B", "1.5K", "12M", "3.0G".
std::string short_bytes(uint64_t bytes);

// A run's resource use from its exit record: "rss 12M cpu 1.25s", or "-" when not recorded.
std::string resource_summary(const ExitRecord& e);

// The --check line for a job that needs attention, or nullopt when it is healthy. A job with
// failures since its last acknowledgement: "bot: 2 failures since 2026-12-06 21:04:10 (last:
// premature exit code 0 after 33m00s); running again", the tail being its current problem
// when it has one. Any other job: its problem, "bot: failed: ...", "bot: lost: ...", "bot:
// stopped by an outside signal: ..." (each unless acknowledged since), or its unwritable
// directory.
std::optional<std::string> check_problem(const ListedJob& job);

// The exit records among the lines of an events.jsonl tail, as parse_events reads them (oldest
// first, at most max, the newest kept). A first line cut by the tail and lines that do not
// parse are skipped; a last line without its newline counts once it parses.
std::vector<ExitRecord> exits_from_events(std::string_view tail, bool starts_mid_line, size_t max);

// The last max lines of a log tail (a first line cut by the tail is dropped), each made safe
// for a terminal: control characters escaped, a trailing \r removed, very long lines cut.
std::vector<std::string> last_log_lines(std::string_view tail, bool starts_mid_line, size_t max);

} // namespace pg
