// --limit on real processes: the job's /proc/PID/limits shows it, it survives a restart and a
// start after a stop, pg-ls, the jobs file and pg-ctl unit carry it; bad values are usage
// errors; and the caps (--memory-cap, --tasks-cap, --cpu-quota) are refused, never silently
// unenforced, where pg-run cannot give the job a cgroup (an unprivileged user here).
#include "harness.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace pg::e2e {
namespace {

class Limits : public E2e {
protected:
  // The soft and hard columns of /proc/PID/limits' row named label ("Max open files").
  static std::pair<std::string, std::string> limit_row(pid_t pid, const std::string& label)
  {
    std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
    std::string line;
    while (std::getline(in, line)) {
      if (starts_with(line, label + " ")) {
        std::istringstream cols(line.substr(label.size()));
        std::string soft;
        std::string hard;
        cols >> soft >> hard;
        return {soft, hard};
      }
    }
    return {};
  }

  pid_t running_pid(const std::string& name, pid_t not_pid = 0)
  {
    return wait_running(name, not_pid)["pid"].get<pid_t>();
  }
};

using Row = std::pair<std::string, std::string>;

TEST_F(Limits, OneValueSetsSoftAndHardInTheJob)
{
  launch("files", {"--limit", "nofile=64"}, {"--sleep", "1h"});
  const pid_t pid = running_pid("files");
  EXPECT_EQ(limit_row(pid, "Max open files"), (Row{"64", "64"}));
  const Json def = state("files")["definition"];
  EXPECT_EQ(def["limits"], (Json{{"nofile", {{"soft", 64}, {"hard", 64}}}})) << def.dump();
}

TEST_F(Limits, SoftAndHardAndCoreZero)
{
  launch("both", {"--limit", "nofile=64:128", "--limit", "core=0"}, {"--sleep", "1h"});
  const pid_t pid = running_pid("both");
  EXPECT_EQ(limit_row(pid, "Max open files"), (Row{"64", "128"}));
  EXPECT_EQ(limit_row(pid, "Max core file size"), (Row{"0", "0"}));
  // The supervisor itself keeps its own limits: only the job's child gets them.
  EXPECT_NE(limit_row(supervisor_pid("both"), "Max open files"), (Row{"64", "128"}));
}

TEST_F(Limits, BadLimitsAreUsageErrorsAndStartNothing)
{
  struct Case {
    std::string value;
    std::string says;
  };
  for (const Case& c : {Case{"rss=1", "rss has no effect on Linux"},
                        Case{"files=64", "'files' is not a resource (use one of: as core cpu"},
                        Case{"nofile=128:64", "the soft limit 128 is above the hard limit 64"},
                        Case{"nofile=lots", "'lots' is not a number or unlimited"}}) {
    Result r = run(job("bad", {"--limit", c.value}, {"--sleep", "1h"}));
    EXPECT_EQ(r.status, 2) << c.value << ": " << r.err;
    EXPECT_TRUE(contains(r.err, c.says)) << c.value << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
  }
  Result twice =
      run(job("bad", {"--limit", "nofile=64", "--limit", "nofile=32"}, {"--sleep", "1h"}));
  EXPECT_EQ(twice.status, 2) << twice.err;
  EXPECT_TRUE(contains(twice.err, "nofile given twice")) << twice.err;
  EXPECT_FALSE(std::filesystem::exists(state_dir() + "/bad")) << "nothing was started";
}

TEST_F(Limits, ALimitThatCannotBeSetFailsTheStartWithItsReason)
{
  // Above fs.nr_open: even root cannot raise nofile's hard limit there.
  Result r = run(job("high", {"--limit", "nofile=64:unlimited"}, {"--sleep", "1h"}));
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "setrlimit nofile=64:unlimited: Operation not permitted")) << r.err;
  const Json end = wait_end("high");
  EXPECT_EQ(end["state"], "failed");
  EXPECT_TRUE(starts_with(end["last_exit"]["cause"].get<std::string>(), "exec: setrlimit"))
      << end.dump();
}

TEST_F(Limits, SurviveRestartAndStartAfterAStop)
{
  launch("kept", {"--limit", "nofile=64:128"}, {"--sleep", "1h"});
  const pid_t first = running_pid("kept");
  ASSERT_EQ(pg_ctl({"restart", "kept"}).status, 0);
  const pid_t second = running_pid("kept", first);
  EXPECT_EQ(limit_row(second, "Max open files"), (Row{"64", "128"}));

  ASSERT_EQ(pg_ctl({"stop", "kept"}).status, 0);
  wait_end("kept");
  Result r = pg_ctl({"start", "kept"});
  ASSERT_EQ(r.status, 0) << r.err;
  const pid_t third = running_pid("kept", second);
  EXPECT_EQ(limit_row(third, "Max open files"), (Row{"64", "128"}));
}

TEST_F(Limits, PgLsShowsThemInJsonAndDetail)
{
  launch("shown", {"--limit", "nofile=64:128", "--limit", "nproc=500"}, {"--sleep", "1h"});
  running_pid("shown");
  Result r = pg_ls({"--json", "shown"});
  ASSERT_EQ(r.status, 0) << r.err;
  const Json j = Json::parse(r.out);
  ASSERT_TRUE(j.is_array() && j.size() == 1) << r.out;
  EXPECT_EQ(j[0]["limits"]["nofile"], (Json{{"soft", 64}, {"hard", 128}})) << r.out;
  EXPECT_EQ(j[0]["memory_cap"], 0);
  r = pg_ls({"shown"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "Limits: nofile=64:128; nproc=500 (not enforced for root)") ||
              (::geteuid() != 0 && contains(r.out, "Limits: nofile=64:128; nproc=500\n")))
      << r.out;
}

TEST_F(Limits, JobsFileCarriesThemAndUpSeesAChange)
{
  const std::string file = path("pg.toml");
  auto table = [&](const std::string& limit) {
    return "[jobs.web]\ncommand = [\"" FAKE_JOB_BIN "\", \"--sleep\", \"1h\"]\nlimit = { " + limit +
           " }\n";
  };
  write_text(file, table("nofile = 64, core = 0"), 0600);
  Result r = pg_ctl({"up", "-f", file});
  ASSERT_EQ(r.status, 0) << r.err;
  const pid_t first = running_pid("web");
  EXPECT_EQ(limit_row(first, "Max open files"), (Row{"64", "64"}));

  write_text(file, table("nofile = \"64:128\", core = 0"), 0600);
  r = pg_ctl({"up", "-f", file});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "web: replaced (changed: limit)")) << r.out;
  const pid_t second = running_pid("web", first);
  EXPECT_EQ(limit_row(second, "Max open files"), (Row{"64", "128"}));

  r = pg_ctl({"show", "web", "--as", "toml"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "limit = { core = 0, nofile = '64:128' }")) << r.out;
  r = pg_ctl({"show", "web", "--as", "pg-run"});
  EXPECT_TRUE(contains(r.out, " --limit core=0 --limit nofile=64:128 --")) << r.out;

  write_text(file, table("nofile = \"lots\""), 0600);
  r = pg_ctl({"up", "-f", file});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "pg.toml:3: jobs.web.limit: nofile: 'lots' is not a number"))
      << r.err;
}

TEST_F(Limits, UnitPrintsSystemdLimits)
{
  launch("unit", {"--limit", "nofile=64:128", "--limit", "as=1G:unlimited"}, {"--sleep", "1h"});
  running_pid("unit");
  Result r = pg_ctl({"unit", "unit"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "\nLimitNOFILE=64:128\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "\nLimitAS=1G:infinity\n")) << r.out;
}

TEST_F(Limits, CapsAreRefusedWhereTheyCannotBeEnforced)
{
  // As an unprivileged user on a host with no delegated cgroup v2 subtree for it, no cgroup
  // can enforce a cap: refused, never silently unenforced (run as root, they are enforced:
  // quota_test.cc).
  StartOptions nobody;
  if (::geteuid() == 0) {
    nobody.uid = 65534;
    nobody.gid = 65534;
  }
  for (const Args& cap :
       {Args{"--memory-cap", "512M"}, Args{"--tasks-cap", "10"}, Args{"--cpu-quota", "50%"}}) {
    Result r = run(job("capped", cap, {"--sleep", "1h"}), nobody);
    EXPECT_EQ(r.status, 1) << cap[0] << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "pg-run: error: " + cap[0] + " cannot be enforced: ")) << r.err;
    EXPECT_FALSE(std::filesystem::exists(state_dir() + "/capped")) << "nothing was started";
  }
  for (const Args& bad : {Args{"--memory-cap", "0"}, Args{"--tasks-cap", "0"},
                          Args{"--cpu-quota", "0%"}, Args{"--cpu-quota", "half"}}) {
    Result r = run(job("capped", bad, {"--sleep", "1h"}));
    EXPECT_EQ(r.status, 2) << bad[0] << " " << bad[1] << ": " << r.err;
  }
}

} // namespace
} // namespace pg::e2e
