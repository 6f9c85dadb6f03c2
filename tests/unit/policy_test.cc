#include "policy.h"

#include <gtest/gtest.h>

#include <csignal>
#include <string>

namespace pg {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

JobDefinition service(Millis duration = Millis(0))
{
  JobDefinition d;
  d.argv = {"bot"};
  d.resolved = "/usr/bin/bot";
  d.duration = duration;
  return d;
}

JobDefinition task()
{
  JobDefinition d = service();
  d.oneshot = true;
  d.restart = RestartPolicy::Never;
  return d;
}

RunEnd ended(ExitStatus status, Millis runtime = Millis(5000))
{
  RunEnd e;
  e.status = status;
  e.runtime = runtime;
  e.job_time = runtime;
  return e;
}

RunEnd stopped(StopKind kind, const std::string& detail, ExitStatus status)
{
  RunEnd e = ended(status);
  e.stop = kind;
  e.stop_detail = detail;
  return e;
}

bool starts_with_keyword(const std::string& cause, const std::string& keyword)
{
  return cause.rfind(keyword + ": ", 0) == 0;
}

Classification failure(const std::string& cause = "exit: code 1")
{
  return {Outcome::Failed, cause};
}

Classification completion()
{
  return {Outcome::Completed, "exit: code 0"};
}

Nanos at(Millis t)
{
  return std::chrono::duration_cast<Nanos>(t);
}

// One failed run of runtime at boot time now; returns the decision.
Next fail_once(const JobDefinition& def, RestartBudget& budget, Nanos now,
               Millis runtime = Millis(1000))
{
  return decide(failure(), ended(ExitStatus::exited(1), runtime), def, budget, now, false);
}

// ---- classify: natural ends ----

TEST(Policy, OneshotExitZeroIsCompleted)
{
  Classification c = classify(ended(ExitStatus::exited(0)), task());
  EXPECT_EQ(c.outcome, Outcome::Completed);
  EXPECT_TRUE(starts_with_keyword(c.cause, "exit")) << c.cause;
}

TEST(Policy, ServiceExitZeroWithoutDurationIsPremature)
{
  Classification c = classify(ended(ExitStatus::exited(0), Millis(42'000)), service());
  EXPECT_EQ(c.outcome, Outcome::Failed);
  EXPECT_TRUE(starts_with_keyword(c.cause, "premature")) << c.cause;
  EXPECT_NE(c.cause.find("42s"), std::string::npos) << c.cause;
}

TEST(Policy, ExitZeroAtEightyPercentOfDurationIsCompleted)
{
  RunEnd e = ended(ExitStatus::exited(0));
  e.runtime = Millis(1000); // a short last run: the job's time is what counts
  e.job_time = minutes(8);
  Classification c = classify(e, service(minutes(10)));
  EXPECT_EQ(c.outcome, Outcome::Completed);
  EXPECT_TRUE(starts_with_keyword(c.cause, "exit")) << c.cause;
}

TEST(Policy, ExitZeroAfterTheDurationIsCompleted)
{
  RunEnd e = ended(ExitStatus::exited(0));
  e.job_time = minutes(11);
  EXPECT_EQ(classify(e, service(minutes(10))).outcome, Outcome::Completed);
}

TEST(Policy, ExitZeroBeforeEightyPercentIsPremature)
{
  RunEnd e = ended(ExitStatus::exited(0));
  e.job_time = minutes(8) - Millis(1);
  Classification c = classify(e, service(minutes(10)));
  EXPECT_EQ(c.outcome, Outcome::Failed);
  EXPECT_TRUE(starts_with_keyword(c.cause, "premature")) << c.cause;
  EXPECT_NE(c.cause.find("10m"), std::string::npos) << c.cause;
}

TEST(Policy, NonZeroExitIsFailedWithItsCode)
{
  Classification c = classify(ended(ExitStatus::exited(3)), service());
  EXPECT_EQ(c.outcome, Outcome::Failed);
  EXPECT_EQ(c.cause, "exit: code 3");
  EXPECT_EQ(classify(ended(ExitStatus::exited(1)), task()).cause, "exit: code 1");
}

TEST(Policy, NonZeroExitFailsEvenAfterTheDuration)
{
  RunEnd e = ended(ExitStatus::exited(2));
  e.job_time = minutes(20);
  EXPECT_EQ(classify(e, service(minutes(10))).outcome, Outcome::Failed);
}

TEST(Policy, SignalIsFailedWithItsNameAndCoreDump)
{
  Classification c = classify(ended(ExitStatus::killed(SIGSEGV, true)), service());
  EXPECT_EQ(c.outcome, Outcome::Failed);
  EXPECT_EQ(c.cause, "signal: SIGSEGV (core dumped)");
  EXPECT_EQ(classify(ended(ExitStatus::killed(SIGKILL)), task()).cause, "signal: SIGKILL");
}

TEST(Policy, ForwardedSignalIsNamedInTheCause)
{
  RunEnd e = ended(ExitStatus::killed(SIGUSR1));
  e.forwarded_signal = SIGUSR1;
  e.forwarded_detail = "signal by pg-ctl signal bot USR1 (pid 77)";
  Classification c = classify(e, service());
  EXPECT_EQ(c.outcome, Outcome::Failed);
  EXPECT_TRUE(starts_with_keyword(c.cause, "signal")) << c.cause;
  EXPECT_NE(c.cause.find("SIGUSR1"), std::string::npos) << c.cause;
  EXPECT_NE(c.cause.find("forwarded"), std::string::npos) << c.cause;
  EXPECT_NE(c.cause.find("pid 77"), std::string::npos) << c.cause;
}

TEST(Policy, AnUnrelatedForwardedSignalIsNotBlamed)
{
  RunEnd e = ended(ExitStatus::killed(SIGSEGV));
  e.forwarded_signal = SIGUSR1;
  e.forwarded_detail = "signal by pg-ctl";
  EXPECT_EQ(classify(e, service()).cause, "signal: SIGSEGV");
}

TEST(Policy, AnExitAfterAForwardedSignalNamesIt)
{
  RunEnd e = ended(ExitStatus::exited(0));
  e.forwarded_signal = SIGTERM;
  e.forwarded_detail = "signal by pg-ctl signal bot TERM (pid 9)";
  Classification c = classify(e, service());
  EXPECT_EQ(c.outcome, Outcome::Failed);
  EXPECT_TRUE(c.cause.starts_with("premature: ")) << c.cause;
  EXPECT_TRUE(c.cause.ends_with("(after SIGTERM forwarded on request of signal by pg-ctl signal "
                                "bot TERM (pid 9))"))
      << c.cause;
}

TEST(Policy, AHandledUsr1IsNotBlamedForALaterExit)
{
  // pg-ctl signal bot USR1 (reopen the logs), then exit 3 two seconds later for its own reason.
  RunEnd e = ended(ExitStatus::exited(3));
  e.forwarded_signal = SIGUSR1;
  e.forwarded_detail = "signal by pg-ctl signal bot USR1 (pid 77)";
  e.forwarded_age = Millis(2000);
  EXPECT_EQ(classify(e, service()).cause, "exit: code 3");
  e.forwarded_age = Millis(0); // even at once: USR1 asks nothing to end
  EXPECT_EQ(classify(e, service()).cause, "exit: code 3");
}

TEST(Policy, AnEndRequestIsNamedOnlyWithinTheStopTimeout)
{
  JobDefinition def = service();
  def.stop_timeout = Millis(10'000);
  RunEnd e = ended(ExitStatus::exited(0));
  e.forwarded_signal = SIGHUP; // gunicorn: a reload
  e.forwarded_detail = "signal by pg-ctl signal web HUP (pid 5)";
  e.forwarded_age = Millis(10'000);
  EXPECT_NE(classify(e, def).cause.find("after SIGHUP forwarded"), std::string::npos);
  e.forwarded_age = Millis(10'001); // it reloaded and lived on: a later end is not the HUP's
  EXPECT_EQ(classify(e, def).cause.find("forwarded"), std::string::npos) << classify(e, def).cause;
}

TEST(Policy, TheJobsOwnStopSignalCountsAsAnEndRequest)
{
  JobDefinition def = service();
  def.stop_signal = SIGUSR2;
  RunEnd e = ended(ExitStatus::exited(0));
  e.forwarded_signal = SIGUSR2;
  e.forwarded_detail = "signal by pg-ctl";
  EXPECT_NE(classify(e, def).cause.find("after SIGUSR2 forwarded"), std::string::npos);
}

TEST(Policy, CleanupClassifiesByTheMainProcessEnd)
{
  RunEnd e = stopped(StopKind::Cleanup, "", ExitStatus::exited(4));
  EXPECT_EQ(classify(e, service()).cause, "exit: code 4");
}

// ---- classify: ends pg-run caused ----

TEST(Policy, RequestedStopIsStopped)
{
  RunEnd e =
      stopped(StopKind::Requested, "stop by pg-ctl stop bot (pid 9)", ExitStatus::killed(SIGTERM));
  Classification c = classify(e, service());
  EXPECT_EQ(c.outcome, Outcome::Stopped);
  EXPECT_TRUE(starts_with_keyword(c.cause, "requested")) << c.cause;
  EXPECT_NE(c.cause.find("pg-ctl stop bot (pid 9)"), std::string::npos) << c.cause;
  EXPECT_NE(c.cause.find("SIGTERM"), std::string::npos) << c.cause;
}

TEST(Policy, OutsideSignalStopIsStopped)
{
  RunEnd e = stopped(StopKind::Outside, "SIGTERM from pid 7 (bash)", ExitStatus::exited(0));
  Classification c = classify(e, service());
  EXPECT_EQ(c.outcome, Outcome::Stopped);
  EXPECT_TRUE(starts_with_keyword(c.cause, "outside-signal")) << c.cause;
  EXPECT_NE(c.cause.find("pid 7 (bash)"), std::string::npos) << c.cause;
}

TEST(Policy, StopRequestWinsOverAFailingStatus)
{
  RunEnd e = stopped(StopKind::Requested, "stop", ExitStatus::killed(SIGKILL));
  EXPECT_EQ(classify(e, task()).outcome, Outcome::Stopped);
}

TEST(Policy, PlannedRestartIsRestarted)
{
  RunEnd e = stopped(StopKind::Planned, "SIGHUP", ExitStatus::killed(SIGTERM));
  Classification c = classify(e, service());
  EXPECT_EQ(c.outcome, Outcome::Restarted);
  EXPECT_TRUE(starts_with_keyword(c.cause, "planned")) << c.cause;
}

TEST(Policy, DurationEndCompletesAService)
{
  RunEnd e = stopped(StopKind::Duration, "", ExitStatus::killed(SIGTERM));
  e.job_time = minutes(10);
  Classification c = classify(e, service(minutes(10)));
  EXPECT_EQ(c.outcome, Outcome::Completed);
  EXPECT_NE(c.cause.find("10m"), std::string::npos) << c.cause;
}

TEST(Policy, DurationEndIsATimeoutFailureForAOneshot)
{
  JobDefinition d = task();
  d.duration = minutes(5);
  RunEnd e = stopped(StopKind::Duration, "", ExitStatus::killed(SIGTERM));
  Classification c = classify(e, d);
  EXPECT_EQ(c.outcome, Outcome::Failed);
  EXPECT_TRUE(starts_with_keyword(c.cause, "timeout")) << c.cause;
}

TEST(Policy, ExecErrorIsFailed)
{
  RunEnd e = ended(ExitStatus::exited(127));
  e.exec_error = "execve /usr/bin/bot: No such file or directory";
  Classification c = classify(e, service());
  EXPECT_EQ(c.outcome, Outcome::Failed);
  EXPECT_EQ(c.cause, "exec: execve /usr/bin/bot: No such file or directory");
}

TEST(Policy, EveryCauseStartsWithItsStableKeyword)
{
  struct Case {
    RunEnd end;
    JobDefinition def;
    const char* keyword;
  };
  RunEnd exec = ended(ExitStatus::exited(127));
  exec.exec_error = "execve x: Permission denied";
  JobDefinition timed_task = task();
  timed_task.duration = minutes(1);
  const Case cases[] = {
      {ended(ExitStatus::exited(1)), service(), "exit"},
      {ended(ExitStatus::exited(0)), task(), "exit"},
      {ended(ExitStatus::killed(SIGABRT, true)), service(), "signal"},
      {ended(ExitStatus::exited(0)), service(), "premature"},
      {ended(ExitStatus::exited(0)), service(minutes(10)), "premature"},
      {exec, service(), "exec"},
      {stopped(StopKind::Requested, "x", ExitStatus::exited(0)), service(), "requested"},
      {stopped(StopKind::Outside, "x", ExitStatus::exited(0)), service(), "outside-signal"},
      {stopped(StopKind::Planned, "x", ExitStatus::exited(0)), service(), "planned"},
      {stopped(StopKind::Duration, "", ExitStatus::exited(0)), timed_task, "timeout"},
  };
  for (const Case& c : cases) {
    const std::string cause = classify(c.end, c.def).cause;
    EXPECT_TRUE(starts_with_keyword(cause, c.keyword)) << c.keyword << " vs " << cause;
  }
}

// ---- backoff_delay ----

TEST(Policy, BackoffDoublesFromTheFirstDelayUpToTheMax)
{
  const JobDefinition d = service();
  EXPECT_EQ(backoff_delay(d, 1), seconds(1));
  EXPECT_EQ(backoff_delay(d, 2), seconds(2));
  EXPECT_EQ(backoff_delay(d, 3), seconds(4));
  EXPECT_EQ(backoff_delay(d, 4), seconds(8));
  EXPECT_EQ(backoff_delay(d, 6), seconds(32));
  EXPECT_EQ(backoff_delay(d, 7), seconds(60));
  EXPECT_EQ(backoff_delay(d, 8), seconds(60));
  EXPECT_EQ(backoff_delay(d, 4'000'000'000U), seconds(60));
}

TEST(Policy, BackoffHonoursCustomDelays)
{
  JobDefinition d = service();
  d.restart_delay = Millis(250);
  d.restart_delay_max = seconds(1);
  EXPECT_EQ(backoff_delay(d, 1), Millis(250));
  EXPECT_EQ(backoff_delay(d, 2), Millis(500));
  EXPECT_EQ(backoff_delay(d, 3), Millis(1000));
  EXPECT_EQ(backoff_delay(d, 4), Millis(1000));
}

TEST(Policy, BackoffNeverExceedsTheMaxEvenWhenTheFirstDelayDoes)
{
  JobDefinition d = service();
  d.restart_delay = seconds(90);
  d.restart_delay_max = seconds(60);
  EXPECT_EQ(backoff_delay(d, 1), seconds(60));
}

// ---- decide: restart policies ----

TEST(Policy, OnFailureRestartsAfterAFailure)
{
  RestartBudget b;
  Next n = fail_once(service(), b, at(minutes(1)));
  EXPECT_TRUE(n.restart);
  EXPECT_EQ(n.delay, seconds(1));
  EXPECT_FALSE(n.gave_up);
  EXPECT_EQ(b.failure_restarts.size(), 1U);
  EXPECT_EQ(b.consecutive_failures, 1U);
}

TEST(Policy, OnFailureEndsCompletedAfterACompletion)
{
  RestartBudget b;
  RunEnd e = ended(ExitStatus::exited(0));
  Next n = decide(completion(), e, task(), b, at(minutes(1)), false);
  EXPECT_FALSE(n.restart);
  EXPECT_EQ(n.final_state, RunState::Completed);

  JobDefinition d = service(minutes(10));
  n = decide(completion(), e, d, b, at(minutes(1)), false);
  EXPECT_FALSE(n.restart);
  EXPECT_EQ(n.final_state, RunState::Completed);
}

TEST(Policy, AlwaysRestartsAfterAFailure)
{
  JobDefinition d = service();
  d.restart = RestartPolicy::Always;
  RestartBudget b;
  EXPECT_TRUE(fail_once(d, b, at(minutes(1))).restart);
}

TEST(Policy, AlwaysRestartsAfterACompletion)
{
  JobDefinition d = service(minutes(10));
  d.restart = RestartPolicy::Always;
  RestartBudget b;
  b.consecutive_failures = 4;
  Next n = decide(completion(), ended(ExitStatus::exited(0)), d, b, at(minutes(9)), false);
  EXPECT_TRUE(n.restart);
  EXPECT_EQ(n.delay, d.restart_delay);
  EXPECT_EQ(b.consecutive_failures, 0U);
  EXPECT_TRUE(b.failure_restarts.empty()); // a completion spends no restart budget
}

TEST(Policy, NeverEndsFailedAfterAFailure)
{
  JobDefinition d = service();
  d.restart = RestartPolicy::Never;
  RestartBudget b;
  Next n = fail_once(d, b, at(minutes(1)));
  EXPECT_FALSE(n.restart);
  EXPECT_EQ(n.final_state, RunState::Failed);
  EXPECT_FALSE(n.gave_up);
}

TEST(Policy, NeverEndsCompletedAfterACompletion)
{
  RestartBudget b;
  Next n = decide(completion(), ended(ExitStatus::exited(0)), task(), b, at(minutes(1)), false);
  EXPECT_FALSE(n.restart);
  EXPECT_EQ(n.final_state, RunState::Completed);
}

TEST(Policy, AStopEndsTheJobStoppedWhateverThePolicy)
{
  for (auto policy : {RestartPolicy::OnFailure, RestartPolicy::Always, RestartPolicy::Never}) {
    JobDefinition d = service();
    d.restart = policy;
    RestartBudget b;
    Next n = decide({Outcome::Stopped, "requested: x"}, ended(ExitStatus::killed(SIGTERM)), d, b,
                    at(minutes(1)), false);
    EXPECT_FALSE(n.restart);
    EXPECT_EQ(n.final_state, RunState::Stopped);
  }
}

// ---- decide: backoff ----

TEST(Policy, ConsecutiveFailuresDoubleTheDelayUpToTheMax)
{
  JobDefinition d = service();
  d.max_restarts = std::nullopt;
  RestartBudget b;
  const long expected[] = {1, 2, 4, 8, 16, 32, 60, 60, 60};
  Millis now = minutes(1);
  for (long want : expected) {
    Next n = fail_once(d, b, at(now));
    ASSERT_TRUE(n.restart);
    EXPECT_EQ(n.delay, seconds(want));
    now += seconds(1);
  }
}

TEST(Policy, ARunOfSixtySecondsResetsTheBackoff)
{
  JobDefinition d = service();
  d.max_restarts = std::nullopt;
  RestartBudget b;
  fail_once(d, b, at(seconds(10)));
  fail_once(d, b, at(seconds(12)));
  EXPECT_EQ(fail_once(d, b, at(seconds(16))).delay, seconds(4));
  Next n = fail_once(d, b, at(seconds(100)), seconds(60));
  EXPECT_TRUE(n.restart);
  EXPECT_EQ(n.delay, seconds(1));
}

TEST(Policy, ARunJustUnderSixtySecondsKeepsTheBackoff)
{
  JobDefinition d = service();
  d.max_restarts = std::nullopt;
  RestartBudget b;
  fail_once(d, b, at(seconds(10)));
  fail_once(d, b, at(seconds(12)));
  fail_once(d, b, at(seconds(16)));
  EXPECT_EQ(fail_once(d, b, at(seconds(100)), seconds(60) - Millis(1)).delay, seconds(8));
}

TEST(Policy, ACompletionResetsTheBackoff)
{
  JobDefinition d = service(minutes(10));
  d.restart = RestartPolicy::Always;
  d.max_restarts = std::nullopt;
  RestartBudget b;
  fail_once(d, b, at(seconds(10)));
  fail_once(d, b, at(seconds(12)));
  decide(completion(), ended(ExitStatus::exited(0)), d, b, at(seconds(20)), false);
  EXPECT_EQ(fail_once(d, b, at(seconds(30))).delay, seconds(1));
}

// Regression: decide() once returned for a planned restart before touching the backoff streak,
// so a quick failure after ten stable minutes waited 8s instead of 1s (fixed in 3568026).
TEST(Policy, ALongRunEndedByAPlannedRestartResetsTheBackoff)
{
  JobDefinition d = service();
  d.max_restarts = std::nullopt;
  RestartBudget b;
  fail_once(d, b, at(seconds(10)));
  fail_once(d, b, at(seconds(12)));
  fail_once(d, b, at(seconds(16)));
  RunEnd planned = stopped(StopKind::Planned, "SIGHUP", ExitStatus::killed(SIGTERM));
  planned.runtime = minutes(10);
  Next n = decide({Outcome::Restarted, "planned: SIGHUP"}, planned, d, b, at(minutes(11)), false);
  ASSERT_TRUE(n.restart);
  EXPECT_EQ(fail_once(d, b, at(minutes(11) + seconds(2))).delay, seconds(1));
}

// ---- decide: the restart budget ----

TEST(Policy, MaxRestartsAllowsNRestartsThenGivesUp)
{
  JobDefinition d = service();
  d.max_restarts = 3;
  RestartBudget b;
  for (int i = 0; i < 3; ++i) {
    Next n = fail_once(d, b, at(minutes(1 + i)));
    EXPECT_TRUE(n.restart) << i;
    EXPECT_FALSE(n.gave_up) << i;
  }
  Next n = fail_once(d, b, at(minutes(4)));
  EXPECT_FALSE(n.restart);
  EXPECT_TRUE(n.gave_up);
  EXPECT_EQ(n.final_state, RunState::Failed);
}

TEST(Policy, DefaultBudgetIsFiveRestarts)
{
  const JobDefinition d = service();
  RestartBudget b;
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(fail_once(d, b, at(minutes(1) + seconds(i))).restart) << i;
  }
  EXPECT_TRUE(fail_once(d, b, at(minutes(2))).gave_up);
}

TEST(Policy, UnlimitedRestartsKeepNoHistory)
{
  // A crash loop with no limit: the budget stays empty, so the supervisor's memory stays flat.
  JobDefinition d = service();
  d.max_restarts.reset();
  RestartBudget b;
  for (int i = 0; i < 10'000; ++i) {
    EXPECT_TRUE(fail_once(d, b, at(std::chrono::milliseconds(i))).restart);
  }
  EXPECT_TRUE(b.failure_restarts.empty());
  EXPECT_EQ(b.consecutive_failures, 10'000U);
}

TEST(Policy, FailuresOlderThanTheWindowNoLongerCount)
{
  JobDefinition d = service();
  d.max_restarts = 2;
  d.restart_window = minutes(60);
  RestartBudget b;
  EXPECT_TRUE(fail_once(d, b, at(minutes(0))).restart);
  EXPECT_TRUE(fail_once(d, b, at(minutes(30))).restart);
  // At 61 min the first restart (at 0) has left the window, the second (at 30) has not.
  EXPECT_TRUE(fail_once(d, b, at(minutes(61))).restart);
  EXPECT_EQ(b.failure_restarts.size(), 2U);
  // At 62 min the restarts at 30 and 61 are both inside the window: the budget is spent.
  EXPECT_TRUE(fail_once(d, b, at(minutes(62))).gave_up);
}

TEST(Policy, ARestartExactlyOneWindowAgoNoLongerCounts)
{
  JobDefinition d = service();
  d.max_restarts = 1;
  d.restart_window = minutes(10);
  RestartBudget b;
  EXPECT_TRUE(fail_once(d, b, at(minutes(5))).restart);
  EXPECT_TRUE(fail_once(d, b, at(minutes(15) - Millis(1))).gave_up);
  RestartBudget b2;
  EXPECT_TRUE(fail_once(d, b2, at(minutes(5))).restart);
  EXPECT_TRUE(fail_once(d, b2, at(minutes(15))).restart);
}

TEST(Policy, UnlimitedRestartsNeverGiveUp)
{
  JobDefinition d = service();
  d.max_restarts = std::nullopt;
  RestartBudget b;
  for (int i = 0; i < 1000; ++i) {
    Next n = fail_once(d, b, at(minutes(1) + Millis(i)));
    ASSERT_TRUE(n.restart) << i;
    ASSERT_FALSE(n.gave_up) << i;
  }
}

TEST(Policy, ZeroMaxRestartsGivesUpAtTheFirstFailure)
{
  JobDefinition d = service();
  d.max_restarts = 0;
  RestartBudget b;
  Next n = fail_once(d, b, at(minutes(1)));
  EXPECT_FALSE(n.restart);
  EXPECT_TRUE(n.gave_up);
  EXPECT_EQ(n.final_state, RunState::Failed);
}

TEST(Policy, PlannedRestartsAlwaysRestartAtOnceAndSpendNoBudget)
{
  for (auto policy : {RestartPolicy::OnFailure, RestartPolicy::Always, RestartPolicy::Never}) {
    JobDefinition d = service();
    d.restart = policy;
    d.max_restarts = 1;
    RestartBudget b;
    for (int i = 0; i < 5; ++i) {
      Next n = decide({Outcome::Restarted, "planned: x"},
                      stopped(StopKind::Planned, "x", ExitStatus::killed(SIGTERM)), d, b,
                      at(minutes(1 + i)), false);
      EXPECT_TRUE(n.restart);
      EXPECT_EQ(n.delay, Millis(0));
    }
    EXPECT_TRUE(b.failure_restarts.empty());
    if (policy != RestartPolicy::Never) {
      EXPECT_TRUE(fail_once(d, b, at(minutes(10))).restart);
    }
  }
}

// ---- decide: the deadline ----

TEST(Policy, DeadlinePassedNeverRestartsWhateverThePolicy)
{
  for (auto policy : {RestartPolicy::OnFailure, RestartPolicy::Always, RestartPolicy::Never}) {
    JobDefinition d = service(minutes(10));
    d.restart = policy;
    RestartBudget b;
    Next n = decide(failure(), ended(ExitStatus::exited(1)), d, b, at(minutes(11)), true);
    EXPECT_FALSE(n.restart);
    EXPECT_FALSE(n.gave_up);
    EXPECT_EQ(n.final_state, RunState::Completed);
    n = decide(completion(), ended(ExitStatus::exited(0)), d, b, at(minutes(11)), true);
    EXPECT_FALSE(n.restart);
    EXPECT_EQ(n.final_state, RunState::Completed);
    n = decide({Outcome::Restarted, "planned: x"}, ended(ExitStatus::killed(SIGTERM)), d, b,
               at(minutes(11)), true);
    EXPECT_FALSE(n.restart);
  }
}

TEST(Policy, DeadlinePassedEndsAFailedOneshotFailed)
{
  JobDefinition d = task();
  d.duration = minutes(5);
  d.restart = RestartPolicy::Always;
  RestartBudget b;
  Next n = decide({Outcome::Failed, "timeout: x"}, ended(ExitStatus::killed(SIGTERM)), d, b,
                  at(minutes(6)), true);
  EXPECT_FALSE(n.restart);
  EXPECT_EQ(n.final_state, RunState::Failed);
  n = decide(completion(), ended(ExitStatus::exited(0)), d, b, at(minutes(6)), true);
  EXPECT_EQ(n.final_state, RunState::Completed);
}

TEST(Policy, AStopAfterTheDeadlineIsStillAStop)
{
  RestartBudget b;
  Next n = decide({Outcome::Stopped, "requested: x"}, ended(ExitStatus::killed(SIGTERM)),
                  service(minutes(1)), b, at(minutes(2)), true);
  EXPECT_EQ(n.final_state, RunState::Stopped);
}

// ---- gave_up_cause ----

TEST(Policy, GaveUpCauseNamesTheLastCauseAndTheBudget)
{
  JobDefinition d = service();
  d.max_restarts = 5;
  d.restart_window = minutes(60);
  const std::string cause = gave_up_cause("exit: code 1", d);
  EXPECT_TRUE(starts_with_keyword(cause, "gave-up")) << cause;
  EXPECT_NE(cause.find("exit: code 1"), std::string::npos) << cause;
  EXPECT_NE(cause.find("5 restarts within 1h"), std::string::npos) << cause;
  EXPECT_NE(cause.find("--max-restarts 5"), std::string::npos) << cause;
}

TEST(Policy, GaveUpCauseUsesTheSingularForOneRestart)
{
  JobDefinition d = service();
  d.max_restarts = 1;
  d.restart_window = minutes(10);
  const std::string cause = gave_up_cause("signal: SIGSEGV", d);
  EXPECT_NE(cause.find("1 restart within 10m"), std::string::npos) << cause;
  EXPECT_EQ(cause.find("1 restarts"), std::string::npos) << cause;
}

} // namespace
} // namespace pg
