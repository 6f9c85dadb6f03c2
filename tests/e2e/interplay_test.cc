// How the liveness features meet the rest of supervision: a MAINPID reaped by its own parent
// still ends the run; a stop asked for during a hung kill keeps the hang as the run's story and
// ends the job stopped; a planned restart during --wait is no end of the wait; notify events a
// job could repeat at will are rate-limited; a killed supervisor's output loss is recorded.
#include "harness.h"

#include <unistd.h>

#include <csignal>

namespace pg::e2e {
namespace {

class Interplay : public E2e {
protected:
  std::string script(const std::string& name, const std::string& body)
  {
    const std::string p = path(name);
    write_text(p, "#!/bin/sh\nulimit -c 0\ncd '" + tmp() + "'\n" + body + "\n", 0755);
    return p;
  }
};

TEST_F(Interplay, AMainPidReapedByItsOwnParentStillEndsTheRun)
{
  // The shell names its child the main process, then waits for it itself: pg-run never reaps
  // the main process, yet once nothing of the tree is left the run is over.
  const std::string s = script("job.sh", "sleep 0.5 &\n"
                                         "systemd-notify --ready MAINPID=$!\n"
                                         "wait $!\n"
                                         "exit 3");
  Result r = run(pg_run({"-n", "waiter", "--notify", "--restart", "never", "--", s}));
  ASSERT_EQ(r.status, 0) << r.err;
  wait_events("waiter", "mainpid", 1);
  Json st = wait_end("waiter");
  EXPECT_EQ(st["state"], "failed");
  EXPECT_EQ(st["last_exit"]["code"], 3) << st.dump(); // the shell was the last one we reaped
  EXPECT_EQ(events("waiter", "mainpid-gone").size(), 1u);
}

TEST_F(Interplay, AStopDuringAHungKillKeepsTheHangAndEndsTheJobStopped)
{
  // The main process ignores SIGABRT, so the hung kill would wait for the stop timeout; a
  // pg-ctl stop meanwhile stops the tree at once, and the run stays a stall failure.
  const std::string s = script("job.sh", "trap '' ABRT\n"
                                         "echo up\n"
                                         "while :; do sleep 0.05; done");
  Result r = run(pg_run({"-n", "hung", "--stall", "500ms", "--stop-timeout", "30s", "--", s}));
  ASSERT_EQ(r.status, 0) << r.err;
  wait_events("hung", "stall", 1);
  const auto t0 = Clock::now();
  Result stop = pg_ctl({"stop", "hung"});
  EXPECT_EQ(stop.status, 0) << stop.err;
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 20.0);
  Json st = wait_end("hung");
  EXPECT_EQ(st["state"], "stopped");
  EXPECT_EQ(st["last_exit"]["outcome"], "failed");
  EXPECT_TRUE(starts_with(st["last_exit"]["cause"].get<std::string>(), "stall: ")) << st.dump();
  EXPECT_TRUE(starts_with(st["end_cause"].get<std::string>(), "requested: ")) << st.dump();
  EXPECT_TRUE(events("hung", "kill").empty()); // the stop signal did it, no SIGKILL
}

TEST_F(Interplay, APlannedRestartDuringTheWaitIsNoEndOfIt)
{
  Result r =
      run(job("cycler", {"--wait", "1500ms", "--restart-every", "400ms"}, {"--sleep", "1h"}));
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  Json st = wait_running("cycler");
  EXPECT_GE(st["restarts"].get<int>(), 1) << st.dump();
}

TEST_F(Interplay, RepeatedNotifyMessagesAreNotEachAnEvent)
{
  const std::string s =
      script("job.sh", "systemd-notify --ready WATCHDOG_USEC=5000000\n"
                       "i=0\n"
                       "while [ $i -lt 20 ]; do\n"
                       "  systemd-notify EXTEND_TIMEOUT_USEC=1000000 WATCHDOG_USEC=5000000\n"
                       "  i=$((i+1))\n"
                       "done\n"
                       "echo done > done.tmp && mv done.tmp done\n"
                       "exec sleep 60");
  Result r = run(pg_run({"-n", "chatty", "--notify", "--wait", "30s", "--", s}));
  ASSERT_EQ(r.status, 0) << r.err;
  wait_file(path("done"), Millis(20'000));
  EXPECT_EQ(events("chatty", "watchdog-timeout").size(), 1u);
  EXPECT_LE(events("chatty", "extend-timeout").size(), 1u);
}

TEST_F(Interplay, AsPidOneTheAlertHelperIsNotTheJobAndItsLastHookRuns)
{
  // A container's entrypoint: pg-run is PID 1 of a new PID namespace (needs root).
  if (::geteuid() != 0 || ::access("/usr/bin/unshare", X_OK) != 0) {
    GTEST_SKIP() << "needs root and unshare(1)";
  }
  const std::string alert = path("alert");
  const auto t0 = Clock::now();
  Result r =
      run({"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", k_pg_run, "-q", "--state-dir",
           state_dir(), "-n", "entry", "--restart", "never", "--on-failure",
           "sleep 0.2; echo \"$PG_EVENT\" > " + alert + ".tmp && mv " + alert + ".tmp " + alert,
           "--", "/bin/sh", "-c", "echo hi; sleep 0.3; exit 0"});
  EXPECT_EQ(r.status, 0) << r.err; // the job's own status, as in the foreground
  // The run ended when the job did: the helper is no child of the supervisor's.
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 10.0);
  Json st = state("entry");
  EXPECT_EQ(st["state"], "failed");
  EXPECT_TRUE(starts_with(st["last_exit"]["cause"].get<std::string>(), "premature:")) << st.dump();
  // PID 1 waited for the helper, so the alert for the container's last failure was sent.
  EXPECT_EQ(read_text(alert), "failed\n");
}

TEST_F(Interplay, OutputTheLogCannotTakeIsRecorded)
{
  // /dev/full takes nothing (ENOSPC): what the relay drops is counted, with the reason.
  launch("full", {"--oneshot", "--log", "/dev/full"}, {"--print", "lost line", "--exit", "0"});
  Json st = wait_end("full");
  EXPECT_EQ(st["state"], "completed");
  EXPECT_GT(st["log_dropped_bytes"].get<uint64_t>(), 0u) << st.dump();
  EXPECT_EQ(st["log_drop_error"], "No space left on device");
  auto ev = events("full", "log-dropped");
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back()["total"], st["log_dropped_bytes"]);
  Result detail = run({PG_LS_BIN, "--state-dir", state_dir(), "full"});
  EXPECT_TRUE(contains(detail.out, "bytes of output could not be written: No space left on device"))
      << detail.out;
}

} // namespace
} // namespace pg::e2e
