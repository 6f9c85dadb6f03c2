// The launch: what pg-run prints, its exit statuses, and that it lets go of its caller.
#include "harness.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <regex>

namespace pg::e2e {
namespace {

namespace fs = std::filesystem;

class Launch : public E2e {};
class LaunchStatus : public E2e {};
class OptionParsing : public E2e {};

TEST_F(Launch, PrintsOneLineOnlyAfterTheJobExecd)
{
  Result r = launch("web", {}, {"--sleep", "1h"});
  std::smatch m;
  ASSERT_TRUE(std::regex_match(
      r.out, m, std::regex(R"(web: running, pid (\d+) \(supervisor (\d+)\), log (\S+)\n)")))
      << r.out;
  EXPECT_EQ(r.err, "");
  const pid_t pid = std::stoi(m[1]);
  const pid_t sup = std::stoi(m[2]);
  EXPECT_EQ(m[3], state_dir() + "/web/output.log");
  // The job has exec'd by the time pg-run returns: the pid is fake_job, not a copy of pg-run.
  EXPECT_TRUE(alive(pid));
  EXPECT_EQ(proc_link(pid, "exe"), fs::canonical(k_fake).string());
  EXPECT_EQ(cmdline(pid), (Args{k_fake, "--sleep", "1h"}));
  EXPECT_EQ(proc_info(pid)->ppid, sup);
  Json st = state("web");
  EXPECT_EQ(st["state"], "running");
  EXPECT_EQ(st["pid"], pid);
  EXPECT_EQ(st["supervisor"]["pid"], sup);
  EXPECT_TRUE(lock_held("web"));
  auto starts = events("web", "start");
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0]["pid"], pid);
}

TEST_F(Launch, JsonPrintsOneReceiptObject)
{
  Result r = launch("api", {"--json"}, {"--sleep", "1h"});
  ASSERT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  Json j = Json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  Json st = state("api");
  EXPECT_EQ(j["name"], "api");
  EXPECT_EQ(j["state"], "running");
  EXPECT_EQ(j["pid"], st["pid"]);
  EXPECT_TRUE(j["pid"].is_number_integer());
  EXPECT_EQ(j["supervisor_pid"], st["supervisor"]["pid"]);
  EXPECT_EQ(j["log"], state_dir() + "/api/output.log");
  EXPECT_EQ(j["state_dir"], state_dir());
  EXPECT_TRUE(j.contains("supervisor_parent") && !j["supervisor_parent"].is_null()) << r.out;
  EXPECT_TRUE(j["cgroup"].is_string()) << r.out;
}

TEST_F(Launch, QuietPrintsNothing)
{
  Result r = launch("hush", {"-q"}, {"--sleep", "1h"});
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
  Json st = wait_running("hush");
  EXPECT_TRUE(alive(st["pid"].get<pid_t>()));
}

TEST_F(Launch, ReleasesTheCallersPipesWhileTheJobRuns)
{
  // finish() reads stdout and stderr to EOF: a supervisor that kept either pipe open would
  // hold the caller (an agent's tool call, $(...)) until the job ends, an hour from now.
  auto c = start(job("pipes", {}, {"--print", "hello", "--sleep", "1h"}));
  Result r = c->finish(k_wait);
  ASSERT_EQ(r.status, 0) << r.err;
  Json st = wait_running("pipes");
  EXPECT_TRUE(alive(st["pid"].get<pid_t>()));
  EXPECT_TRUE(lock_held("pipes"));
}

TEST_F(Launch, SupervisorLeavesTheCallersSessionGroupAndStdio)
{
  launch("detached", {}, {"--sleep", "1h"});
  const pid_t sup = supervisor_pid("detached");
  auto info = proc_info(sup);
  ASSERT_TRUE(info);
  EXPECT_NE(info->sid, ::getsid(0));
  EXPECT_NE(info->pgid, ::getpgrp());
  EXPECT_NE(info->sid, sup) << "a session leader could acquire a terminal again";
  for (const char* fd : {"fd/0", "fd/1", "fd/2"}) {
    EXPECT_EQ(proc_link(sup, fd), "/dev/null") << fd;
  }
  Json st = state("detached");
  EXPECT_EQ(st["supervisor_parent"]["pid"], info->ppid);
}

TEST_F(Launch, TheSupervisorIsPgSuperviseNamedForItsJob)
{
  launch("named", {}, {"--sleep", "1h"});
  const pid_t sup = supervisor_pid("named");
  // Exec'd beside pg-run, with its plan's descriptor and the job's name (for ps).
  EXPECT_EQ(proc_link(sup, "exe"),
            fs::canonical(fs::path(k_pg_run).parent_path() / "pg-supervise").string());
  const Args argv = cmdline(sup);
  ASSERT_EQ(argv.size(), 3U);
  EXPECT_EQ(argv[0], "pg-supervise");
  EXPECT_EQ(argv[2], "named");
  // The plan's memfd was read and closed: none of the supervisor's descriptors is a memfd.
  for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(sup) + "/fd")) {
    EXPECT_FALSE(contains(proc_link(sup, "fd/" + e.path().filename().string()), "memfd:"))
        << e.path();
  }
}

TEST_F(LaunchStatus, WithoutPgSuperviseADetachedLaunchIsRefused)
{
  // pg-run alone, as a half-done install leaves it: refused before the job is claimed.
  fs::create_directories(path("bin"));
  fs::copy_file(k_pg_run, path("bin/pg-run"));
  Result r = run({path("bin/pg-run"), "--state-dir", state_dir(), "-n", "orphan", k_fake});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "pg-run: error: cannot find pg-supervise")) << r.err;
  EXPECT_FALSE(fs::exists(state_dir() + "/orphan"));
  // In the foreground pg-run supervises in its own process: no pg-supervise needed.
  r = run({path("bin/pg-run"), "--state-dir", state_dir(), "-n", "fg", "-f", "--oneshot", k_fake});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(state("fg")["state"], "completed");
}

TEST_F(LaunchStatus, PgSuperviseRunByHandSaysWhatItIsAndExitsTwo)
{
  const std::string sup = (fs::path(k_pg_run).parent_path() / "pg-supervise").string();
  for (const Args& args : {Args{sup}, Args{sup, "x", "y"}, Args{sup, "1", "y"}}) {
    Result r = run(args);
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_TRUE(contains(r.err, "pg-supervise: ")) << r.err;
  }
  // A descriptor with no plan in it (/dev/null): nothing is started.
  StartOptions devnull;
  devnull.extra_fds = {3};
  Result r = run({sup, "3", "x"}, devnull);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "pg-supervise: not a plan pg-run wrote")) << r.err;
}

TEST_F(LaunchStatus, UsageErrorsExitTwo)
{
  const std::vector<Args> cases{
      {"-n", "a/b", k_fake},
      {"-n", "..", k_fake},
      {"-n", std::string(65, 'a'), k_fake},
      {"-n", "-x", k_fake},
      {"-n", "x", "--duration", "5x", k_fake},
      {"-n", "x", "--restart-delay", "1.5s", k_fake},
      {"-n", "x", "--max-restarts", "many", k_fake},
      {"-n", "x", "--max-restarts", "-1", k_fake},
      {"-n", "x", "--restart", "sometimes", k_fake},
      {"-n", "x", "--stop-signal", "KILL", k_fake},
      {"-n", "x", "--env", "NOEQUALS", k_fake},
      {"-n", "x"},
      {k_fake},
  };
  for (const auto& args : cases) {
    Result r = run(pg_run(args));
    std::string shown;
    for (const auto& a : args) {
      shown += " " + a;
    }
    EXPECT_EQ(r.status, 2) << "pg-run" << shown << "\nstderr: " << r.err;
    EXPECT_TRUE(contains(r.err, "pg-run: error:")) << shown << ": " << r.err;
    EXPECT_EQ(r.out, "") << shown;
  }
  EXPECT_FALSE(fs::exists(state_dir() + "/x/state.json"));
  // The longest valid name is fine.
  launch(std::string(64, 'a'), {}, {"--sleep", "1h"});
}

TEST_F(LaunchStatus, MissingCommandExits127AgainstTheJobsPathAndCwd)
{
  const std::string bin = path("bin");
  const std::string empty = path("empty");
  fs::create_directory(bin);
  fs::create_directory(empty);
  fs::copy_file(k_fake, bin + "/fakejob");
  ::chmod((bin + "/fakejob").c_str(), 0755);
  const std::string ours = std::string("PATH=") + std::getenv("PATH");

  // Found on the job's PATH though not on pg-run's own.
  Result found = run(pg_run({"--env", "PATH=" + bin, "-n", "onpath", "fakejob", "--sleep", "1h"}));
  EXPECT_EQ(found.status, 0) << found.err;
  // On pg-run's PATH but not on the job's: not found.
  StartOptions with_bin;
  with_bin.env = {{"PATH", bin + ":" + std::getenv("PATH")}};
  Result notfound = run(pg_run({"--env", "PATH=" + empty, "-n", "offpath", "fakejob"}), with_bin);
  EXPECT_EQ(notfound.status, 127) << notfound.err;
  EXPECT_TRUE(contains(notfound.err, "not found")) << notfound.err;
  // A relative command is resolved against --cwd, not against pg-run's own directory.
  StartOptions from_empty;
  from_empty.cwd = empty;
  Result rel = run(pg_run({"-n", "rel", "--cwd", bin, "./fakejob", "--sleep", "1h"}), from_empty);
  EXPECT_EQ(rel.status, 0) << rel.err;
  StartOptions from_bin;
  from_bin.cwd = bin;
  Result relmiss = run(pg_run({"-n", "relmiss", "--cwd", empty, "./fakejob"}), from_bin);
  EXPECT_EQ(relmiss.status, 127) << relmiss.err;
  Result abs = run(pg_run({"-n", "abs", path("no/such/command")}));
  EXPECT_EQ(abs.status, 127) << abs.err;
  // Nothing was left running for the names that could not start.
  for (const char* name : {"offpath", "relmiss", "abs"}) {
    auto st = try_state(name);
    EXPECT_TRUE(!st || !is_live_state(st->value("state", ""))) << name << ": " << st->dump();
    EXPECT_FALSE(lock_held(name)) << name;
  }
}

TEST_F(LaunchStatus, NonExecutableCommandExits126)
{
  write_text(path("script"), "#!/bin/sh\nexit 0\n", 0644);
  Result r = run(pg_run({"-n", "noexec", path("script")}));
  EXPECT_EQ(r.status, 126) << r.err;
  fs::create_directory(path("dir"));
  Result d = run(pg_run({"-n", "isdir", path("dir")}));
  EXPECT_EQ(d.status, 126) << d.err;
  EXPECT_FALSE(lock_held("noexec"));
}

TEST_F(LaunchStatus, ExecFailureAfterResolutionStillReports126)
{
  // Executable, but not a format the kernel runs (no #! line): execve fails with ENOEXEC in
  // the supervisor's child, after the launcher's own checks passed.
  write_text(path("garbage"), "this is not a program\n", 0755);
  Result r = run(pg_run({"-n", "garbage", path("garbage")}));
  EXPECT_EQ(r.status, 126) << r.err;
  EXPECT_EQ(r.out, "");
  Json st = wait_end("garbage");
  EXPECT_EQ(st["state"], "failed");
  EXPECT_TRUE(starts_with(st["last_exit"].value("cause", ""), "exec")) << st["last_exit"].dump();
}

TEST_F(LaunchStatus, EnvironmentErrorsExitOne)
{
  Result cwd = run(job("badcwd", {"--cwd", path("nowhere")}, {"--sleep", "1h"}));
  EXPECT_EQ(cwd.status, 1) << cwd.err;
  EXPECT_TRUE(contains(cwd.err, path("nowhere"))) << cwd.err;

  Result missing = run(job("nofile", {"--env-file", path("missing.env")}, {"--sleep", "1h"}));
  EXPECT_EQ(missing.status, 1) << missing.err;

  write_text(path("bad.env"), "A=1\n# a comment\nthis line is wrong\n");
  Result bad = run(job("badenv", {"--env-file", path("bad.env")}, {"--sleep", "1h"}));
  EXPECT_EQ(bad.status, 1) << bad.err;
  EXPECT_TRUE(contains(bad.err, "line 3")) << bad.err;

  for (const char* name : {"badcwd", "nofile", "badenv"}) {
    EXPECT_FALSE(lock_held(name)) << name;
  }
}

TEST_F(LaunchStatus, UnreadableEnvFileExitsOneForAnOrdinaryUser)
{
  // Root reads anything: drop to nobody, or this test would pass without testing anything.
  if (::access("/usr/bin/setpriv", X_OK) != 0) {
    GTEST_SKIP() << "setpriv (util-linux) is not installed";
  }
  ASSERT_EQ(::chmod(tmp().c_str(), 0711), 0);
  write_text(path("secret.env"), "TOKEN=x\n", 0600);
  Result r = run({"/usr/bin/setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                  k_pg_run, "--state-dir", path("nobody-state"), "-n", "x", "--cwd", "/",
                  "--env-file", path("secret.env"), k_fake, "--sleep", "1h"});
  if (r.status != 1 && contains(r.err, "setpriv")) {
    GTEST_SKIP() << "cannot change uid here: " << r.err;
  }
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "Permission denied")) << r.err;
}

TEST_F(LaunchStatus, UnsafeStateDirectoryExitsOne)
{
  auto try_dir = [&](const std::string& dir) {
    return run({k_pg_run, "--state-dir", dir, "-n", "x", k_fake, "--sleep", "1h"});
  };
  // Writable by the group.
  ASSERT_EQ(::mkdir(path("shared").c_str(), 0700), 0);
  ASSERT_EQ(::chmod(path("shared").c_str(), 0770), 0);
  Result gw = try_dir(path("shared"));
  EXPECT_EQ(gw.status, 1) << gw.err;
  EXPECT_TRUE(contains(gw.err, "writable")) << gw.err;
  EXPECT_FALSE(fs::exists(path("shared/x")));
  // A symlink to a good directory.
  ASSERT_EQ(::mkdir(path("real").c_str(), 0700), 0);
  ASSERT_EQ(::symlink(path("real").c_str(), path("link").c_str()), 0);
  Result ln = try_dir(path("link"));
  EXPECT_EQ(ln.status, 1) << ln.err;
  EXPECT_TRUE(contains(ln.err, "symlink")) << ln.err;
  EXPECT_FALSE(fs::exists(path("real/x")));
  // Another user's directory (sudo keeping HOME).
  ASSERT_EQ(::mkdir(path("theirs").c_str(), 0700), 0);
  ASSERT_EQ(::chown(path("theirs").c_str(), 65534, 65534), 0);
  Result other = try_dir(path("theirs"));
  EXPECT_EQ(other.status, 1) << other.err;
  EXPECT_FALSE(fs::exists(path("theirs/x")));
  // A job directory that is a symlink is refused, never followed.
  ASSERT_EQ(::mkdir(state_dir().c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(path("elsewhere").c_str(), 0700), 0);
  ASSERT_EQ(::symlink(path("elsewhere").c_str(), (state_dir() + "/x").c_str()), 0);
  Result job_link = try_dir(state_dir());
  EXPECT_EQ(job_link.status, 1) << job_link.err;
  EXPECT_TRUE(fs::is_empty(path("elsewhere")));
}

TEST_F(LaunchStatus, SecondStartOfARunningNameExitsThree)
{
  launch("once", {}, {"--sleep", "1h"});
  const Json before = state("once");
  Result again = run(job("once", {}, {"--sleep", "1h"}));
  EXPECT_EQ(again.status, 3) << again.err;
  EXPECT_TRUE(contains(again.err, "already running")) << again.err;
  EXPECT_EQ(again.out, "");
  const Json after = state("once");
  EXPECT_EQ(after["supervisor"], before["supervisor"]);
  EXPECT_EQ(after["pid"], before["pid"]);
  EXPECT_TRUE(alive(after["pid"].get<pid_t>()));
  EXPECT_EQ(events("once", "launch").size(), 1u);
}

TEST_F(OptionParsing, StopsAtTheCommand)
{
  // Everything after the command is the job's, even what looks like pg-run's own options.
  const std::string report = path("report");
  Result r = launch("args", {"--oneshot"},
                    {"--report", report, "--exit", "3", "--", "--json", "-q", "--name", "y"});
  EXPECT_TRUE(starts_with(r.out, "args: running, pid ")) << "neither --json nor -q: " << r.out;
  auto rep = wait_report(report);
  ASSERT_EQ(rep["argc"], "10");
  EXPECT_EQ(rep["argv3"], "--exit");
  EXPECT_EQ(rep["argv4"], "3");
  EXPECT_EQ(rep["argv6"], "--json");
  EXPECT_EQ(rep["argv7"], "-q");
  EXPECT_EQ(rep["argv8"], "--name");
  Json st = wait_end("args");
  EXPECT_EQ(st["state"], "failed");
  EXPECT_EQ(st["last_exit"]["code"], 3);
  EXPECT_FALSE(fs::exists(state_dir() + "/y"));
}

TEST_F(OptionParsing, UnknownOptionBeforeTheCommandIsAUsageError)
{
  Result r = run(pg_run({"-n", "x", "--bogus", k_fake, "--sleep", "1h"}));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "--bogus")) << r.err;
  EXPECT_FALSE(lock_held("x"));
}

TEST_F(OptionParsing, RepeatableOptionRightBeforeTheCommandTakesOneValue)
{
  // pg-run -n bot --env A=1 python3 bot.py: python3 is the command, not a second --env value.
  const std::string report = path("report");
  Result r = run(pg_run({"-n", "envlast", "--env", "A=1", k_fake, "--report", report,
                         "--report-env", "A", "--sleep", "1h"}));
  ASSERT_EQ(r.status, 0) << r.err;
  auto rep = wait_report(report);
  EXPECT_EQ(rep["env.A"], "1");
  EXPECT_EQ(state("envlast")["definition"]["command"].at(0), k_fake);
}

} // namespace
} // namespace pg::e2e
