// How runs are classified (completed, failed, premature...) and what the records say, including
// the seeds' story and start scripts that background a daemon.
#include "harness.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace pg::e2e {
namespace {

namespace fs = std::filesystem;

class Outcomes : public E2e {};
class Seeds : public E2e {};
class Daemons : public E2e {};

// The fields every exit record carries, and the same record in state.json and events.jsonl.
void expect_exit_record(const Json& st, const Json& ev)
{
  for (const char* key :
       {"pid", "code", "signal", "core_dumped", "runtime_s", "outcome", "cause", "at"}) {
    EXPECT_TRUE(ev.contains(key)) << key << " missing from " << ev.dump();
    EXPECT_EQ(st["last_exit"][key], ev[key]) << key;
  }
}

TEST_F(Outcomes, ServiceExitZeroWithoutDurationIsPremature)
{
  launch("svc", {"--restart", "never"}, {"--exit", "0"});
  Json st = wait_end("svc");
  EXPECT_EQ(st["state"], "failed");
  const Json& e = st["last_exit"];
  EXPECT_EQ(e["outcome"], "failed");
  EXPECT_EQ(e["code"], 0);
  EXPECT_TRUE(e["signal"].is_null());
  EXPECT_TRUE(starts_with(e.value("cause", ""), "premature")) << e.dump();
  auto exits = events("svc", "exit");
  ASSERT_EQ(exits.size(), 1u);
  expect_exit_record(st, exits[0]);
  auto ends = events("svc", "end");
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0]["state"], "failed");
}

TEST_F(Outcomes, ExitZeroAfterEightyPercentOfTheDurationCompletes)
{
  launch("long", {"--duration", "2s"}, {"--sleep", "1700ms"});
  Json st = wait_end("long");
  EXPECT_EQ(st["state"], "completed");
  const Json& e = st["last_exit"];
  EXPECT_EQ(e["outcome"], "completed");
  EXPECT_EQ(e["code"], 0);
  EXPECT_TRUE(starts_with(e.value("cause", ""), "exit")) << e.dump();
  EXPECT_GE(e["runtime_s"].get<double>(), 1.6);
  EXPECT_EQ(events("long", "start").size(), 1u);
}

TEST_F(Outcomes, ExitZeroBeforeEightyPercentOfTheDurationIsPremature)
{
  launch("short", {"--duration", "10s", "--restart", "never"}, {"--sleep", "100ms"});
  Json st = wait_end("short");
  EXPECT_EQ(st["state"], "failed");
  EXPECT_EQ(st["last_exit"]["outcome"], "failed");
  EXPECT_TRUE(starts_with(st["last_exit"].value("cause", ""), "premature"))
      << st["last_exit"].dump();
}

TEST_F(Outcomes, OneshotExitZeroCompletesAndEndsTheJob)
{
  launch("task", {"--oneshot"}, {"--print", "done", "--exit", "0"});
  Json st = wait_end("task");
  EXPECT_EQ(st["state"], "completed");
  EXPECT_TRUE(st["pid"].is_null());
  const Json& e = st["last_exit"];
  EXPECT_EQ(e["outcome"], "completed");
  EXPECT_EQ(e["code"], 0);
  EXPECT_TRUE(starts_with(e.value("cause", ""), "exit")) << e.dump();
  EXPECT_EQ(events("task", "start").size(), 1u);
  EXPECT_EQ(events("task", "restart").size(), 0u);
  EXPECT_EQ(job_lines(read_text(state_dir() + "/task/output.log")), "done\n");
}

TEST_F(Outcomes, OneshotFailureIsNotRestartedByDefault)
{
  launch("job", {"--oneshot"}, {"--sleep", "300ms", "--exit", "2"});
  Json st = wait_end("job");
  EXPECT_EQ(st["state"], "failed");
  EXPECT_EQ(st["last_exit"]["code"], 2);
  const double runtime = st["last_exit"]["runtime_s"].get<double>();
  EXPECT_GE(runtime, 0.3);
  EXPECT_LT(runtime, 3.0);
  EXPECT_EQ(events("job", "start").size(), 1u);
  EXPECT_TRUE(events("job", "restart").empty());
}

TEST_F(Outcomes, NonZeroExitFailsAndRestartsWithANewPid)
{
  Result r = launch("crash", {"--restart-delay", "100ms"}, {"--sleep", "100ms", "--exit", "3"});
  auto starts = wait_events("crash", "start", 2);
  ASSERT_GE(starts.size(), 2u);
  const pid_t first = starts[0]["pid"].get<pid_t>();
  EXPECT_TRUE(contains(r.out, "pid " + std::to_string(first) + " ")) << r.out;
  EXPECT_NE(starts[1]["pid"], first);
  auto exits = events("crash", "exit");
  ASSERT_GE(exits.size(), 1u);
  EXPECT_EQ(exits[0]["pid"], first);
  EXPECT_EQ(exits[0]["code"], 3);
  EXPECT_EQ(exits[0]["outcome"], "failed");
  EXPECT_TRUE(starts_with(exits[0].value("cause", ""), "exit: code 3")) << exits[0].dump();
  auto restarts = events("crash", "restart");
  ASSERT_GE(restarts.size(), 1u);
  EXPECT_EQ(restarts[0]["reason"], "failure");
  wait_until([&] { return state("crash").value("restarts", 0) >= 1; }, "restarts counts 1");
}

TEST_F(Outcomes, KilledBySignalNotFromPgRunFails)
{
  launch("victim", {"--restart", "never"}, {"--sleep", "1h"});
  const pid_t pid = wait_running("victim")["pid"].get<pid_t>();
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  Json st = wait_end("victim");
  EXPECT_EQ(st["state"], "failed");
  const Json& e = st["last_exit"];
  EXPECT_EQ(e["pid"], pid);
  EXPECT_TRUE(e["code"].is_null());
  EXPECT_EQ(e["signal"], "SIGKILL");
  EXPECT_EQ(e["core_dumped"], false);
  EXPECT_EQ(e["outcome"], "failed");
  EXPECT_TRUE(starts_with(e.value("cause", ""), "signal: SIGKILL")) << e.dump();
  expect_exit_record(st, events("victim", "exit").at(0));
}

TEST_F(Outcomes, CoreDumpIsRecorded)
{
  const std::string pattern = read_text("/proc/sys/kernel/core_pattern");
  if (pattern.empty() || starts_with(pattern, "|")) {
    GTEST_SKIP() << "core dumps go to a handler here (" << pattern << ")";
  }
  // The job raises its own core limit (ASan sets ours to 0); the core lands in --cwd.
  launch("dump", {"--restart", "never", "--cwd", tmp()}, {"--raise", "SEGV", "--core"});
  Json st = wait_end("dump");
  const Json& e = st["last_exit"];
  EXPECT_EQ(e["signal"], "SIGSEGV");
  EXPECT_EQ(e["core_dumped"], true);
  EXPECT_TRUE(starts_with(e.value("cause", ""), "signal: SIGSEGV")) << e.dump();
  EXPECT_TRUE(contains(e.value("cause", ""), "core dumped")) << e.dump();
}

TEST_F(Outcomes, RestartOfAVanishedCommandFailsWithExecCause)
{
  fs::create_directory(path("bin"));
  const std::string copy = path("bin/vanishing");
  fs::copy_file(k_fake, copy);
  ::chmod(copy.c_str(), 0755);
  Result r = run(pg_run({"-n", "gone", "--restart-delay", "50ms", "--max-restarts", "2", copy,
                         "--sleep", "300ms", "--exit", "1"}));
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(::unlink(copy.c_str()), 0);
  Json st = wait_end("gone");
  EXPECT_EQ(st["state"], "failed");
  auto exits = events("gone", "exit");
  ASSERT_EQ(exits.size(), 3u);
  EXPECT_TRUE(starts_with(exits[0].value("cause", ""), "exit: code 1")) << exits[0].dump();
  EXPECT_TRUE(starts_with(exits[1].value("cause", ""), "exec")) << exits[1].dump();
  EXPECT_EQ(exits[1]["outcome"], "failed");
  EXPECT_TRUE(starts_with(exits[2].value("cause", ""), "gave-up")) << exits[2].dump();
  EXPECT_TRUE(contains(exits[2].value("cause", ""), "exec")) << exits[2].dump();
}

TEST_F(Seeds, TermHandlerThatExitsZeroIsPrematureAndRestarted)
{
  // The seeds' bot: killed by a session cleanup, its SIGTERM handler exits 0. That is not a
  // finish: an 8-hour job ended early. Recorded as premature, and the bot comes back.
  launch("bot", {"--duration", "8h", "--restart-delay", "100ms"},
         {"--term-exit0", "--pidfile", path("pid"), "--sleep", "1h"});
  const pid_t first = wait_pidfile(path("pid"));
  ASSERT_EQ(::kill(first, SIGTERM), 0);
  Json st = wait_running("bot", first);
  auto exits = events("bot", "exit");
  ASSERT_EQ(exits.size(), 1u);
  EXPECT_EQ(exits[0]["pid"], first);
  EXPECT_EQ(exits[0]["code"], 0);
  EXPECT_EQ(exits[0]["outcome"], "failed");
  EXPECT_TRUE(starts_with(exits[0].value("cause", ""), "premature")) << exits[0].dump();
  auto starts = events("bot", "start");
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[1]["pid"], st["pid"]);
  EXPECT_EQ(st["restarts"], 1);
  EXPECT_EQ(st["last_exit"]["outcome"], "failed");
}

TEST_F(Daemons, BackgroundedDaemonKeepsTheRunGoing)
{
  launch("daemon", {"--restart", "never"}, {"--fork-daemon", path("daemon.pid"), "--exit", "0"});
  const pid_t daemon = wait_pidfile(path("daemon.pid"));
  const pid_t main_pid = events("daemon", "start").at(0)["pid"].get<pid_t>();
  // The main exited 0; the run goes on with the daemon as its pid.
  ASSERT_TRUE(wait_until(
      [&] {
        Json st = state("daemon");
        return st["state"] == "running" && st["pid"] == daemon;
      },
      "the daemon is the run's pid"));
  EXPECT_FALSE(alive(main_pid));
  EXPECT_TRUE(events("daemon", "exit").empty());
  ASSERT_EQ(::kill(daemon, SIGKILL), 0);
  Json st = wait_end("daemon");
  const Json& e = st["last_exit"];
  EXPECT_EQ(e["pid"], daemon);
  EXPECT_EQ(e["signal"], "SIGKILL");
  EXPECT_EQ(e["outcome"], "failed");
  EXPECT_EQ(events("daemon", "exit").size(), 1u);
}

TEST_F(Daemons, ShellStartScriptThatBackgroundsADaemon)
{
  const std::string script =
      "setsid " + k_fake + " --pidfile " + path("d.pid") + " --sleep 30s >/dev/null 2>&1 & exit 0";
  Result r = run(pg_run({"-n", "sh", "--restart", "never", "/bin/sh", "-c", script}));
  ASSERT_EQ(r.status, 0) << r.err;
  const pid_t daemon = wait_pidfile(path("d.pid"));
  ASSERT_TRUE(wait_until(
      [&] {
        Json st = state("sh");
        return st["state"] == "running" && st["pid"] == daemon;
      },
      "the backgrounded daemon is the run's pid"));
  ASSERT_EQ(::kill(daemon, SIGTERM), 0);
  Json st = wait_end("sh");
  EXPECT_EQ(st["last_exit"]["pid"], daemon);
  EXPECT_EQ(st["last_exit"]["signal"], "SIGTERM");
  EXPECT_TRUE(starts_with(st["last_exit"].value("cause", ""), "signal: SIGTERM"));
}

TEST_F(Daemons, FailingMainTakesWhatItLeftBehindWithIt)
{
  // A long stop timeout: the leftover must go with the stop signal, at once.
  launch("leaky", {"--restart", "never", "--stop-timeout", "30s"},
         {"--leave-child", path("child.pid"), "--exit", "1"});
  const pid_t child = wait_pidfile(path("child.pid"));
  ASSERT_TRUE(wait_until([&] { return !alive(child); }, "the leftover child is gone", 5s));
  Json st = wait_end("leaky");
  EXPECT_EQ(st["state"], "failed");
  const Json& e = st["last_exit"];
  EXPECT_EQ(e["pid"], events("leaky", "start").at(0)["pid"]);
  EXPECT_EQ(e["code"], 1);
  EXPECT_TRUE(starts_with(e.value("cause", ""), "exit: code 1")) << e.dump();
}

TEST_F(Daemons, FailingMainKillsAnEscapedChildAfterTheStopTimeout)
{
  launch("escapee", {"--restart", "never", "--stop-timeout", "300ms"},
         {"--escape-child", path("child.pid"), "--exit", "1"});
  const pid_t child = wait_pidfile(path("child.pid"));
  Json st = wait_end("escapee");
  EXPECT_FALSE(alive(child));
  EXPECT_EQ(st["last_exit"]["code"], 1);
  EXPECT_EQ(events("escapee", "kill").size(), 1u);
}

} // namespace
} // namespace pg::e2e
