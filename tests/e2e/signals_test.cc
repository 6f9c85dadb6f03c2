// Stopping a job (gracefully, with escalation), signals to the supervisor, reaping, --replace,
// and what happens when the supervisor itself is killed.
#include "harness.h"

#include <unistd.h>

#include <set>
#include <sstream>

namespace pg::e2e {
namespace {

class Stop : public E2e {};
class SupervisorSignals : public E2e {};
class Zombies : public E2e {};
class Replace : public E2e {};
class SupervisorDeath : public E2e {};
class StateFile : public E2e {};

std::string outside_from_us(const std::string& sig)
{
  return "outside-signal: " + sig + " from pid " + std::to_string(::getpid()) + " ";
}

TEST_F(Stop, TermToSupervisorEscalatesToKillForTheWholeTree)
{
  launch("stubborn", {"--stop-timeout", "300ms"},
         {"--ignore-term", "--escape-child", path("child.pid"), "--pidfile", path("pid"), "--sleep",
          "1h"});
  const pid_t main_pid = wait_pidfile(path("pid"));
  const pid_t escaped = wait_pidfile(path("child.pid"));
  ASSERT_NE(proc_info(escaped)->pgid, main_pid) << "the child left the job's process group";
  ASSERT_EQ(::kill(supervisor_pid("stubborn"), SIGTERM), 0);
  Json st = wait_end("stubborn");
  EXPECT_FALSE(alive(main_pid));
  EXPECT_FALSE(alive(escaped));
  EXPECT_EQ(st["state"], "stopped");
  const Json& e = st["last_exit"];
  EXPECT_EQ(e["outcome"], "stopped");
  EXPECT_EQ(e["pid"], main_pid);
  EXPECT_EQ(e["signal"], "SIGKILL");
  EXPECT_TRUE(starts_with(e.value("cause", ""), outside_from_us("SIGTERM"))) << e.dump();
  EXPECT_EQ(events("stubborn", "stop").size(), 1u);
  EXPECT_EQ(events("stubborn", "kill").size(), 1u);
  EXPECT_GE(e["runtime_s"].get<double>(), 0.3);
}

TEST_F(Stop, SecondStopSignalKillsAtOnce)
{
  launch("impatient", {"--stop-timeout", "1h"},
         {"--ignore-term", "--pidfile", path("pid"), "--sleep", "1h"});
  const pid_t main_pid = wait_pidfile(path("pid"));
  const pid_t sup = supervisor_pid("impatient");
  ASSERT_EQ(::kill(sup, SIGTERM), 0);
  ASSERT_TRUE(
      wait_until([&] { return state("impatient")["state"] == "stopping"; }, "the job is stopping"));
  ASSERT_EQ(::kill(sup, SIGTERM), 0);
  Json st = wait_end("impatient");
  EXPECT_FALSE(alive(main_pid));
  EXPECT_EQ(st["state"], "stopped");
  EXPECT_EQ(st["last_exit"]["signal"], "SIGKILL");
}

TEST_F(Stop, StopDuringBackoffTakesEffectAtOnce)
{
  launch("resting", {"--restart-delay", "1h"}, {"--exit", "1"});
  ASSERT_TRUE(wait_until([&] { return state("resting")["state"] == "backoff"; },
                         "the job waits in backoff"));
  EXPECT_FALSE(state("resting")["next_start_at"].is_null());
  ASSERT_EQ(::kill(supervisor_pid("resting"), SIGTERM), 0);
  Json st = wait_end("resting", 5s);
  EXPECT_EQ(st["state"], "stopped");
  EXPECT_EQ(events("resting", "start").size(), 1u);
}

TEST_F(Stop, UsesTheConfiguredStopSignal)
{
  launch("usr1stop", {"--stop-signal", "USR1", "--stop-timeout", "5s"},
         {"--pidfile", path("pid"), "--sleep", "1h"});
  const pid_t pid = wait_pidfile(path("pid"));
  ASSERT_EQ(::kill(supervisor_pid("usr1stop"), SIGTERM), 0);
  Json st = wait_end("usr1stop");
  EXPECT_FALSE(alive(pid));
  EXPECT_EQ(st["state"], "stopped");
  EXPECT_EQ(st["last_exit"]["signal"], "SIGUSR1");
  EXPECT_TRUE(events("usr1stop", "kill").empty());
}

TEST_F(Stop, ReachesADaemonLeftByAStartScript)
{
  launch("daemonstop", {"--stop-timeout", "5s"},
         {"--fork-daemon", path("daemon.pid"), "--exit", "0"});
  const pid_t daemon = wait_pidfile(path("daemon.pid"));
  ASSERT_TRUE(wait_until([&] { return state("daemonstop")["pid"] == daemon; },
                         "the daemon is the run's pid"));
  ASSERT_EQ(::kill(supervisor_pid("daemonstop"), SIGTERM), 0);
  Json st = wait_end("daemonstop");
  EXPECT_FALSE(alive(daemon));
  EXPECT_EQ(st["state"], "stopped");
  EXPECT_EQ(st["last_exit"]["outcome"], "stopped");
  EXPECT_EQ(st["last_exit"]["pid"], daemon);
  EXPECT_TRUE(events("daemonstop", "kill").empty()) << "the daemon took the stop signal";
}

TEST_F(SupervisorSignals, IntAndQuitStopTheJob)
{
  for (int sig : {SIGINT, SIGQUIT}) {
    const std::string name = sig == SIGINT ? "int" : "quit";
    launch(name, {"--stop-timeout", "5s"}, {"--sleep", "1h"});
    const pid_t pid = wait_running(name)["pid"].get<pid_t>();
    ASSERT_EQ(::kill(supervisor_pid(name), sig), 0);
    Json st = wait_end(name);
    EXPECT_FALSE(alive(pid));
    EXPECT_EQ(st["state"], "stopped") << name;
    EXPECT_EQ(st["last_exit"]["outcome"], "stopped") << name;
    EXPECT_EQ(st["last_exit"]["signal"], "SIGTERM") << "the job got its stop signal";
    const std::string signame = sig == SIGINT ? "SIGINT" : "SIGQUIT";
    EXPECT_TRUE(starts_with(st["last_exit"].value("cause", ""), outside_from_us(signame)))
        << st["last_exit"].dump();
  }
}

TEST_F(SupervisorSignals, HupIsAPlannedRestart)
{
  launch("reload", {"--stop-timeout", "5s"}, {"--sleep", "1h"});
  const Json before = wait_running("reload");
  const pid_t first = before["pid"].get<pid_t>();
  ASSERT_EQ(::kill(before["supervisor"]["pid"].get<pid_t>(), SIGHUP), 0);
  Json st = wait_running("reload", first);
  EXPECT_FALSE(alive(first));
  EXPECT_EQ(st["restarts"], 1);
  EXPECT_EQ(st["supervisor"], before["supervisor"]);
  const Json& e = st["last_exit"];
  EXPECT_EQ(e["pid"], first);
  EXPECT_EQ(e["outcome"], "restarted");
  EXPECT_TRUE(starts_with(e.value("cause", ""), "planned")) << e.dump();
  auto restarts = events("reload", "restart");
  ASSERT_EQ(restarts.size(), 1u);
  EXPECT_EQ(restarts[0]["reason"], "planned");
}

TEST_F(SupervisorSignals, HupDuringBackoffStartsTheNextRunAtOnce)
{
  launch("napping", {"--restart-delay", "1h"}, {"--exit", "1"});
  ASSERT_TRUE(wait_until([&] { return state("napping")["state"] == "backoff"; },
                         "the job waits in backoff"));
  ASSERT_EQ(::kill(supervisor_pid("napping"), SIGHUP), 0);
  auto starts = wait_events("napping", "start", 2, 5s);
  EXPECT_NE(starts[1]["pid"], starts[0]["pid"]);
}

TEST_F(SupervisorSignals, UsrAndWinchAreForwardedToTheMainProcess)
{
  const std::string traps = path("traps");
  launch("fwd", {},
         {"--trap", "USR1", "--trap", "USR2", "--trap", "WINCH", "--trap-file", traps, "--pidfile",
          path("pid"), "--sleep", "1h"});
  const pid_t pid = wait_pidfile(path("pid"));
  const pid_t sup = supervisor_pid("fwd");
  std::string expected;
  for (const auto& [sig, name] : std::vector<std::pair<int, std::string>>{
           {SIGUSR1, "USR1"}, {SIGUSR2, "USR2"}, {SIGWINCH, "WINCH"}}) {
    ASSERT_EQ(::kill(sup, sig), 0);
    expected += name + "\n";
    ASSERT_TRUE(
        wait_until([&] { return read_text(traps) == expected; }, "the job traps SIG" + name))
        << read_text(traps);
  }
  Json st = state("fwd");
  EXPECT_EQ(st["state"], "running");
  EXPECT_EQ(st["pid"], pid);
  auto forwarded = events("fwd", "signal");
  ASSERT_EQ(forwarded.size(), 3u);
  EXPECT_EQ(forwarded[0]["signal"], "SIGUSR1");
  EXPECT_EQ(forwarded[0]["pid"], pid);
}

TEST_F(SupervisorSignals, RunEndedByAForwardedSignalNamesIt)
{
  launch("fwdkill", {"--restart", "never"}, {"--pidfile", path("pid"), "--sleep", "1h"});
  wait_pidfile(path("pid"));
  ASSERT_EQ(::kill(supervisor_pid("fwdkill"), SIGUSR1), 0);
  Json st = wait_end("fwdkill");
  const Json& e = st["last_exit"];
  EXPECT_EQ(e["signal"], "SIGUSR1");
  EXPECT_EQ(e["outcome"], "failed");
  EXPECT_TRUE(starts_with(e.value("cause", ""), "signal: SIGUSR1")) << e.dump();
  EXPECT_TRUE(contains(e.value("cause", ""), "forwarded")) << e.dump();
}

TEST_F(Zombies, ReparentedOrphansAreReaped)
{
  launch("forker", {},
         {"--orphans", "60", "--orphans-file", path("orphans"), "--pidfile", path("pid"), "--sleep",
          "1h"});
  wait_pidfile(path("pid"));
  std::vector<pid_t> orphans;
  std::istringstream in(wait_file(path("orphans")));
  for (pid_t p; in >> p;) {
    orphans.push_back(p);
  }
  ASSERT_EQ(orphans.size(), 60u);
  const pid_t sup = supervisor_pid("forker");
  ASSERT_TRUE(wait_until(
      [&] {
        for (pid_t p : orphans) {
          auto info = proc_info(p);
          if (info && info->ppid == sup) {
            return false; // still running under the supervisor, or its zombie
          }
        }
        return true;
      },
      "every orphan adopted by the supervisor is reaped"));
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& [pid, st] : children_of(sup)) {
          if (st == 'Z') {
            return false;
          }
        }
        return true;
      },
      "no zombie child of the supervisor"));
  Json st = state("forker");
  EXPECT_EQ(st["state"], "running");
  EXPECT_TRUE(events("forker", "exit").empty()) << "an adopted orphan is not the run's end";
}

TEST_F(Replace, StopsTheRunningJobAndStartsTheNewOne)
{
  launch("swap", {"--stop-timeout", "300ms"}, {"--ignore-term", "--sleep", "1h"});
  const Json old = wait_running("swap");
  const pid_t old_pid = old["pid"].get<pid_t>();
  auto c = start(job("swap", {"--replace"}, {"--sleep", "1h"}));
  const pid_t replacer = c->pid();
  Result r = c->finish();
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(alive(old_pid));
  EXPECT_FALSE(alive(old["supervisor"]["pid"].get<pid_t>()));
  Json st = wait_running("swap");
  EXPECT_NE(st["pid"], old_pid);
  EXPECT_NE(st["supervisor"]["pid"], old["supervisor"]["pid"]);
  EXPECT_TRUE(contains(r.out, "pid " + std::to_string(st["pid"].get<pid_t>()) + " ")) << r.out;
  auto exits = events("swap", "exit");
  ASSERT_EQ(exits.size(), 1u);
  EXPECT_EQ(exits[0]["pid"], old_pid);
  EXPECT_EQ(exits[0]["outcome"], "stopped");
  EXPECT_TRUE(starts_with(exits[0].value("cause", ""), "requested")) << exits[0].dump();
  EXPECT_TRUE(contains(exits[0].value("cause", ""), "pid " + std::to_string(replacer)))
      << exits[0].dump();
  EXPECT_EQ(events("swap", "launch").size(), 2u);
}

// A replacement that cannot start says that the job it replaced is gone all the same.
TEST_F(Replace, AReplacementThatFailsToStartSaysTheOldJobWasStopped)
{
  launch("swap", {}, {"--sleep", "1h"});
  const pid_t old_pid = wait_running("swap")["pid"].get<pid_t>();
  const std::string script = path("bad-interpreter");
  write_text(script, "#!/nonexistent/interpreter\n", 0755);
  Result r = run(pg_run({"-n", "swap", "--replace", "--", script}));
  EXPECT_EQ(r.status, 127) << r.err;
  EXPECT_TRUE(contains(r.err, "(the job it replaced was stopped: nothing of it runs now)"))
      << r.err;
  EXPECT_FALSE(alive(old_pid));
  // Without --replace nothing was stopped, and nothing is said of it.
  r = run(pg_run({"-n", "other", "--", script}));
  EXPECT_EQ(r.status, 127) << r.err;
  EXPECT_FALSE(contains(r.err, "replaced")) << r.err;
}

TEST_F(SupervisorDeath, JobGetsItsStopSignalAndIsShownLost)
{
  launch("orphan", {},
         {"--term-exit0", "--trap-file", path("traps"), "--pidfile", path("pid"), "--sleep", "1h"});
  const pid_t pid = wait_pidfile(path("pid"));
  const Json before = state("orphan");
  ASSERT_EQ(::kill(before["supervisor"]["pid"].get<pid_t>(), SIGKILL), 0);
  ASSERT_TRUE(wait_until([&] { return !alive(pid); }, "the job ends with its supervisor"));
  EXPECT_EQ(read_text(path("traps")), "TERM\n") << "the job got its stop signal";
  ASSERT_TRUE(wait_until([&] { return lost("orphan"); }, "the job shows lost"));
  EXPECT_EQ(state("orphan")["state"], "running");
}

TEST_F(SupervisorDeath, LeftoversBlockANewStartUntilReplace)
{
  launch("haunted", {},
         {"--term-exit0", "--escape-child", path("child.pid"), "--pidfile", path("pid"), "--sleep",
          "1h"});
  const pid_t pid = wait_pidfile(path("pid"));
  const pid_t leftover = wait_pidfile(path("child.pid"));
  ASSERT_EQ(::kill(supervisor_pid("haunted"), SIGKILL), 0);
  ASSERT_TRUE(wait_until([&] { return !alive(pid) && lost("haunted"); },
                         "the main process ends and the job shows lost"));
  ASSERT_TRUE(alive(leftover));

  Result again = run(job("haunted", {}, {"--sleep", "1h"}));
  EXPECT_EQ(again.status, 3) << again.err;
  EXPECT_TRUE(contains(again.err, std::to_string(leftover))) << again.err;
  EXPECT_TRUE(alive(leftover));

  Result replaced = run(job("haunted", {"--replace"}, {"--sleep", "1h"}));
  EXPECT_EQ(replaced.status, 0) << replaced.err;
  EXPECT_FALSE(alive(leftover));
  Json st = wait_running("haunted");
  EXPECT_NE(st["pid"], pid);
  EXPECT_TRUE(lock_held("haunted"));
}

TEST_F(StateFile, IsAlwaysWholeDuringACrashLoop)
{
  launch("churn", {"--restart-delay", "0", "--max-restarts", "unlimited", "--duration", "1s"},
         {"--exit", "1"});
  const std::string file = state_dir() + "/churn/state.json";
  int reads = 0;
  int torn = 0;
  std::string last;
  std::set<std::string> states;
  wait_until(
      [&] {
        std::string text = read_text(file);
        ++reads;
        Json j = Json::parse(text, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
          ++torn;
          last = text;
          return false;
        }
        states.insert(j.value("state", ""));
        return is_final_state(j.value("state", ""));
      },
      "the crash loop ends with its duration");
  EXPECT_EQ(torn, 0) << "of " << reads << " reads; one was: " << last;
  EXPECT_GT(reads, 50);
  Json st = wait_end("churn");
  EXPECT_EQ(st["state"], "completed");
  EXPECT_GT(st["restarts"].get<int>(), 10);
}

} // namespace
} // namespace pg::e2e
