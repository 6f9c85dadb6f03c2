#include "ls_timeline.h"
#include "utc_zone.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <optional>
#include <sstream>

namespace pg {
namespace {

WallTime at(const std::string& text)
{
  return *parse_rfc3339(text);
}

JobEvent ev(const std::string& when, nlohmann::json event)
{
  event["at"] = when;
  // Read back as pg-ls reads events.jsonl: an exit with its record.
  return parse_events(event.dump() + "\n", "", std::nullopt).at(0);
}

JobEvent failed_exit(const std::string& when)
{
  return ev(when, {{"event", "exit"},
                   {"pid", 7},
                   {"code", 1},
                   {"signal", nullptr},
                   {"runtime_s", 60.0},
                   {"outcome", "failed"},
                   {"cause", "exit: code 1"}});
}

// A run stopped by SIGTERM, for cause ("requested", or "outside-signal: ...").
JobEvent sigterm_stop(const std::string& when, const std::string& cause)
{
  return ev(when, {{"event", "exit"},
                   {"pid", 7},
                   {"code", nullptr},
                   {"signal", "SIGTERM"},
                   {"runtime_s", 180.0},
                   {"outcome", "stopped"},
                   {"cause", cause}});
}

JobEvent restart(const std::string& when, double delay_s)
{
  return ev(when, {{"event", "restart"}, {"reason", "failure"}, {"delay_s", delay_s}});
}

JobEvent start(const std::string& when)
{
  return ev(when, {{"event", "start"}, {"pid", 7}, {"run", 1}});
}

// The seeds' night: bot started at 19:00, dead at 20:09, again at 23:33 (each time restarted
// after a backoff), and at 00:15 it gave up.
std::vector<JobEvent> seeds_night()
{
  return {ev("2026-12-05T18:59:50Z", {{"event", "launch"}}),
          start("2026-12-05T19:00:00Z"),
          failed_exit("2026-12-05T20:09:00Z"),
          restart("2026-12-05T20:09:00Z", 1),
          start("2026-12-05T20:09:01Z"),
          failed_exit("2026-12-05T23:33:00Z"),
          restart("2026-12-05T23:33:00Z", 2),
          start("2026-12-05T23:33:02Z"),
          failed_exit("2026-12-06T00:15:00Z"),
          ev("2026-12-06T00:15:00Z", {{"event", "gave-up"}, {"cause", "max-restarts"}}),
          ev("2026-12-06T00:15:00Z", {{"event", "end"}, {"state", "failed"}})};
}

// The axis labels local times: the tests read them in UTC.
class LsTimeline : public test::UtcZone {
protected:
  // 24h to 10:00 on Dec 6, in 72 cells of 20 minutes after a name of 3 ("bot").
  static TimelineStyle night_style(bool utf8 = false)
  {
    TimelineStyle s;
    s.now = at("2026-12-06T10:00:00Z");
    s.window = std::chrono::hours(24);
    s.width = 3 + 1 + 72;
    s.utf8 = utf8;
    return s;
  }
};

std::vector<std::string> lines_of(const std::string& text)
{
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

TEST_F(LsTimeline, TheSeedsNightShowsEachFailureInItsColumnUnderItsTime)
{
  const std::string text = render_timeline({{"bot", seeds_night()}}, night_style());
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 3u) << text;
  // Cells of 20m from 10:00: the launch at 18:59:50 is in cell 26, 19:00 starts cell 27, 20:09
  // is in cell 30, 23:33 in cell 40, 00:15 in cell 42.
  const std::string bar =
      std::string(26, ' ') + "~###X" + std::string(9, '#') + "X#X" + std::string(29, '.');
  EXPECT_EQ(lines[0], "bot " + bar) << text;
  // Ticks every 3h under the cell holding the time; the midnight one says the date, and sits
  // over 00:15's failure (both in cell 42). 09:00 (cell 69) has no room for its label.
  EXPECT_EQ(lines[1], "    " + std::string(6, ' ') +
                          "|12:00   |15:00   |18:00   |21:00   "
                          "|Dec 06  |03:00   |06:00   |")
      << text;
  EXPECT_EQ(lines[0].substr(4 + 42, 1), "X");
  EXPECT_EQ(lines[1].substr(4 + 42, 7), "|Dec 06");
  EXPECT_EQ(lines[2], "# up  ~ starting or backoff  . down  X failure   one cell = 20m "
                      "(last 1d)")
      << text;
}

TEST_F(LsTimeline, UnicodeBlocksAndColoursWhenAsked)
{
  TimelineStyle style = night_style(true);
  const std::string plain = render_timeline({{"bot", seeds_night()}}, style);
  const auto lines = lines_of(plain);
  EXPECT_EQ(lines[0].substr(0, 4 + 26 + 3), "bot " + std::string(26, ' ') + "\u2592");
  EXPECT_EQ(
      lines[0].substr(4 + 26 + 3), "\u2588\u2588\u2588\u2573" +
                                       [] {
                                         std::string s;
                                         for (int i = 0; i < 9; ++i) {
                                           s += "\u2588";
                                         }
                                         s += "\u2573\u2588\u2573";
                                         for (int i = 0; i < 29; ++i) {
                                           s += "\u2591";
                                         }
                                         return s;
                                       }())
      << plain;
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  EXPECT_NE(lines[1].find("\u257512:00"), std::string::npos) << plain;

  style.colour = true;
  const std::string colour = render_timeline({{"bot", seeds_night()}}, style);
  EXPECT_NE(colour.find("\x1b[32m\u2588\u2588\u2588\x1b[0m\x1b[31m\u2573\x1b[0m"),
            std::string::npos)
      << colour;
  EXPECT_NE(colour.find("\x1b[2m\u2591"), std::string::npos) << colour;
}

TEST_F(LsTimeline, ARunningJobReachesTheRightEdgeAndALateOneIsBlankBefore)
{
  TimelineStyle style = night_style();
  style.width = 4 + 1 + 72;
  // web started long before the window; late launched at 06:00, up at 06:00:30.
  std::vector<JobEvent> web{ev("2026-12-01T08:00:00Z", {{"event", "launch"}}),
                            start("2026-12-01T08:00:01Z")};
  std::vector<JobEvent> late{ev("2026-12-06T06:00:00Z", {{"event", "launch"}}),
                             start("2026-12-06T06:00:30Z")};
  const auto lines = lines_of(render_timeline({{"late", late}, {"web", web}}, style));
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0], "late " + std::string(60, ' ') + std::string(12, '#'));
  EXPECT_EQ(lines[1], "web  " + std::string(72, '#'));
}

TEST_F(LsTimeline, BackoffBetweenRunsAndTheStateBeforeTheWindow)
{
  const WallTime from = at("2026-12-06T10:00:00Z");
  const WallTime to = at("2026-12-06T10:10:00Z");
  // Ten one-minute cells: a run from before the window ends at 10:02 (failed), three minutes of
  // backoff, a run again from 10:05 stopped at 10:08.
  std::vector<JobEvent> events{
      start("2026-12-06T09:00:00Z"),
      failed_exit("2026-12-06T10:02:00Z"),
      restart("2026-12-06T10:02:00Z", 180),
      start("2026-12-06T10:05:00Z"),
      ev("2026-12-06T10:07:50Z", {{"event", "stop"}, {"kind", "stop"}}),
      sigterm_stop("2026-12-06T10:08:00Z", "requested"),
      ev("2026-12-06T10:08:00Z", {{"event", "end"}, {"state", "stopped"}})};
  using P = Phase;
  EXPECT_EQ(timeline_cells(events, from, to, 10),
            (std::vector<P>{P::Up, P::Up, P::Between, P::Between, P::Between, P::Up, P::Up, P::Up,
                            P::Down, P::Down}));
  // Only the failed exit is marked: a requested stop is no failure.
  std::vector<bool> expected(10, false);
  expected[2] = true;
  EXPECT_EQ(failure_cells(events, from, to, 10), expected);
}

// The seeds' incident: a bot stopped by a SIGTERM nobody asked pg-ctl for is a failure that
// pg-ls --check hears, so the timeline marks it too.
TEST_F(LsTimeline, AStopBySignalFromOutsideIsMarkedAsACheckWouldHearIt)
{
  const WallTime from = at("2026-12-06T10:00:00Z");
  const WallTime to = at("2026-12-06T10:10:00Z");
  const std::vector<JobEvent> events{
      start("2026-12-06T09:00:00Z"),
      sigterm_stop("2026-12-06T10:04:30Z", "outside-signal: SIGTERM from pid 99 (kill)"),
      ev("2026-12-06T10:04:30Z", {{"event", "end"}, {"state", "stopped"}})};
  std::vector<bool> expected(10, false);
  expected[4] = true;
  EXPECT_EQ(failure_cells(events, from, to, 10), expected);
}

TEST_F(LsTimeline, NoEventsAtAllIsABlankBarAndANarrowWidthStillGetsTenCells)
{
  TimelineStyle style = night_style();
  style.width = 5;
  const auto lines = lines_of(render_timeline({{"quiet", {}}}, style));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "quiet " + std::string(k_min_timeline_cells, ' '));
}

TEST_F(LsTimeline, AShortWindowLabelsMinutesAndSaysTheCellApproximately)
{
  TimelineStyle style;
  style.now = at("2026-12-06T10:00:00Z");
  style.window = std::chrono::hours(1);
  style.width = 3 + 1 + 71; // 50.7s a cell
  style.utf8 = false;
  const auto lines = lines_of(render_timeline({{"bot", {}}}, style));
  ASSERT_EQ(lines.size(), 3u);
  // Ticks every 10 minutes (8 cells of 50.7s are 6.8 minutes): 09:00 is the first, in cell 0.
  EXPECT_EQ(lines[1].substr(0, 4 + 6), "    |09:00");
  EXPECT_NE(lines[1].find("|09:10"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("one cell ~ 51s (last 1h)"), std::string::npos) << lines[2];
}

} // namespace
} // namespace pg
