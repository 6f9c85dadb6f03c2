// pg-ls --watch and --events --follow: a loop that draws or prints on each tick (a timerfd)
// until SIGINT or SIGTERM (StopSignals, as pg-ctl logs -f), never a fixed sleep.
#pragma once

#include "ctl_log_io.h"
#include "fd.h"
#include "parse.h"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace pg {

// Waits up to timeout_ms (-1: forever) for a stop signal or for extra_fd (when >= 0) to be
// readable; true when a stop signal came.
bool wait_for_stop(const StopSignals& stop, int timeout_ms, int extra_fd = -1);

// The text of one tick: the table as pg-ls prints it once.
using RenderFn = std::function<std::string()>;

// --watch: every interval, render() again: on a terminal, redrawn in place (cursor home, each
// line cleared to its end, the rest of the screen cleared, like watch(1)) under a title line;
// elsewhere each table whole (no title) after a blank line, written at once. Returns on SIGINT or
// SIGTERM.
void watch_loop(const RenderFn& render, Millis interval, bool terminal, const RenderFn& title);

// "0.5" seconds as watch(1) takes them, or a duration ("250ms", "2s", "1m"); nullopt when it
// is neither or under 100ms.
std::optional<Millis> parse_watch_interval(std::string_view text);

// A table's text made to redraw in place: each line cleared to its end, then the rest of the
// screen cleared; cursor home first.
std::string redraw_in_place(std::string_view text);

// The columns a line of output may take: the terminal's width when stdout is a terminal, else
// $COLUMNS when it is a positive number, else 80.
size_t output_columns();

// Whether the locale (LC_ALL, LC_CTYPE, LANG, set with setlocale(LC_CTYPE, "")) writes UTF-8:
// else drawings fall back to ASCII.
bool locale_is_utf8();

} // namespace pg
