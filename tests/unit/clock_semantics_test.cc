// DESIGN "Time:" on the pure logic each clock feeds, with the clocks injected: a suspend advances
// CLOCK_BOOTTIME and leaves CLOCK_MONOTONIC where it was. The restart window, the stable-run rule
// and the alert cooldown are fed BOOTTIME by the supervisor, so suspended time counts toward
// them; the watchdog and stall checks (Liveness) are fed MONOTONIC, so a resume kills nothing.
// A real suspend cannot be made under a test (a time namespace's offsets are fixed at its
// creation): which clock the supervisor passes to each is the audit in docs/reliability-clocks.md,
// and tests/e2e/clock_test.cc shows that no timer mixes the two.
#include "alert.h"
#include "liveness.h"
#include "policy.h"

#include <gtest/gtest.h>

namespace pg {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// Both clocks of a machine; a suspend moves only BOOTTIME.
struct Machine {
  Nanos boot = seconds(5000);
  Nanos mono = seconds(4000);
  void run_for(Nanos d)
  {
    boot += d;
    mono += d;
  }
  void suspend_for(Nanos d) { boot += d; }
};

JobDefinition service()
{
  JobDefinition d;
  d.argv = {"bot"};
  d.resolved = "/usr/bin/bot";
  d.max_restarts = 2;
  d.restart_window = Millis(hours(1));
  return d;
}

RunEnd failed_after(Millis runtime)
{
  RunEnd e;
  e.status = ExitStatus::exited(1);
  e.runtime = runtime;
  e.job_time = runtime;
  return e;
}

Next fail(const JobDefinition& def, RestartBudget& budget, Millis runtime, Nanos now_boot)
{
  const RunEnd end = failed_after(runtime);
  return decide(classify(end, def), end, def, budget, now_boot, false);
}

TEST(ClockSemantics, TheRestartWindowCountsSuspendedTime)
{
  const JobDefinition def = service();
  Machine m;
  RestartBudget budget;
  EXPECT_TRUE(fail(def, budget, Millis(1000), m.boot).restart);
  m.run_for(seconds(1));
  EXPECT_TRUE(fail(def, budget, Millis(1000), m.boot).restart);
  // Two restarts within the hour: a third failure now would give up. After an hour asleep, the
  // window has moved on.
  m.suspend_for(hours(1));
  m.run_for(seconds(1));
  Next n = fail(def, budget, Millis(1000), m.boot);
  EXPECT_TRUE(n.restart);
  EXPECT_FALSE(n.gave_up);
}

TEST(ClockSemantics, WithoutTheSuspendTheSameFailuresGiveUp)
{
  const JobDefinition def = service();
  Machine m;
  RestartBudget budget;
  EXPECT_TRUE(fail(def, budget, Millis(1000), m.boot).restart);
  m.run_for(seconds(1));
  EXPECT_TRUE(fail(def, budget, Millis(1000), m.boot).restart);
  m.run_for(seconds(1));
  Next n = fail(def, budget, Millis(1000), m.boot);
  EXPECT_FALSE(n.restart);
  EXPECT_TRUE(n.gave_up);
}

TEST(ClockSemantics, ARunSuspendedPastTheStableTimeResetsTheBackoff)
{
  // A run's runtime is measured on BOOTTIME: 2 s awake plus an hour asleep is a stable run.
  JobDefinition def = service();
  def.max_restarts.reset();
  RestartBudget budget;
  Machine m;
  for (int i = 0; i < 3; ++i) {
    fail(def, budget, Millis(100), m.boot);
    m.run_for(seconds(1));
  }
  EXPECT_EQ(budget.consecutive_failures, 3u);
  const Nanos start = m.boot;
  m.run_for(seconds(2));
  m.suspend_for(hours(1));
  const auto runtime = std::chrono::duration_cast<Millis>(m.boot - start);
  Next n = fail(def, budget, runtime, m.boot);
  EXPECT_EQ(budget.consecutive_failures, 1u);
  EXPECT_EQ(n.delay, def.restart_delay);
}

Alert failure(int s)
{
  Alert a;
  a.kind = AlertKind::Failed;
  a.summary = "bot failed";
  a.at = WallTime{} + seconds(1'700'000'000 + s);
  return a;
}

TEST(ClockSemantics, TheAlertCooldownEndsDuringASuspend)
{
  AlertGate gate(minutes(15));
  Machine m;
  ASSERT_TRUE(gate.offer(failure(0), m.boot));
  m.run_for(seconds(10));
  EXPECT_FALSE(gate.offer(failure(10), m.boot)); // held by the cooldown
  EXPECT_FALSE(gate.due(m.boot));
  // Asleep for an hour: on waking the cooldown is long over, and the held alert goes out.
  m.suspend_for(hours(1));
  EXPECT_LE(gate.deadline(), m.boot);
  auto o = gate.due(m.boot);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->alert.at, failure(10).at);
}

TEST(ClockSemantics, WakingFromASuspendTriggersNoWatchdogOrStall)
{
  Machine m;
  Liveness watchdog;
  Liveness stall;
  watchdog.start(m.mono, seconds(30));
  stall.start(m.mono, minutes(5));
  m.run_for(seconds(20));
  watchdog.feed(m.mono);
  stall.feed(m.mono);
  // Eight hours asleep: the job could send nothing, and none of it counts.
  m.suspend_for(hours(8));
  m.run_for(seconds(1));
  EXPECT_FALSE(watchdog.expired(m.mono));
  EXPECT_FALSE(stall.expired(m.mono));
  // Awake and silent past the timeout: hung.
  m.run_for(seconds(30));
  EXPECT_TRUE(watchdog.expired(m.mono));
  EXPECT_FALSE(stall.expired(m.mono));
  m.run_for(minutes(5));
  EXPECT_TRUE(stall.expired(m.mono));
}

} // namespace
} // namespace pg
