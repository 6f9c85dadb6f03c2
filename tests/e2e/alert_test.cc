// --on-failure hooks: their PG_* variables, the cooldown, giving up, a stop from outside, hooks
// that hang or fail, and the helper that runs them outside the job's tree and lock.
#include "harness.h"

#include "proc.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <sstream>

namespace pg::e2e {
namespace {

namespace fs = std::filesystem;

using Vars = std::map<std::string, std::string>;

class Alerts : public E2e {
protected:
  void SetUp() override
  {
    E2e::SetUp();
    ::mkdir(path("hooks").c_str(), 0700);
  }

  // A hook that writes its PG_* variables whole (temp + rename) into TMP/hooks, one file per
  // run, then does extra (shell).
  std::string hook(const std::string& extra = "") const
  {
    return "f=\"" + path("hooks") +
           "/$(date +%s%N)-$$\"; env | grep '^PG_' > \"$f.tmp\" && mv \"$f.tmp\" \"$f.env\"" +
           (extra.empty() ? "" : "; " + extra);
  }

  // The variables of each hook run so far, oldest first.
  std::vector<Vars> hook_runs() const
  {
    std::vector<std::string> files;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(path("hooks"), ec)) {
      if (e.path().extension() == ".env") {
        files.push_back(e.path().string());
      }
    }
    std::sort(files.begin(), files.end());
    std::vector<Vars> out;
    for (const auto& f : files) {
      Vars v;
      std::istringstream in(read_text(f));
      for (std::string line; std::getline(in, line);) {
        auto eq = line.find('=');
        if (eq != std::string::npos) {
          v[line.substr(0, eq)] = line.substr(eq + 1);
        }
      }
      out.push_back(v);
    }
    return out;
  }

  std::vector<Vars> wait_hook_runs(size_t n)
  {
    std::vector<Vars> runs;
    must(wait_until(
        [&] {
          runs = hook_runs();
          return runs.size() >= n;
        },
        std::to_string(n) + " hook runs"));
    return runs;
  }

  // The pid a hook wrote ("PID PPID") into TMP/NAME, whole.
  std::pair<pid_t, pid_t> hook_pids(const std::string& name)
  {
    std::istringstream in(wait_file(path(name)));
    pid_t pid = 0, ppid = 0;
    in >> pid >> ppid;
    remember(pid);
    return {pid, ppid};
  }

  bool carries_our_marker(pid_t pid) const
  {
    const std::string env = read_text("/proc/" + std::to_string(pid) + "/environ");
    return contains(env, std::string("PG_E2E_MARK=") + tmp() + '\0');
  }
};

TEST_F(Alerts, AFailedRunRunsTheHookWithItsStory)
{
  launch("bot", {"--restart", "never", "--on-failure", hook()},
         {"--print", "starting", "--print", "Traceback: boom", "--sleep", "200ms", "--exit", "3"});
  auto runs = wait_hook_runs(1);
  Vars v = runs[0];
  EXPECT_EQ(v["PG_NAME"], "bot");
  EXPECT_EQ(v["PG_EVENT"], "failed");
  EXPECT_EQ(v["PG_EXIT_CODE"], "3");
  EXPECT_EQ(v["PG_SIGNAL"], "");
  EXPECT_GE(std::stod(v["PG_RUNTIME_S"]), 0.19);
  EXPECT_EQ(v["PG_RESTARTS"], "0");
  EXPECT_EQ(v["PG_LOG"], state_dir() + "/bot/output.log");
  EXPECT_EQ(v["PG_HELD"], "0");
  EXPECT_TRUE(starts_with(v["PG_MESSAGE"], "bot failed: exit code 3 after 0.")) << v["PG_MESSAGE"];
  EXPECT_TRUE(contains(v["PG_MESSAGE"], "not restarted; last output: Traceback: boom"))
      << v["PG_MESSAGE"];
  Json st = wait_end("bot");
  EXPECT_EQ(st["state"], "failed");
  auto alerts = events("bot", "alert");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["alert"], "failed");
  EXPECT_EQ(alerts[0]["held"], 0);
  EXPECT_EQ(alerts[0]["message"], v["PG_MESSAGE"]);
  auto results = wait_events("bot", "alert-result", 1);
  EXPECT_EQ(results[0]["ok"], true) << results[0].dump();
  EXPECT_EQ(results[0]["code"], 0);
  EXPECT_EQ(results[0]["seq"], alerts[0]["seq"]);
  // The log tells it too.
  EXPECT_TRUE(contains(read_text(state_dir() + "/bot/output.log"), "alert (failed)"));
}

TEST_F(Alerts, TheCooldownHoldsFailuresBackAndSendsThemWhenItEnds)
{
  launch("flaky",
         {"--on-failure", hook(), "--alert-cooldown", "2s", "--restart-delay", "100ms",
          "--restart-delay-max", "100ms", "--max-restarts", "unlimited"},
         {"--print", "oops", "--exit", "1"});
  auto runs = wait_hook_runs(2);
  auto alerts = events("flaky", "alert");
  ASSERT_GE(alerts.size(), 2u);
  EXPECT_EQ(alerts[0]["held"], 0);
  EXPECT_GE(alerts[1]["held"].get<int>(), 1) << alerts[1].dump(); // several failures in 2s
  EXPECT_GE(seconds_between(alerts[0], alerts[1]), 1.8);
  EXPECT_FALSE(events("flaky", "alert-held").empty());
  EXPECT_EQ(runs[1]["PG_HELD"], std::to_string(alerts[1]["held"].get<int>()));
  EXPECT_TRUE(contains(runs[1]["PG_MESSAGE"], "held back by the cooldown since"))
      << runs[1]["PG_MESSAGE"];
  ASSERT_EQ(pg_ctl({"stop", "flaky"}).status, 0);
  wait_end("flaky");
  // Nothing dropped: every failure was sent, or counted by one that was.
  size_t reported = 0;
  for (const auto& a : events("flaky", "alert")) {
    reported += 1 + a["held"].get<size_t>();
  }
  size_t failures = 0;
  for (const auto& e : events("flaky", "exit")) {
    failures += e["outcome"] == "failed" ? 1u : 0u;
  }
  EXPECT_EQ(reported, failures);
}

TEST_F(Alerts, GivingUpIsAlertedAtOnceDespiteTheCooldown)
{
  launch("doomed",
         {"--on-failure", hook(), "--alert-cooldown", "1h", "--max-restarts", "2",
          "--restart-delay", "50ms"},
         {"--exit", "1"});
  Json st = wait_end("doomed");
  EXPECT_EQ(st["state"], "failed");
  auto runs = wait_hook_runs(2);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]["PG_EVENT"], "failed");
  EXPECT_EQ(runs[1]["PG_EVENT"], "gave-up");
  EXPECT_EQ(runs[1]["PG_HELD"], "1"); // the second failure, held back by the hour's cooldown
  EXPECT_EQ(runs[1]["PG_RESTARTS"], "2");
  EXPECT_TRUE(starts_with(runs[1]["PG_MESSAGE"], "doomed gave up: exit code 1"))
      << runs[1]["PG_MESSAGE"];
  EXPECT_TRUE(contains(runs[1]["PG_MESSAGE"], "1 more failure held back")) << runs[1]["PG_MESSAGE"];
}

TEST_F(Alerts, AStopFromOutsideIsAlertedAsTheSupervisorExits)
{
  launch("victim", {"--on-failure", hook()},
         {"--print", "serving", "--pidfile", path("job.pid"), "--sleep", "60s"});
  wait_pidfile(path("job.pid")); // written after the line was printed
  ASSERT_EQ(::kill(supervisor_pid("victim"), SIGTERM), 0);
  Json st = wait_end("victim");
  EXPECT_EQ(st["state"], "stopped");
  auto runs = wait_hook_runs(1);
  EXPECT_EQ(runs[0]["PG_EVENT"], "stopped-outside");
  EXPECT_EQ(runs[0]["PG_SIGNAL"], "SIGTERM");
  EXPECT_TRUE(starts_with(runs[0]["PG_MESSAGE"],
                          "victim stopped by SIGTERM from pid " + std::to_string(::getpid())))
      << runs[0]["PG_MESSAGE"];
  EXPECT_TRUE(contains(runs[0]["PG_MESSAGE"], "last output: serving")) << runs[0]["PG_MESSAGE"];
  // Recorded by the helper after the supervisor was gone.
  auto results = wait_events("victim", "alert-result", 1);
  EXPECT_EQ(results[0]["ok"], true) << results[0].dump();
}

TEST_F(Alerts, AStopRequestedWithPgCtlRaisesNoAlert)
{
  launch("calm", {"--on-failure", hook()}, {"--sleep", "60s"});
  wait_running("calm");
  ASSERT_EQ(pg_ctl({"stop", "calm"}).status, 0);
  wait_end("calm");
  EXPECT_TRUE(events("calm", "alert").empty());
}

TEST_F(Alerts, AHangingHookIsKilledAndSupervisionGoesOn)
{
  launch("busy",
         {"--on-failure",
          "echo \"$$ $PPID\" > " + path("hook.tmp") + " && mv " + path("hook.tmp") + " " +
              path("hook") + "; echo waiting; exec sleep 1000",
          "--alert-timeout", "1s", "--restart-delay", "100ms", "--max-restarts", "unlimited"},
         {"--exit", "1"});
  auto [hook_pid, helper] = hook_pids("hook");
  // Supervision goes on while the hook hangs: more runs start.
  wait_events("busy", "start", 3);
  EXPECT_TRUE(alive(hook_pid));
  // The helper runs it: not the supervisor, nothing of the job's tree, its own session.
  const pid_t sup = supervisor_pid("busy");
  EXPECT_NE(helper, sup);
  auto below = descendants(sup);
  EXPECT_EQ(std::find(below.begin(), below.end(), helper), below.end());
  EXPECT_EQ(std::find(below.begin(), below.end(), hook_pid), below.end());
  auto hi = proc_info(helper);
  ASSERT_TRUE(hi);
  EXPECT_NE(hi->ppid, sup);
  EXPECT_NE(hi->sid, proc_info(sup)->sid);
  EXPECT_TRUE(carries_our_marker(hook_pid)); // so the teardown would end it too
  auto results = wait_events("busy", "alert-result", 1, 8000ms);
  EXPECT_EQ(results[0]["ok"], false);
  EXPECT_EQ(results[0]["timed_out"], true);
  EXPECT_EQ(results[0]["signal"], "SIGKILL");
  EXPECT_EQ(results[0]["output"], "waiting");
  EXPECT_TRUE(contains(results[0].value("error", ""), "timed out after 1s")) << results[0].dump();
  EXPECT_TRUE(wait_until([&] { return !alive(hook_pid); }, "the hook is gone"));
  EXPECT_EQ(pg_ctl({"stop", "busy"}).status, 0);
  EXPECT_EQ(wait_end("busy")["state"], "stopped");
}

TEST_F(Alerts, AFailingHookIsRecorded)
{
  launch("bot", {"--restart", "never", "--on-failure", "echo cannot reach the pager; exit 3"},
         {"--exit", "1"});
  auto results = wait_events("bot", "alert-result", 1);
  EXPECT_EQ(results[0]["ok"], false);
  EXPECT_EQ(results[0]["code"], 3);
  EXPECT_EQ(results[0]["timed_out"], false);
  EXPECT_EQ(results[0]["output"], "cannot reach the pager");
  EXPECT_TRUE(contains(results[0].value("error", ""), "exit code 3")) << results[0].dump();
  EXPECT_EQ(wait_end("bot")["state"], "failed");
}

TEST_F(Alerts, TheHelperHoldsNoLockSoAJobEndsWhileItsHookRuns)
{
  launch("bot",
         {"--restart", "never", "--on-failure",
          "echo \"$$ $PPID\" > " + path("hook.tmp") + " && mv " + path("hook.tmp") + " " +
              path("hook") + "; exec sleep 30"},
         {"--exit", "1"});
  auto [hook_pid, helper] = hook_pids("hook");
  Json st = wait_end("bot"); // the supervisor is gone...
  EXPECT_EQ(st["state"], "failed");
  EXPECT_TRUE(alive(hook_pid));   // ...while the hook runs,
  EXPECT_FALSE(lock_held("bot")); // and the lock is free: the job is not "alive", not lost
  EXPECT_FALSE(lost("bot"));
  // Nothing of the helper's points at the lock or the job's output.
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(helper) + "/fd", ec)) {
    const std::string target = proc_link(helper, "fd/" + fd.path().filename().string());
    EXPECT_FALSE(contains(target, "/lock")) << target;
    EXPECT_FALSE(contains(target, "output.log")) << target;
  }
  // A new launch of the name works at once.
  launch("bot", {"--restart", "never"}, {"--sleep", "60s"});
  wait_running("bot");
}

TEST_F(Alerts, AlertTimeoutZeroIsAUsageError)
{
  Result r = run(job("x", {"--on-failure", "true", "--alert-timeout", "0"}, {"--exit", "0"}));
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "--alert-timeout")) << r.err;
}

} // namespace
} // namespace pg::e2e
