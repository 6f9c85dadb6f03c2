// Clocks: BOOTTIME and MONOTONIC for measuring, the wall clock only for what users read.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pg {

using Nanos = std::chrono::nanoseconds;
using WallTime = std::chrono::system_clock::time_point;

// Time since boot, counting suspend (CLOCK_BOOTTIME).
Nanos boottime_now();
// Time since boot, not counting suspend (CLOCK_MONOTONIC).
Nanos monotonic_now();
WallTime wall_now();

// "2026-11-21T22:09:19.123Z" (UTC, milliseconds).
std::string format_rfc3339(WallTime t);
// Parses what format_rfc3339 writes (and "...Z" without fraction, or a +hh:mm offset).
std::optional<WallTime> parse_rfc3339(std::string_view text);
// "2026-11-21 23:09:19" in local time, for tables.
std::string format_local(WallTime t);

// "3d04h", "2h05m", "4m10s", "12s": a compact age for tables.
std::string format_age(std::chrono::seconds s);

} // namespace pg
