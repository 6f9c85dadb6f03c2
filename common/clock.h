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

// The times parse_rfc3339 reads, in seconds since 1970: 1897-02-11 to 2188-08-26. A time point
// counts nanoseconds in 64 bits (about 292 years either way), and readers subtract two of them
// (an age, an uptime): 9.2e9 s apart at most, neither the conversion nor a difference
// overflows. The range reaches well past now + k_max_duration (100 years: a --duration's
// deadline_at, a backoff's next_start_at) and keeps every time since 1900 before 1970.
inline constexpr int64_t k_min_time_s = -2'300'000'000;
inline constexpr int64_t k_max_time_s = 6'900'000'000;

// "2026-11-21T22:09:19.123Z" (UTC, milliseconds).
std::string format_rfc3339(WallTime t);
// Parses what format_rfc3339 writes (and "...Z" without fraction, or a +hh:mm offset).
std::optional<WallTime> parse_rfc3339(std::string_view text);
// "2026-11-21 23:09:19" in local time, for tables.
std::string format_local(WallTime t);

// "3d04h", "2h05m", "4m10s", "12s": a compact age for tables.
std::string format_age(std::chrono::seconds s);

} // namespace pg
