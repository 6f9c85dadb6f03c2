// pg-run --foreground (systemd, containers, cron) and pg-run as PID 1 of a pid namespace.
#include "harness.h"

#include <unistd.h>

namespace pg::e2e {
namespace {

class Foreground : public E2e {};
class Pid1 : public E2e {};

TEST_F(Foreground, MirrorsOutputToItsOwnStreamsAndTheLog)
{
  Result r = run(job("fg", {"-f", "--restart", "never"},
                     {"--print", "to-stdout", "--stderr", "to-stderr", "--exit", "7"}));
  EXPECT_EQ(r.status, 7) << r.err;
  // stdout carries the job's stdout and nothing else (pg-run -f | jq must work).
  EXPECT_EQ(r.out, "to-stdout\n");
  EXPECT_TRUE(contains(r.err, "to-stderr\n")) << r.err;
  EXPECT_FALSE(contains(r.err, "to-stdout")) << r.err;
  const std::string log = read_text(state_dir() + "/fg/output.log");
  EXPECT_TRUE(contains(log, "to-stdout\n")) << log;
  EXPECT_TRUE(contains(log, "to-stderr\n")) << log;
  Json st = state("fg");
  EXPECT_EQ(st["state"], "failed");
  EXPECT_EQ(st["last_exit"]["code"], 7);
  EXPECT_FALSE(lock_held("fg"));
}

TEST_F(Foreground, ExitsWith128PlusTheSignalThatEndedTheJob)
{
  Result r = run(job("sig", {"-f", "--restart", "never"}, {"--raise", "USR1"}));
  EXPECT_EQ(r.status, 128 + SIGUSR1) << r.err;
  Json st = state("sig");
  EXPECT_EQ(st["last_exit"]["signal"], "SIGUSR1");
  EXPECT_TRUE(st["last_exit"]["code"].is_null());
}

TEST_F(Foreground, ExitsWithTheLastRunsStatusAfterRestarts)
{
  Result r =
      run(job("retry", {"-f", "--restart-delay", "50ms", "--max-restarts", "2"}, {"--exit", "5"}));
  EXPECT_EQ(r.status, 5) << r.err;
  EXPECT_EQ(events("retry", "start").size(), 3u);
  EXPECT_TRUE(starts_with(state("retry")["last_exit"].value("cause", ""), "gave-up"));
}

TEST_F(Foreground, MissingCommandStillExits127)
{
  Result r = run(pg_run({"-f", "-n", "nocmd", path("no-such-command")}));
  EXPECT_EQ(r.status, 127) << r.err;
  EXPECT_FALSE(lock_held("nocmd"));
}

TEST_F(Foreground, TermToPgRunStopsTheJobGracefully)
{
  auto c = start(job("fgterm", {"-f", "--stop-timeout", "5s"},
                     {"--term-exit0", "--pidfile", path("pid"), "--sleep", "1h"}));
  wait_pidfile(path("pid"));
  ASSERT_EQ(::kill(c->pid(), SIGTERM), 0);
  Result r = c->finish(k_wait);
  // The job's handler made it exit 0 on pg-run's own stop: the last run's status is 0.
  EXPECT_EQ(r.status, 0) << r.err;
  Json st = state("fgterm");
  EXPECT_EQ(st["state"], "stopped");
  EXPECT_EQ(st["last_exit"]["outcome"], "stopped");
  EXPECT_TRUE(starts_with(st["last_exit"].value("cause", ""),
                          "outside-signal: SIGTERM from pid " + std::to_string(::getpid())))
      << st["last_exit"].dump();
}

TEST_F(Pid1, BehavesAsForeground)
{
  if (::access("/usr/bin/unshare", X_OK) != 0) {
    GTEST_SKIP() << "unshare (util-linux) is not installed";
  }
  Result probe = run({"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "/bin/true"});
  if (probe.status != 0) {
    GTEST_SKIP() << "a pid namespace is not permitted here: " << probe.err;
  }
  Result r = run(Args{"/usr/bin/unshare", "--pid", "--fork", "--mount-proc"} +
                 job("init", {"--restart", "never"}, {"--print", "from-pid-1", "--exit", "5"}));
  // As PID 1, pg-run stays in the foreground: the job's output is ours and so is its status.
  EXPECT_EQ(r.status, 5) << r.err;
  EXPECT_TRUE(contains(r.out, "from-pid-1\n")) << r.out;
  Json st = state("init");
  // PID 1 only reaps and passes signals on (as tini); the supervisor is its child.
  EXPECT_EQ(st["supervisor"]["pid"], 2);
  EXPECT_EQ(st["supervisor_parent"]["pid"], 1);
  EXPECT_EQ(st["state"], "failed");
  EXPECT_EQ(st["last_exit"]["code"], 5);

  Result ok = run(Args{"/usr/bin/unshare", "--pid", "--fork", "--mount-proc"} +
                  job("init-ok", {"--oneshot"}, {"--exit", "0"}));
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(state("init-ok")["state"], "completed");
}

} // namespace
} // namespace pg::e2e
