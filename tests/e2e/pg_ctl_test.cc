// pg-ctl on real jobs started by the built pg-run: stop (graceful, --timeout, during backoff,
// several names, escalation by a second stop), restart, signal, --json, --state-dir on either
// side of the verb, exit statuses, and the supervisor identity check that keeps a forged or
// recycled pid from being signalled.
#include "harness.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

namespace pg::e2e {
namespace {

const std::string k_pg_ctl = PG_CTL_BIN;

double seconds_since(Clock::time_point t)
{
  return std::chrono::duration<double>(Clock::now() - t).count();
}

class PgCtl : public E2e {
protected:
  // pg-ctl --state-dir STATE ARGS...

  // A running service (fake_job FAKE_ARGS... --pidfile P --sleep 1h); returns its main pid.
  pid_t start_service(const std::string& name, const Args& opts = {}, const Args& fake_args = {})
  {
    const std::string pidfile = path(name + ".pid");
    launch(name, opts, fake_args + Args{"--pidfile", pidfile, "--sleep", "1h"});
    const pid_t pid = wait_pidfile(pidfile);
    wait_running(name);
    return pid;
  }

  void wait_state(const std::string& name, const std::string& want)
  {
    E2e::wait_state(
        name, [&](const Json& st) { return st.value("state", "") == want; }, name + " is " + want);
  }

  // Replaces STATE/NAME/state.json as the supervisor does: a 0600 temp file, then rename.
  void replace_state(const std::string& name, const Json& st)
  {
    const std::string file = state_dir() + "/" + name + "/state.json";
    const std::string temp = file + ".forged";
    write_text(temp, st.dump(), 0600);
    ASSERT_EQ(::rename(temp.c_str(), file.c_str()), 0) << std::strerror(errno);
  }

  // Parses pg-ctl --json output: an array of objects with name, ok and message.
  Json parse_results(const Result& r, size_t n)
  {
    Json arr = Json::parse(r.out, nullptr, false);
    EXPECT_TRUE(arr.is_array()) << "stdout: " << r.out << "; stderr: " << r.err;
    if (!arr.is_array()) {
      return Json::array();
    }
    EXPECT_EQ(arr.size(), n) << r.out;
    for (const auto& j : arr) {
      EXPECT_TRUE(j.contains("name") && j["name"].is_string()) << j.dump();
      EXPECT_TRUE(j.contains("ok") && j["ok"].is_boolean()) << j.dump();
      EXPECT_TRUE(j.contains("message") && j["message"].is_string()) << j.dump();
      EXPECT_FALSE(j.value("message", "").empty()) << j.dump();
    }
    return arr;
  }
};

TEST_F(PgCtl, StopEndsARunningJobAsRequested)
{
  const pid_t pid = start_service("web");
  Result r = pg_ctl({"stop", "web"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "web")) << r.out;
  // pg-ctl waits for the end: the job is over when it returns.
  EXPECT_FALSE(alive(pid));
  Json st = wait_end("web");
  EXPECT_EQ(st["state"], "stopped");
  const Json& e = st["last_exit"];
  EXPECT_EQ(e["pid"], pid);
  EXPECT_EQ(e["outcome"], "stopped");
  EXPECT_EQ(e["signal"], "SIGTERM");
  EXPECT_TRUE(starts_with(e.value("cause", ""), "requested")) << e.dump();
  EXPECT_TRUE(starts_with(st.value("end_cause", ""), "requested")) << st.dump();
}

TEST_F(PgCtl, StopTimeoutKillsAJobThatIgnoresTermLongBeforeItsOwnStopTimeout)
{
  const pid_t pid = start_service("stubborn", {"--stop-timeout", "30s"}, {"--ignore-term"});
  const auto t0 = Clock::now();
  Result r = pg_ctl({"stop", "--timeout", "300ms", "stubborn"});
  const double took = seconds_since(t0);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_GE(took, 0.3);
  EXPECT_LT(took, 10.0) << "the job's own --stop-timeout is 30s";
  EXPECT_FALSE(alive(pid));
  Json st = wait_end("stubborn");
  EXPECT_EQ(st["state"], "stopped");
  EXPECT_EQ(st["last_exit"]["signal"], "SIGKILL");
  EXPECT_EQ(st["last_exit"]["outcome"], "stopped");
  EXPECT_TRUE(starts_with(st["last_exit"].value("cause", ""), "requested"))
      << st["last_exit"].dump();
}

TEST_F(PgCtl, StopDuringBackoffTakesEffectAtOnce)
{
  launch("resting", {"--restart-delay", "1h"}, {"--exit", "1"});
  wait_state("resting", "backoff");
  const auto t0 = Clock::now();
  Result r = pg_ctl({"stop", "resting"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_LT(seconds_since(t0), 5.0);
  Json st = wait_end("resting");
  EXPECT_EQ(st["state"], "stopped");
  EXPECT_TRUE(starts_with(st.value("end_cause", ""), "requested")) << st.dump();
  EXPECT_EQ(events("resting", "start").size(), 1u);
}

TEST_F(PgCtl, StopsSeveralJobsAtOnce)
{
  const pid_t a = start_service("alpha");
  const pid_t b = start_service("beta");
  const pid_t c = start_service("gamma");
  Result r = pg_ctl({"stop", "alpha", "beta", "gamma"});
  EXPECT_EQ(r.status, 0) << r.err;
  for (const auto& [name, pid] :
       std::vector<std::pair<std::string, pid_t>>{{"alpha", a}, {"beta", b}, {"gamma", c}}) {
    EXPECT_FALSE(alive(pid)) << name;
    EXPECT_TRUE(contains(r.out, name + ":")) << r.out;
    Json st = wait_end(name);
    EXPECT_EQ(st["state"], "stopped") << name;
    EXPECT_TRUE(starts_with(st["last_exit"].value("cause", ""), "requested")) << st.dump();
  }
}

TEST_F(PgCtl, StopSendsEveryRequestBeforeWaiting)
{
  // Two jobs that outlive their stop signal: waited for one after the other, the stop would
  // take twice the timeout.
  start_service("slow1", {"--stop-timeout", "30s"}, {"--ignore-term"});
  start_service("slow2", {"--stop-timeout", "30s"}, {"--ignore-term"});
  const auto t0 = Clock::now();
  Result r = pg_ctl({"stop", "--timeout", "1500ms", "slow1", "slow2"});
  const double took = seconds_since(t0);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_GE(took, 1.5);
  EXPECT_LT(took, 2.9) << "the two stops ran one after the other";
  for (const char* name : {"slow1", "slow2"}) {
    Json st = wait_end(name);
    EXPECT_EQ(st["last_exit"]["signal"], "SIGKILL") << name;
  }
}

TEST_F(PgCtl, StopOfAStoppedOrUnknownJobFailsNamingIt)
{
  start_service("halted");
  ASSERT_EQ(pg_ctl({"stop", "halted"}).status, 0);
  wait_end("halted");

  Result again = pg_ctl({"stop", "halted"});
  EXPECT_EQ(again.status, 1);
  EXPECT_TRUE(contains(again.err, "pg-ctl: halted: ")) << again.err;

  Result unknown = pg_ctl({"stop", "ghost"});
  EXPECT_EQ(unknown.status, 1);
  EXPECT_TRUE(contains(unknown.err, "pg-ctl: ghost: ")) << unknown.err;

  // Mixed with a running job: that one is still stopped, and the status says something failed.
  const pid_t pid = start_service("web");
  Result mixed = pg_ctl({"stop", "ghost", "web", "halted"});
  EXPECT_EQ(mixed.status, 1);
  EXPECT_TRUE(contains(mixed.err, "pg-ctl: ghost: ")) << mixed.err;
  EXPECT_TRUE(contains(mixed.err, "pg-ctl: halted: ")) << mixed.err;
  EXPECT_FALSE(contains(mixed.err, "web")) << mixed.err;
  EXPECT_FALSE(alive(pid));
  EXPECT_EQ(wait_end("web")["state"], "stopped");
}

TEST_F(PgCtl, SecondStopEscalatesToKillAtOnce)
{
  const pid_t pid = start_service("stubborn", {"--stop-timeout", "30s"}, {"--ignore-term"});
  const auto t0 = Clock::now();
  auto first = start(ctl({"stop", "stubborn"}));
  wait_state("stubborn", "stopping");
  Result second = pg_ctl({"stop", "stubborn"});
  EXPECT_EQ(second.status, 0) << second.err;
  Result r1 = first->finish();
  EXPECT_EQ(r1.status, 0) << r1.err;
  EXPECT_LT(seconds_since(t0), 10.0) << "the job's stop timeout is 30s";
  EXPECT_FALSE(alive(pid));
  Json st = wait_end("stubborn");
  EXPECT_EQ(st["state"], "stopped");
  EXPECT_EQ(st["last_exit"]["signal"], "SIGKILL");
}

TEST_F(PgCtl, RestartIsAPlannedRestartWithANewPid)
{
  const pid_t first = start_service("web");
  const Json before = state("web");
  Result r = pg_ctl({"restart", "web"});
  ASSERT_EQ(r.status, 0) << r.err;
  Json st = state("web");
  EXPECT_EQ(st["state"], "running");
  ASSERT_TRUE(st["pid"].is_number_integer()) << st.dump();
  const pid_t second = st["pid"].get<pid_t>();
  EXPECT_NE(second, first);
  EXPECT_FALSE(alive(first));
  EXPECT_TRUE(alive(second));
  EXPECT_TRUE(contains(r.out, std::to_string(second))) << "pg-ctl prints the new pid: " << r.out;
  EXPECT_EQ(st["restarts"], before["restarts"].get<int>() + 1);
  EXPECT_EQ(st["supervisor"], before["supervisor"]);
  const Json& e = st["last_exit"];
  EXPECT_EQ(e["pid"], first);
  EXPECT_EQ(e["outcome"], "restarted");
  EXPECT_TRUE(starts_with(e.value("cause", ""), "planned")) << e.dump();
}

TEST_F(PgCtl, SignalReachesTheJobsMainProcess)
{
  const std::string traps = path("traps");
  const pid_t pid =
      start_service("web", {}, {"--trap", "USR1", "--trap", "USR2", "--trap-file", traps});
  Result r = pg_ctl({"signal", "web", "USR1"});
  EXPECT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(wait_until([&] { return read_text(traps) == "USR1\n"; }, "the job traps USR1"))
      << read_text(traps);
  Result by_number = pg_ctl({"signal", "web", std::to_string(SIGUSR2)});
  EXPECT_EQ(by_number.status, 0) << by_number.err;
  ASSERT_TRUE(wait_until([&] { return read_text(traps) == "USR1\nUSR2\n"; }, "the job traps USR2"))
      << read_text(traps);
  Json st = state("web");
  EXPECT_EQ(st["state"], "running");
  EXPECT_EQ(st["pid"], pid);
}

TEST_F(PgCtl, SignalWithABadSignalNameIsAUsageError)
{
  const std::string traps = path("traps");
  const pid_t pid = start_service("web", {}, {"--trap", "USR1", "--trap-file", traps});
  for (const char* bad : {"NOTASIGNAL", "SIGFOO", "0", "-5"}) {
    Result r = pg_ctl({"signal", "web", bad});
    EXPECT_EQ(r.status, 2) << bad << ": " << r.out << r.err;
    EXPECT_NE(r.err, "") << bad;
  }
  Result unknown = pg_ctl({"signal", "ghost", "USR1"});
  EXPECT_EQ(unknown.status, 1) << unknown.err;
  EXPECT_TRUE(contains(unknown.err, "ghost")) << unknown.err;
  EXPECT_TRUE(alive(pid));
  EXPECT_EQ(read_text(traps), "");
  EXPECT_EQ(state("web")["state"], "running");
}

TEST_F(PgCtl, UnknownVerbOrOptionIsAUsageError)
{
  for (const Args& args : {Args{"frobnicate", "web"}, Args{"stop", "--bogus", "web"}, Args{},
                           Args{"stop", "--timeout", "soon", "web"}}) {
    Result r = pg_ctl(args);
    EXPECT_EQ(r.status, 2) << (args.empty() ? "(no verb)" : args[0]) << ": " << r.out << r.err;
  }
}

TEST_F(PgCtl, JsonOfEveryVerbIsAnArrayOfResults)
{
  const std::string traps = path("traps");
  start_service("web", {}, {"--trap", "USR1", "--trap-file", traps});

  Result sig = pg_ctl({"--json", "signal", "web", "USR1"});
  EXPECT_EQ(sig.status, 0) << sig.err;
  Json s = parse_results(sig, 1);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0]["name"], "web");
  EXPECT_EQ(s[0]["ok"], true);

  Result restart = pg_ctl({"restart", "--json", "web"});
  EXPECT_EQ(restart.status, 0) << restart.err;
  Json rs = parse_results(restart, 1);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0]["name"], "web");
  EXPECT_EQ(rs[0]["ok"], true);

  Result stop = pg_ctl({"stop", "web", "ghost", "--json"});
  EXPECT_EQ(stop.status, 1) << stop.err;
  Json st = parse_results(stop, 2);
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0]["name"], "web");
  EXPECT_EQ(st[0]["ok"], true);
  EXPECT_EQ(st[1]["name"], "ghost");
  EXPECT_EQ(st[1]["ok"], false);
  EXPECT_TRUE(contains(stop.err, "ghost")) << stop.err;
  wait_end("web");
}

TEST_F(PgCtl, StateDirIsAcceptedBeforeAndAfterTheVerb)
{
  const std::string traps = path("traps");
  start_service("web", {}, {"--trap", "USR1", "--trap-file", traps});
  const std::vector<Args> forms{
      {k_pg_ctl, "--state-dir", state_dir(), "signal", "web", "USR1"},
      {k_pg_ctl, "signal", "--state-dir", state_dir(), "web", "USR1"},
      {k_pg_ctl, "signal", "web", "USR1", "--state-dir", state_dir()},
      {k_pg_ctl, "signal", "web", "USR1", "--json", "--state-dir", state_dir()},
  };
  std::string expected;
  for (const auto& argv : forms) {
    Result r = run(argv);
    EXPECT_EQ(r.status, 0) << argv[1] << " " << argv[2] << ": " << r.err;
    expected += "USR1\n";
    EXPECT_TRUE(wait_until([&] { return read_text(traps) == expected; }, "the job traps USR1"))
        << read_text(traps);
  }
  Result after = run({k_pg_ctl, "stop", "web", "--state-dir", state_dir()});
  EXPECT_EQ(after.status, 0) << after.err;
  EXPECT_EQ(wait_end("web")["state"], "stopped");
}

TEST_F(PgCtl, ForgedSupervisorIdentityIsRefusedAndTheOtherProcessIsNotSignalled)
{
  const std::string traps = path("job.traps");
  const pid_t job_pid =
      start_service("web", {}, {"--trap", "USR1", "--trap", "HUP", "--trap-file", traps});
  const Json original = state("web");
  const pid_t supervisor = original["supervisor"]["pid"].get<pid_t>();

  // A decoy of the same user, started by the test, that records every trapped signal; the
  // control signal pg-ctl would send is not trapped, so it would kill the decoy.
  const std::string decoy_traps = path("decoy.traps");
  auto decoy_child =
      start({k_fake, "--trap", "TERM", "--trap", "HUP", "--trap", "USR1", "--trap", "USR2",
             "--trap-file", decoy_traps, "--pidfile", path("decoy.pid"), "--sleep", "1h"});
  const pid_t decoy = wait_pidfile(path("decoy.pid"));
  ASSERT_EQ(decoy, decoy_child->pid());
  const auto decoy_info = proc_info(decoy);
  ASSERT_TRUE(decoy_info);

  Json wrong_start = original;
  wrong_start["supervisor"]["pid"] = decoy;
  wrong_start["supervisor"]["start_time"] = decoy_info->start_time + 1;
  Json wrong_boot = original;
  wrong_boot["supervisor"]["pid"] = decoy;
  wrong_boot["supervisor"]["start_time"] = decoy_info->start_time;
  wrong_boot["supervisor"]["boot_id"] = "00000000-0000-4000-8000-000000000000";

  for (const auto& [what, forged] : std::vector<std::pair<std::string, Json>>{
           {"start time", wrong_start}, {"boot id", wrong_boot}}) {
    SCOPED_TRACE("a wrong " + what);
    replace_state("web", forged);
    // The three verbs at once (each may give the state a moment to settle before refusing).
    auto stop = start(ctl({"stop", "--timeout", "300ms", "web"}));
    auto sig = start(ctl({"signal", "web", "USR1"}));
    auto restart = start(ctl({"restart", "web"}));
    for (auto* c : {stop.get(), sig.get(), restart.get()}) {
      Result r = c->finish();
      EXPECT_EQ(r.status, 1) << r.out << r.err;
      EXPECT_TRUE(contains(r.err, "pg-ctl: web: ")) << r.err;
    }
    EXPECT_TRUE(alive(decoy)) << "the decoy was signalled";
    EXPECT_EQ(read_text(decoy_traps), "");
    EXPECT_EQ(state("web")["supervisor"]["pid"], decoy) << "the forged state was replaced";
  }

  // The real job was not reached either; with its true state back, pg-ctl works again.
  replace_state("web", original);
  EXPECT_TRUE(alive(supervisor));
  EXPECT_TRUE(alive(job_pid));
  EXPECT_EQ(read_text(traps), "");
  EXPECT_TRUE(events("web", "exit").empty());
  Result stop = pg_ctl({"stop", "web"});
  EXPECT_EQ(stop.status, 0) << stop.err;
  EXPECT_EQ(wait_end("web")["state"], "stopped");
  EXPECT_TRUE(alive(decoy));
  EXPECT_EQ(read_text(decoy_traps), "");
}

TEST_F(PgCtl, CopiedStateOfAnotherJobIsNotRunning)
{
  start_service("web");
  const std::string decoy_traps = path("decoy.traps");
  auto decoy_child = start({k_fake, "--trap", "TERM", "--trap", "USR1", "--trap-file", decoy_traps,
                            "--pidfile", path("decoy.pid"), "--sleep", "1h"});
  const pid_t decoy = wait_pidfile(path("decoy.pid"));
  const auto decoy_info = proc_info(decoy);
  ASSERT_TRUE(decoy_info);

  // A copy of the job's directory whose lock nobody holds, naming the decoy as supervisor
  // with its true start time: the lock says the copy has no supervisor.
  const std::string copy = state_dir() + "/copy";
  ASSERT_EQ(::mkdir(copy.c_str(), 0700), 0);
  Json forged = state("web");
  forged["name"] = "copy";
  forged["supervisor"]["pid"] = decoy;
  forged["supervisor"]["start_time"] = decoy_info->start_time;
  write_text(copy + "/state.json", forged.dump(), 0600);
  write_text(copy + "/lock", "", 0600);
  for (const Args& args :
       {Args{"stop", "copy"}, Args{"signal", "copy", "USR1"}, Args{"restart", "copy"}}) {
    Result r = pg_ctl(args);
    EXPECT_EQ(r.status, 1) << args[0] << ": " << r.out << r.err;
    EXPECT_TRUE(contains(r.err, "copy")) << r.err;
  }
  EXPECT_TRUE(alive(decoy));
  EXPECT_EQ(read_text(decoy_traps), "");
  EXPECT_EQ(state("web")["state"], "running");
}

} // namespace
} // namespace pg::e2e
