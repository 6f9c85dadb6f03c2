#include "lifecycle.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace pg {
namespace {

using std::chrono::seconds;

constexpr pid_t k_main = 100;
constexpr pid_t k_child = 101;
const Nanos k_now{1'000'000'000};

JobDefinition service()
{
  JobDefinition d;
  d.argv = {"bot"};
  d.stop_timeout = Millis(10'000);
  return d;
}

// A lifecycle with a running run of pid k_main.
struct Job {
  JobDefinition def = service();
  Lifecycle life{def};
  Job() { life.started(k_main, 0); }
};

TEST(Lifecycle, ARunStartsRunningAndSaysStartingUntilReadyUnderNotify)
{
  Job j;
  EXPECT_EQ(j.life.phase(), Phase::Running);
  EXPECT_TRUE(j.life.active());
  EXPECT_EQ(j.life.run().main, k_main);
  EXPECT_EQ(j.life.run().pgid, k_main);
  EXPECT_EQ(j.life.published(RunState::Backoff), RunState::Running);
  j.def.notify = true;
  EXPECT_EQ(j.life.published(RunState::Backoff), RunState::Starting);
  j.life.run().ready = true;
  EXPECT_EQ(j.life.published(RunState::Starting), RunState::Running);
  j.life.run().said_stopping = true;
  EXPECT_EQ(j.life.published(RunState::Running), RunState::Stopping);
}

TEST(Lifecycle, AnExecFailureIsARunThatIsOverAtOnce)
{
  JobDefinition def = service();
  Lifecycle life(def);
  life.started(0, 127);
  EXPECT_TRUE(life.run().main_exited);
  EXPECT_EQ(life.run().status.code, 127);
  EXPECT_EQ(life.run().status_pid, 0);
}

TEST(Lifecycle, AStopSendsTheStopSignalAndArmsTheKill)
{
  Job j;
  const Actions a = j.life.stop(StopKind::Requested, "pg-ctl stop", Millis(3000), k_now);
  EXPECT_EQ(j.life.phase(), Phase::Stopping);
  EXPECT_TRUE(a.record_stop);
  EXPECT_EQ(a.stop_kind, StopKind::Requested);
  EXPECT_EQ(a.stop_by, "pg-ctl stop");
  EXPECT_TRUE(a.stop_signal);
  EXPECT_FALSE(a.kill);
  EXPECT_TRUE(a.publish);
  EXPECT_EQ(j.life.deadline(Deadline::Kill), k_now + Millis(3000));
  EXPECT_EQ(j.life.next(Clock::Mono), k_now + Millis(3000));
  EXPECT_EQ(j.life.published(RunState::Running), RunState::Stopping);
}

TEST(Lifecycle, ASecondRequestKillsAndNeverSignalsAgain)
{
  Job j;
  j.life.stop(StopKind::Outside, "SIGTERM from pid 7", Millis(10'000), k_now);
  const Actions a = j.life.stop(StopKind::Requested, "pg-ctl stop", Millis(10'000), k_now);
  EXPECT_EQ(j.life.phase(), Phase::Killing);
  EXPECT_TRUE(a.record_stop);
  EXPECT_TRUE(a.kill);
  EXPECT_FALSE(a.stop_signal);
  EXPECT_EQ(j.life.deadline(Deadline::Kill), Nanos(0));
}

TEST(Lifecycle, ARequestTakesOverAPlannedRestartWithTheShorterTimeout)
{
  Job j;
  j.life.stop(StopKind::Planned, "SIGHUP", Millis(10'000), k_now);
  const Actions a = j.life.stop(StopKind::Requested, "pg-ctl stop", Millis(2000), k_now);
  EXPECT_FALSE(a.stop_signal); // the tree has it already
  EXPECT_EQ(j.life.stop().kind, StopKind::Requested);
  EXPECT_EQ(j.life.deadline(Deadline::Kill), k_now + Millis(2000));
  EXPECT_EQ(j.life.stop().timeout, Millis(2000));
}

TEST(Lifecycle, AHungJobGetsSigabrtAloneThenTheStopSignalOnce)
{
  Job j;
  Actions a = j.life.hung(StopKind::Watchdog, "no WATCHDOG=1 for 5s", k_now);
  EXPECT_EQ(j.life.phase(), Phase::Aborting);
  EXPECT_TRUE(a.abort_main);
  EXPECT_FALSE(a.stop_signal);
  j.life.run().aborted = k_main;
  a = j.life.reaped(k_main, ExitStatus::killed(SIGABRT, true));
  EXPECT_TRUE(a.stop_signal);
  EXPECT_EQ(j.life.phase(), Phase::Stopping);
  EXPECT_FALSE(j.life.aborted().stop_signal);
}

TEST(Lifecycle, AStopDuringAHangStopsTheRestAndTheJobEndsStopped)
{
  Job j;
  j.life.hung(StopKind::Stall, "no output for 1m", k_now);
  j.life.run().aborted = k_main;
  const Actions a = j.life.stop(StopKind::Requested, "pg-ctl stop", Millis(10'000), k_now);
  EXPECT_TRUE(a.stop_signal);
  EXPECT_EQ(j.life.phase(), Phase::Stopping);
  EXPECT_EQ(j.life.stop().kind, StopKind::Stall); // the run's story
  EXPECT_EQ(j.life.stop().stop_after, "requested: pg-ctl stop");
  // The hung process's end changes nothing more.
  EXPECT_FALSE(j.life.reaped(k_main, ExitStatus::killed(SIGABRT, false)).stop_signal);
  const Next n =
      j.life.after_run({Outcome::Failed, "stall"}, Next{true, Millis(100)}, false, false);
  EXPECT_FALSE(n.restart);
  EXPECT_EQ(n.final_state, RunState::Stopped);
  const Actions e = j.life.ended(n, "stall: no output", Nanos(0));
  ASSERT_TRUE(e.finish);
  EXPECT_EQ(e.finish->why, "requested: pg-ctl stop; stall: no output");
  EXPECT_EQ(j.life.phase(), Phase::Done);
}

TEST(Lifecycle, ARestartAskedDuringACleanupHappensAfterIt)
{
  Job j;
  j.life.reaped(k_main, ExitStatus::exited(1));
  Actions a = j.life.after_reap(true, k_now);
  EXPECT_EQ(j.life.stop().kind, StopKind::Cleanup);
  EXPECT_TRUE(a.stop_signal);
  a = j.life.stop(StopKind::Planned, "pg-ctl restart", Millis(10'000), k_now);
  EXPECT_TRUE(a.record_stop);
  EXPECT_FALSE(a.stop_signal);
  EXPECT_TRUE(j.life.stop().restart_after);
  const Next n = j.life.after_run({Outcome::Failed, "exit: code 1"}, Next{}, false, false);
  EXPECT_TRUE(n.restart);
  EXPECT_EQ(n.delay, Millis(0));
  EXPECT_FALSE(j.life.after_run({Outcome::Failed, "x"}, Next{}, true, false).restart);
}

TEST(Lifecycle, TheTreeOfAnExitZeroIsHandedOverAndItsFailureClassifies)
{
  Job j;
  j.life.reaped(k_main, ExitStatus::exited(0));
  Actions a = j.life.after_reap(true, k_now);
  EXPECT_TRUE(a.hand_over);
  EXPECT_FALSE(a.stop_signal);
  // A daemon that failed before the hand-over: its end is the record.
  j.life.reaped(k_child, ExitStatus::exited(3));
  EXPECT_EQ(j.life.run().status.code, 3);
  EXPECT_EQ(j.life.run().status_pid, k_child);
  a = j.life.after_reap(false, k_now);
  EXPECT_TRUE(a.end_run);
}

TEST(Lifecycle, DuringAStopTheMainProcesssEndIsTheRecord)
{
  Job j;
  j.life.stop(StopKind::Requested, "pg-ctl stop", Millis(10'000), k_now);
  j.life.reaped(k_main, ExitStatus::exited(0));
  j.life.reaped(k_child, ExitStatus::killed(SIGTERM, false));
  EXPECT_EQ(j.life.run().status_pid, k_main);
  EXPECT_TRUE(j.life.run().status.success());
  const Actions a = j.life.after_reap(true, k_now);
  EXPECT_FALSE(a.hand_over);
  EXPECT_FALSE(a.stop_signal);
}

TEST(Lifecycle, AMainPidReapedByItsOwnParentEndsTheRunWithTheLastEndSeen)
{
  Job j;
  j.life.set_main(k_child + 5); // MAINPID= of a grandchild
  j.life.reaped(k_main, ExitStatus::exited(0));
  EXPECT_FALSE(j.life.run().main_exited);
  const Actions a = j.life.after_reap(false, k_now);
  EXPECT_EQ(a.mainpid_gone, k_child + 5);
  EXPECT_TRUE(a.end_run);
  EXPECT_EQ(j.life.run().status_pid, k_main);
}

TEST(Lifecycle, TheStopTimeoutKillsOnlyALiveRun)
{
  Job j;
  j.life.stop(StopKind::Requested, "x", Millis(10'000), k_now);
  EXPECT_FALSE(j.life.due(Deadline::Kill, k_now));
  EXPECT_TRUE(j.life.due(Deadline::Kill, k_now + Millis(10'000)));
  Actions a = j.life.kill_due();
  EXPECT_TRUE(a.kill);
  EXPECT_TRUE(a.kill_timeout);
  EXPECT_EQ(j.life.phase(), Phase::Killing);
  // Orphans reparented since: SIGKILL again at each reap round.
  j.life.reaped(k_main, ExitStatus::killed(SIGKILL, false));
  EXPECT_TRUE(j.life.after_reap(true, k_now).kill);
}

TEST(Lifecycle, BetweenRunsAStopTakesEffectAtOnce)
{
  auto backoff = [](const JobDefinition& def) {
    auto life = std::make_unique<Lifecycle>(def);
    life->started(k_main, 0);
    life->ended(Next{true, Millis(5000)}, "exit: code 1", Nanos(1000));
    return life;
  };
  JobDefinition def = service();
  auto life = backoff(def);
  EXPECT_EQ(life->phase(), Phase::Backoff);
  EXPECT_EQ(life->next(Clock::Boot), Nanos(1000) + Millis(5000));
  EXPECT_FALSE(life->active());

  Actions a = life->stop(StopKind::Planned, "SIGHUP", Millis(1), k_now);
  EXPECT_EQ(life->phase(), Phase::Restarting);
  EXPECT_FALSE(a.finish);

  life = backoff(def);
  a = life->stop(StopKind::Outside, "SIGTERM from pid 7", Millis(1), k_now);
  EXPECT_TRUE(a.record_stop);
  EXPECT_TRUE(a.alert_outside);
  ASSERT_TRUE(a.finish);
  EXPECT_EQ(a.finish->state, RunState::Stopped);
  EXPECT_EQ(a.finish->why, "outside-signal: SIGTERM from pid 7 (between runs)");
  EXPECT_FALSE(a.stop_signal);
  EXPECT_EQ(life->published(RunState::Backoff), RunState::Stopped);

  def.duration = Millis(60'000);
  life = backoff(def);
  a = life->duration_due(k_now);
  ASSERT_TRUE(a.finish);
  EXPECT_EQ(a.finish->state, RunState::Completed);
  EXPECT_EQ(a.finish->why, "timeout: planned duration 1m reached between runs");
  def.oneshot = true;
  life = backoff(def);
  EXPECT_EQ(life->duration_due(k_now).finish->state, RunState::Failed);
}

TEST(Lifecycle, DeadlinesAreInForceOnlyInTheirPhases)
{
  Job j;
  j.life.deadline(Deadline::Duration) = Nanos(50);
  j.life.deadline(Deadline::RestartEvery) = Nanos(40);
  j.life.deadline(Deadline::Memory) = Nanos(30);
  EXPECT_EQ(j.life.next(Clock::Boot), Nanos(40));
  EXPECT_EQ(j.life.next(Clock::Mono), Nanos(30));
  j.life.duration_due(Nanos(0));
  EXPECT_EQ(j.life.stop().kind, StopKind::Duration);
  // Neither a second duration stop nor a planned restart during a stop.
  EXPECT_FALSE(j.life.due(Deadline::Duration, Nanos(60)));
  EXPECT_FALSE(j.life.due(Deadline::RestartEvery, Nanos(60)));
  EXPECT_TRUE(j.life.due(Deadline::Memory, Nanos(60)));
  j.life.ended(Next{false}, "done", Nanos(0));
  EXPECT_EQ(j.life.next(Clock::Boot), Nanos(0));
  EXPECT_EQ(j.life.next(Clock::Mono), Nanos(0));
}

TEST(Lifecycle, AnEndWithinWaitIsNeverRestarted)
{
  Job j;
  Next n =
      j.life.after_run({Outcome::Failed, "exit: code 1"}, Next{true, Millis(100)}, false, true);
  EXPECT_FALSE(n.restart);
  EXPECT_EQ(n.final_state, RunState::Failed);
  n = j.life.after_run({Outcome::Completed, "exit: code 0"}, Next{true}, false, true);
  EXPECT_EQ(n.final_state, RunState::Completed);
}

// The property the double SIGTERM broke: whatever arrives during one run, in whatever order, the
// stop signal goes to the tree at most once, and SIGABRT at most once.
TEST(Lifecycle, TheStopSignalGoesAtMostOncePerRunWhateverArrives)
{
  const std::vector<std::function<Actions(Lifecycle&)>> events = {
      [](Lifecycle& l) { return l.stop(StopKind::Requested, "ctl", Millis(10), k_now); },
      [](Lifecycle& l) { return l.stop(StopKind::Outside, "TERM", Millis(10), k_now); },
      [](Lifecycle& l) { return l.stop(StopKind::Planned, "HUP", Millis(10), k_now); },
      [](Lifecycle& l) { return l.stop(StopKind::Memory, "rss", Millis(10), k_now); },
      [](Lifecycle& l) { return l.duration_due(k_now); },
      [](Lifecycle& l) { return l.hung(StopKind::Watchdog, "wd", k_now); },
      [](Lifecycle& l) { return l.aborted(); },
      [](Lifecycle& l) { return l.kill_due(); },
      [](Lifecycle& l) {
        Actions a = l.reaped(k_main, ExitStatus::exited(1));
        Actions b = l.after_reap(true, k_now);
        a.stop_signal = a.stop_signal || b.stop_signal;
        return a;
      },
  };
  const size_t n = events.size();
  unsigned sequences = 0;
  for (size_t a = 0; a < n; ++a) {
    for (size_t b = 0; b < n; ++b) {
      for (size_t c = 0; c < n; ++c) {
        for (size_t d = 0; d < n; ++d) {
          JobDefinition def = service();
          Lifecycle life(def);
          life.started(k_main, 0);
          int signals = 0;
          int aborts = 0;
          for (size_t e : {a, b, c, d}) {
            const Actions act = events[e](life);
            signals += act.stop_signal ? 1 : 0;
            aborts += act.abort_main ? 1 : 0;
            if (act.abort_main) {
              life.run().aborted = k_main;
            }
          }
          ASSERT_LE(signals, 1) << "events " << a << b << c << d;
          ASSERT_LE(aborts, 1) << "events " << a << b << c << d;
          ++sequences;
        }
      }
    }
  }
  EXPECT_EQ(sequences, n * n * n * n);
}

} // namespace
} // namespace pg
