#include "ls_timeline.h"

#include "failures.h"
#include "ls_text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <optional>

namespace pg {

namespace {

// The most cells a bar gets, however wide the width: an absurd $COLUMNS costs no memory.
constexpr size_t k_max_cells = 4096;
// The widest label of an axis of this step (seconds): "HH:MM:SS" under a minute, else "HH:MM"
// or "Dec 06".
long label_width(long step)
{
  return step < 60 ? 8 : 6;
}
// Axis steps, in seconds: each divides an hour, or a day, or is whole days.
constexpr std::array<long, 23> k_steps{
    1,     2,     5,         10,        15,         30,         60,        120,
    300,   600,   900,       1800,      3600,       7200,       10800,     21600,
    43200, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400, 91 * 86400};

// A change of phase at an instant.
struct Change {
  WallTime at;
  Phase phase;
};

std::string kind_of(const JobEvent& e)
{
  auto it = e.event.find("event");
  return it != e.event.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The phase an event leaves the job in; nullopt for an event that changes none (stop, signal,
// memory, alert...: a run going on is still going on).
std::optional<Phase> phase_after(const std::string& kind)
{
  if (kind == "start" || kind == "handover") {
    return Phase::Up;
  }
  if (kind == "launch" || kind == "exit" || kind == "restart") {
    return Phase::Between; // until the run starts, or until the restart or the end that follows
  }
  if (kind == "end" || kind == "gave-up") {
    return Phase::Down;
  }
  return std::nullopt;
}

std::vector<Change> changes_of(const std::vector<JobEvent>& events)
{
  std::vector<Change> out;
  for (const auto& e : events) {
    if (auto p = phase_after(kind_of(e))) {
      out.push_back({e.at, *p});
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Change& a, const Change& b) { return a.at < b.at; });
  return out;
}

// An exit (its record read by parse_events) that pg-ls --check hears as a failure; a damaged
// exit line, with no record, says nothing reliable.
bool failed_exit(const JobEvent& e)
{
  return e.exit && is_heard_failure(*e.exit);
}

// The start of cell k of cells equal slices of [from, to).
WallTime cell_start(WallTime from, WallTime to, size_t k, size_t cells)
{
  const long double span = static_cast<long double>((to - from).count());
  const auto offset = static_cast<WallTime::rep>(span * static_cast<long double>(k) /
                                                 static_cast<long double>(cells));
  return from + WallTime::duration(offset);
}

// The cell of [from, to]'s cells that holds t (t at to: the last); nullopt outside.
std::optional<size_t> cell_of(WallTime t, WallTime from, WallTime to, size_t cells)
{
  if (t < from || t > to || cells == 0 || to <= from) {
    return std::nullopt;
  }
  const long double part =
      static_cast<long double>((t - from).count()) / static_cast<long double>((to - from).count());
  const auto k = static_cast<size_t>(std::floor(part * static_cast<long double>(cells)));
  return std::min(k, cells - 1);
}

// The recorded phase held longest (ties go to up, then between, then down); none only when the
// job has no record in the whole cell, so that a launch shows in the cell it came in.
Phase longest_phase(const std::array<WallTime::duration, 4>& spent)
{
  Phase best = Phase::None;
  for (Phase p : {Phase::Up, Phase::Between, Phase::Down}) {
    const auto t = spent[static_cast<size_t>(p)];
    if (t > WallTime::duration::zero() &&
        (best == Phase::None || t > spent[static_cast<size_t>(best)])) {
      best = p;
    }
  }
  return best;
}

} // namespace

std::vector<Phase> timeline_cells(const std::vector<JobEvent>& events, WallTime from, WallTime to,
                                  size_t cells)
{
  std::vector<Phase> out(cells, Phase::None);
  if (cells == 0 || to <= from) {
    return out;
  }
  const std::vector<Change> changes = changes_of(events);
  size_t next = 0;
  Phase current = Phase::None;
  while (next < changes.size() && changes[next].at <= from) {
    current = changes[next++].phase; // what the job was when the window opened
  }
  for (size_t k = 0; k < cells; ++k) {
    const WallTime end = cell_start(from, to, k + 1, cells);
    std::array<WallTime::duration, 4> spent{};
    WallTime t = cell_start(from, to, k, cells);
    for (; next < changes.size() && changes[next].at < end; ++next) {
      spent[static_cast<size_t>(current)] += changes[next].at - t;
      t = changes[next].at;
      current = changes[next].phase;
    }
    spent[static_cast<size_t>(current)] += end - t;
    out[k] = longest_phase(spent);
  }
  return out;
}

std::vector<bool> failure_cells(const std::vector<JobEvent>& events, WallTime from, WallTime to,
                                size_t cells)
{
  std::vector<bool> out(cells, false);
  for (const auto& e : events) {
    if (auto k = cell_of(e.at, from, to, cells); k && failed_exit(e)) {
      out[*k] = true;
    }
  }
  return out;
}

namespace {

// What a cell shows, and its glyph and colour.
enum class Mark { Blank, Up, Between, Down, Failed };

struct Glyphs {
  std::array<const char*, 5> cell; // by Mark
  const char* tick;
  const char* about; // "=" or its approximation
};
constexpr Glyphs k_utf8{{" ", "\u2588", "\u2592", "\u2591", "\u2573"}, "\u2575", "\u2248"};
constexpr Glyphs k_ascii{{" ", "#", "~", ".", "X"}, "|", "~"};
// Down is dim; the others in their state's colour of the table (ls_text's paint).
constexpr const char* k_dim = "\x1b[2m";
constexpr const char* k_undim = "\x1b[0m";

// text (glyphs of one mark) in the mark's colour, when colour is on.
std::string coloured(const std::string& text, Mark m, bool colour)
{
  switch (m) {
  case Mark::Up:
    return paint(text, RunState::Running, colour);
  case Mark::Between:
    return paint(text, RunState::Backoff, colour);
  case Mark::Failed:
    return paint(text, RunState::Failed, colour);
  case Mark::Down:
    return colour ? k_dim + text + k_undim : text;
  case Mark::Blank:
    break;
  }
  return text;
}

Mark mark_of(Phase p)
{
  switch (p) {
  case Phase::Up:
    return Mark::Up;
  case Phase::Between:
    return Mark::Between;
  case Phase::Down:
    return Mark::Down;
  case Phase::None:
    break;
  }
  return Mark::Blank;
}

// marks as glyphs, each run of one mark in its colour when colour is on.
std::string paint_marks(const std::vector<Mark>& marks, const TimelineStyle& style)
{
  const Glyphs& g = style.utf8 ? k_utf8 : k_ascii;
  std::string out;
  for (size_t i = 0; i < marks.size();) {
    std::string run;
    size_t j = i;
    for (; j < marks.size() && marks[j] == marks[i]; ++j) {
      run += g.cell[static_cast<size_t>(marks[j])];
    }
    out += coloured(run, marks[i], style.colour);
    i = j;
  }
  return out;
}

std::string job_bar(const TimelineJob& job, const TimelineStyle& style, size_t cells)
{
  const WallTime from = style.now - style.window;
  const std::vector<Phase> phases = timeline_cells(job.events, from, style.now, cells);
  const std::vector<bool> failed = failure_cells(job.events, from, style.now, cells);
  std::vector<Mark> marks(cells);
  for (size_t k = 0; k < cells; ++k) {
    marks[k] = failed[k] ? Mark::Failed : mark_of(phases[k]);
  }
  return paint_marks(marks, style);
}

// One tick of the axis: an instant and its label.
struct Tick {
  WallTime at;
  std::string label;
};

// The ticks of [from, to] every step seconds of local time, counted from the start of from's
// hour (steps under an hour) or day: "HH:MM" ("HH:MM:SS" under a minute), or "Mon DD" at
// midnight.
std::vector<Tick> axis_ticks(WallTime from, WallTime to, long step)
{
  const time_t first = std::chrono::system_clock::to_time_t(from);
  tm base{};
  ::localtime_r(&first, &base);
  base.tm_min = base.tm_sec = 0;
  base.tm_hour = step < 3600 ? base.tm_hour : 0;
  std::vector<Tick> out;
  for (long i = 0;; ++i) {
    tm t = base;
    t.tm_isdst = -1;
    if (step >= 86400) {
      t.tm_mday += static_cast<int>(i * (step / 86400));
    } else {
      t.tm_sec += static_cast<int>(i * step);
    }
    const time_t secs = ::mktime(&t);
    const WallTime at = std::chrono::system_clock::from_time_t(secs);
    if (secs == static_cast<time_t>(-1) || at > to) {
      break;
    }
    if (at >= from) {
      char label[32];
      const bool midnight = t.tm_hour == 0 && t.tm_min == 0 && t.tm_sec == 0;
      if (midnight) {
        std::strftime(label, sizeof label, "%b %d", &t);
      } else if (step < 60) {
        std::strftime(label, sizeof label, "%H:%M:%S", &t);
      } else {
        std::strftime(label, sizeof label, "%H:%M", &t);
      }
      out.push_back({at, label});
    }
  }
  return out;
}

// The axis under bars of cells columns that start after indent columns.
std::string axis(const TimelineStyle& style, size_t indent, size_t cells)
{
  const long double cell_s =
      std::chrono::duration<long double>(style.window).count() / static_cast<long double>(cells);
  long step = k_steps.back();
  for (long s : k_steps) {
    // From one tick to the next: the tick, its label and a blank.
    if (static_cast<long double>(s) >= cell_s * static_cast<long double>(label_width(s) + 2)) {
      step = s;
      break;
    }
  }
  const WallTime from = style.now - style.window;
  std::vector<std::string> cols(cells, " ");
  size_t free_from = 0; // the first column a tick may take: labels never touch
  for (const Tick& tick : axis_ticks(from, style.now, step)) {
    const auto k = cell_of(tick.at, from, style.now, cells);
    if (!k || *k < free_from) {
      continue;
    }
    cols[*k] = (style.utf8 ? k_utf8 : k_ascii).tick;
    const bool fits = *k + tick.label.size() < cells;
    for (size_t i = 0; fits && i < tick.label.size(); ++i) {
      cols[*k + 1 + i] = std::string(1, tick.label[i]);
    }
    free_from = *k + (fits ? tick.label.size() : 0) + 2;
  }
  std::string out(indent, ' ');
  for (const auto& c : cols) {
    out += c;
  }
  while (!out.empty() && out.back() == ' ') {
    out.pop_back();
  }
  return out;
}

// "= 20m" when one cell is exactly that long, else "≈ 51s" (to the second from one up).
std::string cell_span(const TimelineStyle& style, size_t cells)
{
  const long long ms = style.window.count();
  const auto n = static_cast<long long>(cells);
  const long long unit = ms / n >= 1000 ? 1000 : 1;
  const long long rounded =
      std::llround(static_cast<long double>(ms) / static_cast<long double>(n * unit)) * unit;
  const bool exact = ms % n == 0 && (ms / n) % unit == 0;
  return fmt::format("{} {}", exact ? "=" : (style.utf8 ? k_utf8 : k_ascii).about,
                     format_duration(Millis(std::max(rounded, 1LL))));
}

std::string legend(const TimelineStyle& style, size_t cells)
{
  const Glyphs& g = style.utf8 ? k_utf8 : k_ascii;
  auto key = [&](Mark m, const char* what) {
    return coloured(g.cell[static_cast<size_t>(m)], m, style.colour) + " " + what;
  };
  return fmt::format("{}  {}  {}  {}   one cell {} (last {})", key(Mark::Up, "up"),
                     key(Mark::Between, "starting or backoff"), key(Mark::Down, "down"),
                     key(Mark::Failed, "failure"), cell_span(style, cells),
                     format_duration(style.window));
}

} // namespace

std::string render_timeline(const std::vector<TimelineJob>& jobs, const TimelineStyle& style)
{
  size_t name_w = 0;
  for (const auto& job : jobs) {
    name_w = std::max(name_w, job.name.size());
  }
  const size_t room = style.width > name_w + 1 ? style.width - name_w - 1 : 0;
  const size_t cells = std::clamp(room, k_min_timeline_cells, k_max_cells);
  std::string out;
  for (const auto& job : jobs) {
    out += fmt::format("{:<{}} {}\n", job.name, name_w, job_bar(job, style, cells));
  }
  out += axis(style, name_w + 1, cells) + "\n";
  out += legend(style, cells) + "\n";
  return out;
}

} // namespace pg
