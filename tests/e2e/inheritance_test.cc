// What the job inherits, whatever pg-run inherited (nohup, &, an agent's harness), and the
// one-supervisor-per-name rule under concurrent launches.
#include "harness.h"

#include <algorithm>

namespace pg::e2e {
namespace {

class Inheritance : public E2e {};
class OneSupervisor : public E2e {};

// pg-run started as under `nohup pg-run ... &` from a harness that leaks a descriptor.
StartOptions nohup_like()
{
  StartOptions o;
  // HUP, INT and QUIT the supervisor sets back itself (it reads them); ALRM and TTOU it does
  // not touch: the job's child must.
  o.ignore_signals = {SIGHUP, SIGINT, SIGQUIT, SIGALRM, SIGTTOU};
  o.block_signals = {SIGUSR1};
  o.extra_fds = {7};
  o.env = {{"NOTIFY_SOCKET", "/run/elsewhere/notify"}, {"E2E_AMBIENT", "kept"}};
  return o;
}

TEST_F(Inheritance, JobGetsACleanSlateWhateverPgRunInherited)
{
  const std::string report = path("report");
  launch("clean", {}, {"--report", report, "--report-env", "E2E_AMBIENT", "--sleep", "1h"},
         nohup_like());
  auto rep = wait_report(report);
  Json st = wait_running("clean");
  EXPECT_EQ(rep["pid"], std::to_string(st["pid"].get<pid_t>()));
  EXPECT_EQ(rep["ppid"], std::to_string(st["supervisor"]["pid"].get<pid_t>()));
  EXPECT_EQ(rep["ignored"], "") << "signals left ignored";
  EXPECT_EQ(rep["caught"], "");
  EXPECT_EQ(rep["blocked"], "") << "signals left blocked";
  EXPECT_EQ(rep["fds"], "") << "descriptors beyond 0-2";
  EXPECT_EQ(rep["pgid"], rep["pid"]) << "the job leads its own process group";
  EXPECT_EQ(rep["stdin"], "/dev/null");
  EXPECT_EQ(rep["env.PG_NAME"], "clean");
  EXPECT_EQ(rep["env.PG_RUN_ID"], st["run_id"].get<std::string>());
  EXPECT_FALSE(rep["env.PG_RUN_ID"].empty());
  EXPECT_EQ(rep.count("env.NOTIFY_SOCKET"), 0u) << rep["env.NOTIFY_SOCKET"];
  EXPECT_EQ(rep["env.E2E_AMBIENT"], "kept") << "the rest of the environment is inherited";
  auto starts = events("clean", "start");
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0]["run_id"], st["run_id"]);
}

TEST_F(Inheritance, EveryRunGetsItsOwnRunId)
{
  const std::string report = path("report");
  launch("ids", {"--restart-delay", "50ms"},
         {"--report", report, "--pidfile", path("pid"), "--sleep", "1h"});
  auto first = wait_report(report);
  const pid_t p1 = wait_pidfile(path("pid"));
  ASSERT_EQ(::unlink(report.c_str()), 0);
  ASSERT_EQ(::kill(p1, SIGKILL), 0);
  Json st = wait_running("ids", p1);
  auto second = wait_report(report);
  EXPECT_NE(first["env.PG_RUN_ID"], second["env.PG_RUN_ID"]);
  EXPECT_EQ(second["env.PG_RUN_ID"], st["run_id"].get<std::string>());
}

TEST_F(Inheritance, SupervisorHearsSignalsItsLauncherIgnored)
{
  launch("nohup", {"--stop-timeout", "5s"}, {"--sleep", "1h"}, nohup_like());
  Json st = wait_running("nohup");
  const pid_t first = st["pid"].get<pid_t>();
  const pid_t sup = st["supervisor"]["pid"].get<pid_t>();
  ASSERT_EQ(::kill(sup, SIGHUP), 0);
  st = wait_running("nohup", first);
  EXPECT_EQ(events("nohup", "exit").at(0)["outcome"], "restarted");
  ASSERT_EQ(::kill(sup, SIGINT), 0);
  st = wait_end("nohup");
  EXPECT_EQ(st["state"], "stopped");
  EXPECT_TRUE(starts_with(st["last_exit"].value("cause", ""), "outside-signal: SIGINT"))
      << st["last_exit"].dump();
}

TEST_F(Inheritance, IgnoredSigchldDoesNotHideTheExitStatus)
{
  // An inherited SIGCHLD SIG_IGN makes the kernel reap children unasked: the supervisor must
  // undo it, or it would never learn how its job ended.
  StartOptions o;
  o.ignore_signals = {SIGCHLD};
  launch("nochld", {"--restart", "never"}, {"--sleep", "100ms", "--exit", "3"}, o);
  Json st = wait_end("nochld");
  EXPECT_EQ(st["state"], "failed");
  EXPECT_EQ(st["last_exit"]["code"], 3);
  EXPECT_TRUE(starts_with(st["last_exit"].value("cause", ""), "exit: code 3"));
}

TEST_F(OneSupervisor, ConcurrentStartsOfOneNameLetExactlyOneRun)
{
  std::vector<std::unique_ptr<Child>> launchers;
  for (int i = 0; i < 4; ++i) {
    launchers.push_back(start(job("solo", {}, {"--sleep", "1h"})));
  }
  std::vector<int> statuses;
  std::string winner_out;
  for (auto& c : launchers) {
    Result r = c->finish();
    statuses.push_back(r.status);
    if (r.status == 0) {
      winner_out = r.out;
    } else {
      EXPECT_TRUE(contains(r.err, "already running")) << r.err;
    }
  }
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 0), 1);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 3), 3);
  Json st = wait_running("solo");
  EXPECT_TRUE(contains(winner_out, "pid " + std::to_string(st["pid"].get<pid_t>()))) << winner_out;
  EXPECT_EQ(events("solo", "start").size(), 1u);
  EXPECT_EQ(events("solo", "launch").size(), 1u);
}

} // namespace
} // namespace pg::e2e
