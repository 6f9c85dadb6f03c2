// Failures heard until acknowledged: what counts as a failure, what an ack does, and how
// "acknowledged after it happened" is read from state.json's two times (failures.h).
#include "failures.h"

#include <gtest/gtest.h>

#include <chrono>

namespace pg {
namespace {

using std::chrono::milliseconds;

WallTime at(const char* rfc3339)
{
  auto t = parse_rfc3339(rfc3339);
  EXPECT_TRUE(t) << rfc3339;
  return t.value_or(WallTime{});
}

ExitRecord exit_with(Outcome outcome, const std::string& cause)
{
  ExitRecord e;
  e.status = ExitStatus::exited(0);
  e.outcome = outcome;
  e.cause = cause;
  return e;
}

TEST(Failures, CauseKeywordIsTheStablePrefix)
{
  EXPECT_EQ(cause_keyword("outside-signal: SIGTERM from pid 1"), "outside-signal");
  EXPECT_EQ(cause_keyword("gave-up: exit: code 3"), "gave-up");
  EXPECT_EQ(cause_keyword("exit: code 3"), "exit");
  EXPECT_EQ(cause_keyword("premature: exit 0 after 33m"), "premature");
  EXPECT_EQ(cause_keyword(""), "");
}

TEST(Failures, EveryFailedExitIsAFailurePrematureLostAndOomIncluded)
{
  for (const char* cause :
       {"exit: code 1", "signal: SIGSEGV", "premature: exit code 0", "lost: supervisor pid 9 died",
        "oom: the kernel killed pid 7", "gave-up: exit: code 1", "watchdog: no WATCHDOG=1"}) {
    EXPECT_TRUE(is_failed_exit(exit_with(Outcome::Failed, cause))) << cause;
  }
  EXPECT_FALSE(is_failed_exit(exit_with(Outcome::Completed, "exit: code 0")));
  EXPECT_FALSE(is_failed_exit(exit_with(Outcome::Restarted, "planned: pg-ctl restart")));
  EXPECT_FALSE(is_failed_exit(exit_with(Outcome::Stopped, "requested: stop by pg-ctl")));
}

TEST(Failures, AStopFromOutsideIsAFailureAStopByPgCtlIsNot)
{
  EXPECT_TRUE(is_outside_stop("outside-signal: SIGTERM from pid 9 (bash)"));
  EXPECT_TRUE(is_outside_stop("outside-signal: SIGINT from pid 9 (bash) (between runs)"));
  EXPECT_FALSE(is_outside_stop("requested: stop by pg-ctl stop bot (pid 4)"));
  EXPECT_FALSE(is_outside_stop("gave-up: exit: code 1"));
  EXPECT_FALSE(is_outside_stop(""));
}

TEST(Failures, TheLastFailureIsTheLastExitWhenItFailedOrWasStoppedFromOutside)
{
  JobState s;
  EXPECT_EQ(last_failure(s), nullptr);
  s.last_exit = exit_with(Outcome::Failed, "premature: exit code 0");
  EXPECT_EQ(last_failure(s), &*s.last_exit);
  s.last_exit = exit_with(Outcome::Stopped, "outside-signal: SIGTERM from pid 1");
  EXPECT_EQ(last_failure(s), &*s.last_exit);
  s.last_exit = exit_with(Outcome::Restarted, "planned: --restart-every 1h");
  EXPECT_EQ(last_failure(s), nullptr);
  s.last_exit = exit_with(Outcome::Stopped, "requested: stop by pg-ctl");
  EXPECT_EQ(last_failure(s), nullptr);
}

TEST(Failures, AnAckZeroesTheCountAndSaysHowManyItHeard)
{
  JobState s;
  s.failures_since_ack = 3;
  const WallTime t = at("2026-12-06T21:04:00Z");
  EXPECT_EQ(acknowledge(s, t), 3u);
  EXPECT_EQ(s.failures_since_ack, 0u);
  EXPECT_EQ(s.last_ack_at, t);
  EXPECT_EQ(acknowledge(s, t + milliseconds(5)), 0u);
  EXPECT_EQ(s.last_ack_at, t + milliseconds(5));
}

TEST(Failures, AStateIsAcknowledgedOnlyByAnAckAfterItsLastWrite)
{
  JobState s;
  s.updated_at = at("2026-12-06T21:04:00.500Z");
  EXPECT_FALSE(state_acknowledged(s)) << "never acknowledged";
  s.last_ack_at = at("2026-12-06T21:00:00Z");
  EXPECT_FALSE(state_acknowledged(s)) << "acknowledged before the state was written";
  s.last_ack_at = s.updated_at;
  EXPECT_FALSE(state_acknowledged(s)) << "a supervisor's own ack, written with the state";
  s.last_ack_at = s.updated_at + milliseconds(1);
  EXPECT_TRUE(state_acknowledged(s));
}

TEST(Failures, PgCtlsAckTimeIsAlwaysAfterTheLastWriteToTheMillisecond)
{
  JobState s;
  s.updated_at = at("2026-12-06T21:04:00.500Z") + std::chrono::microseconds(700);
  // Now, in milliseconds, when now is later.
  JobState later = s;
  acknowledge(later, ack_time(s, at("2026-12-06T21:05:00.250Z") + std::chrono::microseconds(9)));
  EXPECT_EQ(later.last_ack_at, at("2026-12-06T21:05:00.250Z"));
  // The same millisecond as the write, or a clock stepped back: one millisecond after it.
  for (const WallTime now :
       {s.updated_at, s.updated_at + std::chrono::microseconds(100), at("2026-12-06T20:00:00Z")}) {
    JobState acked = s;
    acknowledge(acked, ack_time(s, now));
    EXPECT_EQ(acked.last_ack_at, at("2026-12-06T21:04:00.501Z"));
    // As state.json keeps it (milliseconds): still after the write.
    acked.updated_at = *parse_rfc3339(format_rfc3339(acked.updated_at));
    EXPECT_TRUE(state_acknowledged(acked));
  }
}

TEST(Failures, ASupervisorNeverWritesBeforeItsOwnAck)
{
  JobState s;
  const WallTime now = at("2026-12-06T21:04:00Z");
  EXPECT_EQ(supervisor_time(s, now), now);
  s.last_ack_at = now + std::chrono::seconds(2); // the wall clock stepped back since the ack
  EXPECT_EQ(supervisor_time(s, now), *s.last_ack_at);
  s.updated_at = supervisor_time(s, now);
  EXPECT_FALSE(state_acknowledged(s));
  s.last_ack_at = now - std::chrono::seconds(2);
  EXPECT_EQ(supervisor_time(s, now), now);
}

} // namespace
} // namespace pg
