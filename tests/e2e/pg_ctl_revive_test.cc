// pg-ctl revive on real jobs: a lost job (supervisor SIGKILLed) and a job stopped from
// outside start again from their recorded definition, keeping their first start and their
// --duration deadline; jobs stopped by pg-ctl, completed or failed are never started; a lost
// job whose processes live is refused unless --replace; a passed deadline marks the job
// completed; a state from an earlier boot is recognised as lost and revived.
#include "harness.h"

#include <unistd.h>

#include <csignal>

namespace pg::e2e {
namespace {

class PgCtlRevive : public E2e {
protected:
};

TEST_F(PgCtlRevive, StartsLostAndOutsideStoppedJobsButNoOthers)
{
  launch("lostjob", {"--duration", "1h"}, {"--sleep", "1h"});
  const Json before = wait_running("lostjob");
  make_lost("lostjob");
  launch("outside", {}, {"--sleep", "1h"});
  wait_running("outside");
  ASSERT_EQ(::kill(supervisor_pid("outside"), SIGTERM), 0);
  wait_end("outside");
  launch("byctl", {}, {"--sleep", "1h"});
  wait_running("byctl");
  ASSERT_EQ(pg_ctl({"stop", "byctl"}).status, 0);
  launch("task", {"--oneshot"}, {"--exit", "0"});
  wait_end("task");
  launch("broken", {"--restart", "never"}, {"--exit", "2"});
  wait_end("broken");

  Result r = pg_ctl({"revive", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  Json out = Json::parse(r.out);
  ASSERT_EQ(out.size(), 2u) << r.out;
  EXPECT_EQ(out[0]["name"], "lostjob");
  EXPECT_EQ(out[1]["name"], "outside");
  for (const auto& o : out) {
    EXPECT_EQ(o["ok"], true) << o.dump();
    EXPECT_EQ(o["action"], "revive");
  }
  const Json after = wait_running("lostjob");
  wait_running("outside");
  EXPECT_TRUE(lock_held("lostjob"));
  // Its first start and its deadline are the original ones.
  EXPECT_EQ(after["started_at"], before["started_at"]);
  EXPECT_EQ(after["deadline_at"], before["deadline_at"]);
  auto launches = events("lostjob", "launch");
  ASSERT_EQ(launches.size(), 2u);
  EXPECT_EQ(launches[1]["revived"], true);
  EXPECT_EQ(state("byctl")["state"], "stopped");
  EXPECT_EQ(state("task")["state"], "completed");
  EXPECT_EQ(state("broken")["state"], "failed");

  // Named: a running job is fine as it is; a job stopped by pg-ctl is refused.
  r = pg_ctl({"revive", "lostjob", "byctl"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.out, "lostjob: already running")) << r.out;
  EXPECT_TRUE(contains(r.err, "byctl: not revived: it is stopped (requested")) << r.err;
  EXPECT_EQ(state("byctl")["state"], "stopped");

  r = pg_ctl({"revive"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "nothing to revive")) << r.out;
}

TEST_F(PgCtlRevive, NeverASecondCopyWhileTheOldRunLivesUnlessReplace)
{
  const std::string pidfile = path("old.pid");
  launch("stubborn", {}, {"--ignore-term", "--pidfile", pidfile, "--sleep", "1h"});
  const pid_t old = wait_pidfile(pidfile);
  wait_running("stubborn");
  ASSERT_EQ(::kill(supervisor_pid("stubborn"), SIGKILL), 0);
  must(wait_until([&] { return lost("stubborn"); }, "stubborn shows lost"));
  ASSERT_TRUE(alive(old)); // it ignored the parent-death SIGTERM

  Result r = pg_ctl({"revive", "stubborn"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "processes of its old run live; --replace ends them")) << r.err;
  EXPECT_TRUE(alive(old));
  EXPECT_TRUE(lost("stubborn"));

  r = pg_ctl({"revive", "--replace", "stubborn"});
  EXPECT_EQ(r.status, 0) << r.err;
  must(wait_until([&] { return !alive(old); }, "the old run's process is gone"));
  const Json st = wait_running("stubborn");
  EXPECT_NE(st["pid"].get<pid_t>(), old);
}

TEST_F(PgCtlRevive, APassedDeadlineMarksTheJobCompletedInsteadOfReviving)
{
  launch("short", {"--duration", "1s"}, {"--sleep", "1h"});
  make_lost("short");
  const std::string deadline = state("short")["deadline_at"].get<std::string>();
  // Past the deadline (RFC 3339 strings of one format compare as times).
  must(wait_until(
      [&] {
        Result now = run({"date", "-u", "+%Y-%m-%dT%H:%M:%S.000Z"});
        return now.out.substr(0, 24) > deadline;
      },
      "the deadline passes", Millis(5000)));
  Result r = pg_ctl({"revive"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "short: not revived: its --duration deadline")) << r.out;
  const Json st = state("short");
  EXPECT_EQ(st["state"], "completed");
  EXPECT_TRUE(starts_with(st["end_cause"].get<std::string>(), "timeout: planned duration 1s"))
      << st.dump();
  EXPECT_FALSE(lock_held("short"));
  auto ends = events("short", "end");
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0]["by"], "pg-ctl revive");
}

TEST_F(PgCtlRevive, AJobAliveInAnEarlierBootIsLostAndRevived)
{
  launch("boot", {}, {"--sleep", "1h"});
  wait_running("boot");
  ASSERT_EQ(pg_ctl({"stop", "boot"}).status, 0);
  // What a reboot leaves: the state of a running job, written in another boot, lock free.
  Json st = state("boot");
  st["state"] = "running";
  st["end_cause"] = "";
  st["pid"] = 1;
  st["supervisor"]["boot_id"] = "00000000-0000-0000-0000-000000000000";
  const std::string file = state_dir() + "/boot/state.json";
  write_text(file + ".forged", st.dump(), 0600);
  ASSERT_EQ(::rename((file + ".forged").c_str(), file.c_str()), 0);

  Result ls = run({PG_LS_BIN, "--state-dir", state_dir(), "--json", "boot"});
  Json listed = Json::parse(ls.out);
  EXPECT_EQ(listed[0]["state"], "lost");
  EXPECT_TRUE(contains(listed[0]["lost_reason"].get<std::string>(), "boot")) << ls.out;

  Result r = pg_ctl({"revive"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "boot: revived (was lost")) << r.out;
  const Json now = wait_running("boot");
  EXPECT_NE(now["pid"].get<pid_t>(), 1);
}

} // namespace
} // namespace pg::e2e
