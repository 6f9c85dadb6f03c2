// Day-2 operations on real jobs: pg-ctl start of an ended job from its recorded definition and
// launch environment (STATE/NAME/environ), --all and globs on stop, restart and start, and the
// launch environment kept for a revival from a bare environment (cron's, after a reboot).
#include "harness.h"

#include <filesystem>

namespace pg::e2e {
namespace {

namespace fs = std::filesystem;

class PgCtlStart : public E2e {};

TEST_F(PgCtlStart, StartsAStoppedJobAgainAsARunOfItsHistory)
{
  launch("bot", {"--max-restarts", "3"}, {"--sleep", "1h"});
  const Json first = wait_running("bot");
  ASSERT_EQ(pg_ctl({"stop", "bot"}).status, 0);
  wait_end("bot");

  Result r = pg_ctl({"start", "bot"});
  ASSERT_EQ(r.status, 0) << r.err;
  const Json again = wait_running("bot");
  EXPECT_TRUE(starts_with(r.out, "bot: running, pid " + std::to_string(again["pid"].get<pid_t>())))
      << r.out;
  EXPECT_NE(again["pid"], first["pid"]);
  EXPECT_EQ(again["restarts"], 0) << "the restart budget begins again";
  EXPECT_EQ(again["definition"]["max_restarts"], 3) << "the recorded options are kept";
  const auto starts = events("bot", "start");
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[1]["run"], 2) << "the run numbering goes on";

  // A live job is left alone.
  r = pg_ctl({"start", "bot"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "bot: already running\n");
  EXPECT_EQ(state("bot")["pid"], again["pid"]);
}

TEST_F(PgCtlStart, StartsAJobThatGaveUpOnceTheCauseIsFixed)
{
  const std::string fixed = path("fixed");
  Result launched =
      run(pg_run({"-n", "flaky", "--max-restarts", "1", "--restart-delay", "0", "--", "sh", "-c",
                  "test -e \"$1\" || exit 3; exec \"$2\" --sleep 1h", "sh", fixed, FAKE_JOB_BIN}));
  ASSERT_EQ(launched.status, 0) << launched.err;
  const Json gave_up = wait_end("flaky");
  ASSERT_EQ(gave_up["state"], "failed") << gave_up.dump();

  write_text(fixed, "");
  Result r = pg_ctl({"start", "flaky", "--wait", "300ms"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(wait_running("flaky")["state"], "running");
  EXPECT_TRUE(contains(r.out, "flaky: running, pid")) << r.out;
}

TEST_F(PgCtlStart, RefusesWhatItCannotStartWithPgRunsReason)
{
  Result r = pg_ctl({"start", "nosuch"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "nosuch: no such job")) << r.err;
  // The command is gone: pg-run's own reason, exit 1.
  const std::string bin = path("tool");
  fs::copy_file(FAKE_JOB_BIN, bin);
  r = run(pg_run({"-n", "vanish", "--restart", "never", "--", bin, "--exit", "0"}));
  ASSERT_EQ(r.status, 0) << r.err;
  wait_end("vanish");
  fs::remove(bin);
  r = pg_ctl({"start", "vanish"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "vanish: not started")) << r.err;
  EXPECT_EQ(pg_ctl({"start"}).status, 2) << "a name or --all";
  EXPECT_EQ(pg_ctl({"start", "--all", "vanish"}).status, 2) << "not both";
  EXPECT_EQ(pg_ctl({"start", "vanish", "--wait", "soon"}).status, 2);
}

TEST_F(PgCtlStart, AllAndGlobsPickTheJobsTheVerbIsFor)
{
  launch("web-1", {}, {"--sleep", "1h"});
  launch("web-2", {}, {"--sleep", "1h"});
  launch("worker", {}, {"--sleep", "1h"});
  launch("task", {"--oneshot"}, {"--exit", "0"});
  wait_end("task");
  wait_running("web-1");
  wait_running("web-2");
  wait_running("worker");

  Result r = pg_ctl({"stop", "web-*"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "web-1: stopped")) << r.out;
  EXPECT_TRUE(contains(r.out, "web-2: stopped")) << r.out;
  EXPECT_FALSE(contains(r.out, "worker")) << r.out;
  EXPECT_EQ(state("worker")["state"], "running");

  r = pg_ctl({"stop", "nomatch-*"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "no job matches 'nomatch-*'")) << r.err;

  // stop --all: the live ones; ended jobs are skipped without error.
  r = pg_ctl({"stop", "--all"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.find("task"), std::string::npos) << r.out;
  EXPECT_TRUE(contains(r.out, "worker: stopped")) << r.out;
  wait_end("worker");
  r = pg_ctl({"stop", "--all"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "no jobs to act on")) << r.out;

  // start --all: every ended job but the completed one.
  r = pg_ctl({"start", "--all", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  const Json out = Json::parse(r.out);
  ASSERT_EQ(out.size(), 3u) << r.out;
  EXPECT_EQ(out[0]["name"], "web-1");
  EXPECT_EQ(out[1]["name"], "web-2");
  EXPECT_EQ(out[2]["name"], "worker");
  for (const auto& o : out) {
    EXPECT_EQ(o["ok"], true) << o.dump();
    EXPECT_EQ(o["action"], "start");
  }
  EXPECT_EQ(state("task")["state"], "completed");
  for (const char* n : {"web-1", "web-2", "worker"}) {
    wait_running(n);
  }
  r = pg_ctl({"restart", "--all"});
  EXPECT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(pg_ctl({"stop", "--all"}).status, 0);
}

TEST_F(PgCtlStart, NoJobsAtAllIsNothingToDo)
{
  for (const char* verb : {"stop", "restart", "start"}) {
    Result r = pg_ctl({verb, "--all"});
    EXPECT_EQ(r.status, 0) << verb << ": " << r.err;
    EXPECT_TRUE(contains(r.out, "no jobs in")) << r.out;
  }
}

// The seeds' bot: launched from a shell that exported its API key, revived after its supervisor
// died from cron's bare environment. It still sees the key, which is nowhere else on disk.
TEST_F(PgCtlStart, ARevivalFromABareEnvironmentKeepsTheLaunchEnvironment)
{
  const std::string secret = "sk-live-0123456789abcdef";
  const std::string report = path("report");
  StartOptions o;
  o.env = {{"BOT_API_KEY", secret}, {"SSH_AUTH_SOCK", "/tmp/agent.sock"}};
  launch("bot", {}, {"--report", report, "--report-env", "BOT_API_KEY", "--sleep", "1h"}, o);
  EXPECT_EQ(wait_report(report)["env.BOT_API_KEY"], secret);
  const std::string environ_file = state_dir() + "/bot/environ";
  EXPECT_EQ(mode_of(environ_file), 0600u);
  const std::string kept = read_text(environ_file);
  EXPECT_TRUE(contains(kept, "BOT_API_KEY=" + secret + std::string(1, '\0')));
  EXPECT_FALSE(contains(kept, "SSH_AUTH_SOCK=")) << "session-bound variables are not kept";
  EXPECT_FALSE(contains(kept, "PG_RUN_ID=")) << "pg-run's own variables are not kept";

  make_lost("bot");
  fs::remove(report);
  Result r = run({"env", "-i", PG_CTL_BIN, "--state-dir", state_dir(), "revive", "bot"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(wait_report(report)["env.BOT_API_KEY"], secret);

  // Never printed, never in state.json or the events.
  EXPECT_FALSE(contains(read_text(state_dir() + "/bot/state.json"), secret));
  EXPECT_FALSE(contains(read_text(state_dir() + "/bot/events.jsonl"), secret));
  for (const Args& a : {Args{"--json"}, Args{"bot"}, Args{"--events"}, Args{"--prometheus"}}) {
    Result ls = run(Args{PG_LS_BIN, "--state-dir", state_dir()} + a);
    EXPECT_FALSE(contains(ls.out + ls.err, secret)) << a[0];
  }
  EXPECT_FALSE(contains(r.out + r.err, secret));

  // start from a bare environment too, and --update-env takes pg-ctl's own.
  ASSERT_EQ(pg_ctl({"stop", "bot"}).status, 0);
  fs::remove(report);
  r = run({"env", "-i", PG_CTL_BIN, "--state-dir", state_dir(), "start", "bot"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(wait_report(report)["env.BOT_API_KEY"], secret);
  ASSERT_EQ(pg_ctl({"stop", "bot"}).status, 0);
  fs::remove(report);
  StartOptions rotated;
  rotated.env = {{"BOT_API_KEY", "sk-rotated"}};
  r = run(ctl({"start", "bot", "--update-env"}), rotated);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(wait_report(report)["env.BOT_API_KEY"], "sk-rotated");
  EXPECT_TRUE(contains(read_text(environ_file), "BOT_API_KEY=sk-rotated"));
}

TEST_F(PgCtlStart, ForgetRemovesTheKeptEnvironment)
{
  launch("gone", {"--oneshot"}, {"--exit", "0"});
  wait_end("gone");
  ASSERT_TRUE(fs::exists(state_dir() + "/gone/environ"));
  Result r = pg_ctl({"forget", "gone"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(fs::exists(state_dir() + "/gone")) << r.out;
}

// pg-ctl start and revive run pg-run (--relaunch, --revive), found beside pg-ctl: a pg-ctl
// without one says so, and pg-run's own options for them take no definition from the caller.
TEST_F(PgCtlStart, StartIsPgRunsLaunchOfTheRecordedJob)
{
  launch("rec", {"--oneshot"}, {"--exit", "0"});
  wait_end("rec");
  const std::string lonely = path("bin");
  fs::create_directory(lonely);
  fs::copy_file(PG_CTL_BIN, lonely + "/pg-ctl");
  Result r = run({lonely + "/pg-ctl", "--state-dir", state_dir(), "start", "rec"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "cannot find pg-run next to pg-ctl")) << r.err;
  EXPECT_EQ(state("rec")["restarts"], 0) << "nothing was started";

  r = run(pg_run({"--relaunch", "-n", "rec", "--", "/bin/true"}));
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "give no command")) << r.err;
  r = run(pg_run({"--relaunch", "-n", "rec", "--restart", "always"}));
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "--restart defines the job")) << r.err;
  r = run(pg_run({"--update-env", "-n", "rec", "--", "/bin/true"}));
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "--update-env goes with --relaunch")) << r.err;
  r = run(pg_run({"--relaunch", "-n", "nosuch"}));
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "nosuch: no such job")) << r.err;

  r = run(pg_run({"--relaunch", "-n", "rec", "--wait", "300ms"}));
  EXPECT_EQ(r.status, 0) << r.err << "a task that completes within --wait did what it was asked";
  const Json again = wait_end("rec");
  EXPECT_EQ(again["state"], "completed") << again;
  EXPECT_EQ(again["definition"]["oneshot"], true) << "the recorded definition";
  EXPECT_EQ(events("rec", "start").size(), 2u);
}

// A task that ends within the --wait: pg-ctl says how from pg-run's own report, and its --json
// output is its JSON alone (pg-ctl once said "running, pid 0", and printed pg-run's text first).
TEST_F(PgCtlStart, AWaitThatSeesTheJobEndSaysHow)
{
  launch("task", {"--oneshot"}, {"--sleep", "200ms", "--exit", "0"});
  wait_end("task");
  Result r = pg_ctl({"start", "--wait", "5s", "task"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(starts_with(r.out, "task: ended during the 5s wait: exit code 0 after ")) << r.out;
  EXPECT_FALSE(contains(r.out, "running")) << r.out;
  wait_end("task");
  r = pg_ctl({"--json", "start", "--wait", "5s", "task"});
  ASSERT_EQ(r.status, 0) << r.err;
  const Json listed = Json::parse(r.out); // throws, failing the test, on anything else
  ASSERT_EQ(listed.size(), 1u) << r.out;
  EXPECT_EQ(listed[0]["state"], "completed") << r.out;
  EXPECT_EQ(listed[0]["pid"], nullptr) << r.out;

  launch("crash", {"--restart", "never"}, {"--sleep", "200ms", "--exit", "3"});
  wait_end("crash");
  r = pg_ctl({"start", "--wait", "5s", "crash"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "crash: ended during the 5s wait: exit code 3")) << r.err;
  EXPECT_TRUE(contains(r.err, "last output (")) << r.err;
  EXPECT_TRUE(contains(r.err, "crash: not started (pg-run's status 1)")) << r.err;
  EXPECT_EQ(r.out, "") << "a failed start prints nothing on stdout";
}

} // namespace
} // namespace pg::e2e
