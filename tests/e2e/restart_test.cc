// The restart policy: backoff, the restart budget, and --duration as one deadline for the job.
#include "harness.h"

namespace pg::e2e {
namespace {

class Backoff : public E2e {};
class Duration : public E2e {};

std::vector<double> delays(const std::vector<Json>& restarts)
{
  std::vector<double> out;
  for (const auto& r : restarts) {
    out.push_back(r.value("delay_s", -1.0));
  }
  return out;
}

TEST_F(Backoff, DelayDoublesUpToTheMaxAndUnlimitedKeepsGoing)
{
  launch("flap",
         {"--restart-delay", "50ms", "--restart-delay-max", "200ms", "--max-restarts", "unlimited"},
         {"--exit", "1"});
  // More restarts than the default budget of 5.
  auto restarts = wait_events("flap", "restart", 7);
  ASSERT_GE(restarts.size(), 7u);
  restarts.resize(7);
  EXPECT_EQ(delays(restarts), (std::vector<double>{0.05, 0.1, 0.2, 0.2, 0.2, 0.2, 0.2}));
  for (const auto& r : restarts) {
    EXPECT_EQ(r["reason"], "failure");
  }
  EXPECT_TRUE(lock_held("flap"));
  EXPECT_TRUE(events("flap", "gave-up").empty());
}

TEST_F(Backoff, NextStartWaitsForTheDelay)
{
  launch("slow", {"--restart-delay", "400ms"}, {"--exit", "1"});
  auto starts = wait_events("slow", "start", 2);
  ASSERT_GE(starts.size(), 2u);
  auto exits = events("slow", "exit");
  ASSERT_GE(exits.size(), 1u);
  EXPECT_GE(seconds_between(exits[0], starts[1]), 0.35);
}

TEST_F(Backoff, GivesUpAfterMaxRestartsAndTheSupervisorExits)
{
  launch("doomed", {"--restart-delay", "50ms", "--max-restarts", "2", "--restart-window", "1h"},
         {"--exit", "1"});
  Json st = wait_end("doomed");
  EXPECT_EQ(st["state"], "failed");
  EXPECT_EQ(st["restarts"], 2);
  const Json& e = st["last_exit"];
  EXPECT_EQ(e["outcome"], "failed");
  EXPECT_EQ(e["code"], 1);
  EXPECT_TRUE(starts_with(e.value("cause", ""), "gave-up")) << e.dump();
  EXPECT_EQ(events("doomed", "start").size(), 3u);
  EXPECT_EQ(delays(events("doomed", "restart")), (std::vector<double>{0.05, 0.1}));
  EXPECT_EQ(events("doomed", "gave-up").size(), 1u);
  auto ends = events("doomed", "end");
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0]["state"], "failed");
}

TEST_F(Backoff, FailuresOutsideTheWindowDoNotCount)
{
  // One restart allowed per 200 ms, and each run lasts 300 ms: the budget never runs out.
  launch("steady", {"--max-restarts", "1", "--restart-window", "200ms", "--restart-delay", "50ms"},
         {"--sleep", "300ms", "--exit", "1"});
  wait_events("steady", "restart", 3);
  EXPECT_TRUE(events("steady", "gave-up").empty());
  EXPECT_TRUE(lock_held("steady"));
}

TEST_F(Backoff, RestartAlwaysRestartsACompletedTask)
{
  launch("again", {"--oneshot", "--restart", "always", "--restart-delay", "50ms"}, {"--exit", "0"});
  auto restarts = wait_events("again", "restart", 2);
  ASSERT_GE(restarts.size(), 2u);
  EXPECT_EQ(restarts[0]["reason"], "always");
  EXPECT_EQ(events("again", "exit").at(0)["outcome"], "completed");
}

TEST_F(Duration, LongJobIsStoppedAndCompletesEvenWithRestartAlways)
{
  launch("timed", {"--duration", "1s", "--restart", "always", "--stop-timeout", "5s"},
         {"--sleep", "1h"});
  Json st = wait_end("timed");
  EXPECT_EQ(st["state"], "completed");
  const Json& e = st["last_exit"];
  EXPECT_EQ(e["outcome"], "completed");
  EXPECT_EQ(e["signal"], "SIGTERM") << "stopped gracefully, not killed";
  EXPECT_TRUE(starts_with(e.value("cause", ""), "timeout")) << e.dump();
  EXPECT_EQ(events("timed", "start").size(), 1u);
  EXPECT_TRUE(events("timed", "kill").empty());
  const double took =
      seconds_between(events("timed", "launch").at(0), events("timed", "end").at(0));
  EXPECT_GE(took, 0.95);
  EXPECT_LT(took, 4.0);
}

TEST_F(Duration, CrashLoopDoesNotExtendTheDuration)
{
  // Runs start at about 0, 0.3, 0.9, 2.1 s: a deadline that waited for the backoff would end
  // near 2.1 s, not at 1 s.
  launch("loop",
         {"--duration", "1s", "--restart-delay", "300ms", "--restart-delay-max", "10s",
          "--max-restarts", "unlimited"},
         {"--exit", "1"});
  Json st = wait_end("loop");
  EXPECT_EQ(st["state"], "completed");
  const double took = seconds_between(events("loop", "launch").at(0), events("loop", "end").at(0));
  EXPECT_GE(took, 0.95);
  EXPECT_LT(took, 1.8);
  EXPECT_LE(events("loop", "start").size(), 3u);
}

TEST_F(Duration, OneshotPastItsDurationFailsWithTimeout)
{
  launch("late", {"--oneshot", "--duration", "500ms", "--stop-timeout", "5s"}, {"--sleep", "1h"});
  Json st = wait_end("late");
  EXPECT_EQ(st["state"], "failed");
  EXPECT_EQ(st["last_exit"]["outcome"], "failed");
  EXPECT_TRUE(starts_with(st["last_exit"].value("cause", ""), "timeout")) << st["last_exit"].dump();
}

} // namespace
} // namespace pg::e2e
