// pg-ls --timeline: each job's runs over the last D as a bar of cells, one line per job, with a
// time axis and a legend under the bars. A pure function of values: the caller reads the events,
// the terminal's width, the colour and locale decisions.
#pragma once

#include "clock.h"
#include "ls_history.h"
#include "parse.h"

#include <array>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace pg {

// What a job was at an instant, as its events tell: no record yet (before its first event),
// up (a run going), between runs (launched and not started yet, or in a restart's backoff), down
// (ended: stopped, completed, failed, gave up).
enum class Phase { None, Up, Between, Down };

// One job's line: its name and its events, oldest first. Events before the window only set what
// the job was when the window opened.
struct TimelineJob {
  std::string name;
  std::vector<JobEvent> events;
};

// How the timeline is drawn.
struct TimelineStyle {
  WallTime now{};                         // the right edge
  Millis window = std::chrono::hours(24); // the bar spans [now - window, now]
  size_t width = 80;                      // columns of a whole line, the name included
  bool colour = false; // SGR colours (up green, between yellow, down dim, failure red)
  bool utf8 = true;    // Unicode blocks; else ASCII ('#', '~', '.', 'X', '|')
};

// The fewest columns a bar gets, however narrow the width.
inline constexpr size_t k_min_timeline_cells = 10;

// The job's phase in each of cells equal slices of [from, to): the phase it was in for most of
// the slice (ties go to up, then between, then down).
std::vector<Phase> timeline_cells(const std::vector<JobEvent>& events, WallTime from, WallTime to,
                                  size_t cells);

// Whether each of cells equal slices of [from, to] holds a failure, as pg-ls --check hears one
// (is_heard_failure: failed, or stopped by a signal from outside).
std::vector<bool> failure_cells(const std::vector<JobEvent>& events, WallTime from, WallTime to,
                                size_t cells);

// The whole text: one line per job (its name padded to the longest, a space, its bar), then the
// time axis (a tick under the cell holding each local HH:MM, or "Mon DD" at midnight, followed
// by its label), then the legend with what one cell spans. Each line ends with '\n'.
std::string render_timeline(const std::vector<TimelineJob>& jobs, const TimelineStyle& style);

} // namespace pg
