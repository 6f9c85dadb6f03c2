// The job's environment (--cwd, --env, --env-file), its log, and the state directory's place
// and permissions.
#include "harness.h"

#include <sys/stat.h>

#include <filesystem>

namespace pg::e2e {
namespace {

namespace fs = std::filesystem;

class JobEnvironment : public E2e {};
class Log : public E2e {};
class StateDirectory : public E2e {};

TEST_F(JobEnvironment, CwdEnvAndEnvFileReachTheJob)
{
  fs::create_directory(path("work"));
  write_text(path("job.env"), "# settings for the job\n"
                              "export ALPHA=alpha\n"
                              "\n"
                              "BETA=\"two words\"\n"
                              "GAMMA='no $HOME expansion'\n"
                              "DELTA=from-file\n");
  const std::string report = path("report");
  StartOptions o;
  o.umask = 027;
  o.cwd = tmp(); // --cwd and --env-file given relative to pg-run's own directory
  launch(
      "envy",
      {"--cwd", "work", "--env", "DELTA=from-cli", "--env", "EPSILON=a=b", "--env-file", "job.env"},
      {"--report", report, "--report-env", "ALPHA", "--report-env", "BETA", "--report-env", "GAMMA",
       "--report-env", "DELTA", "--report-env", "EPSILON", "--sleep", "1h"},
      o);
  auto rep = wait_report(report);
  EXPECT_EQ(rep["cwd"], path("work"));
  EXPECT_EQ(rep["env.ALPHA"], "alpha");
  EXPECT_EQ(rep["env.BETA"], "two words");
  EXPECT_EQ(rep["env.GAMMA"], "no $HOME expansion");
  EXPECT_EQ(rep["env.EPSILON"], "a=b");
  EXPECT_EQ(rep["umask"], "0027") << "the job keeps the caller's umask";
  // The definition records --env and the env file's path, never the file's values.
  Json def = state("envy")["definition"];
  EXPECT_EQ(def["cwd"], path("work"));
  EXPECT_EQ(def["env"], (Json{"DELTA=from-cli", "EPSILON=a=b"}));
  EXPECT_EQ(def["env_file"], path("job.env"));
  EXPECT_FALSE(contains(def.dump(), "two words"));
}

TEST_F(JobEnvironment, EnvOptionWinsOverEnvFile)
{
  // As for PATH (decided before detaching): --env wins over --env-file, which wins over ours.
  write_text(path("job.env"), "DELTA=from-file\nZETA=from-file\n");
  const std::string report = path("report");
  StartOptions o;
  o.env = {{"ZETA", "ambient"}, {"ETA", "ambient"}};
  launch("prec",
         {"--env", "DELTA=from-cli", "--env", "ETA=from-cli", "--env-file", path("job.env")},
         {"--report", report, "--report-env", "DELTA", "--report-env", "ZETA", "--report-env",
          "ETA", "--sleep", "1h"},
         o);
  auto rep = wait_report(report);
  EXPECT_EQ(rep["env.DELTA"], "from-cli");
  EXPECT_EQ(rep["env.ZETA"], "from-file");
  EXPECT_EQ(rep["env.ETA"], "from-cli");
  // And the job's environment holds each name once (readers disagree on which copy wins).
  const pid_t pid = wait_running("prec")["pid"].get<pid_t>();
  const std::string env = read_text("/proc/" + std::to_string(pid) + "/environ");
  for (const std::string key : {"DELTA=", "ZETA=", "ETA=", "PATH="}) {
    size_t count = 0;
    for (size_t pos = 0; (pos = env.find(std::string(1, '\0') + key, pos)) != std::string::npos;
         ++pos) {
      ++count;
    }
    if (starts_with(env, key)) {
      ++count;
    }
    EXPECT_EQ(count, 1u) << key;
  }
}

TEST_F(JobEnvironment, VariablesPgRunSetsCannotBeGivenByTheUser)
{
  for (const char* key : {"PG_RUN_ID", "PG_NAME", "NOTIFY_SOCKET", "WATCHDOG_USEC"}) {
    Result r = run(job("reserved", {"--env", std::string(key) + "=x"}, {"--sleep", "1h"}));
    EXPECT_EQ(r.status, 2) << key;
    EXPECT_TRUE(contains(r.err, std::string(key) + " is set by pg-run for the job itself"))
        << r.err;
  }
  write_text(path("bad.env"), "OK=1\nPG_RUN_ID=forged\n");
  Result r = run(job("reserved", {"--env-file", path("bad.env")}, {"--sleep", "1h"}));
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "PG_RUN_ID is set by pg-run for the job itself")) << r.err;
  EXPECT_FALSE(try_state("reserved").has_value());
}

// pg-ctl start reads the job's --env-file again (pg-run --relaunch): a variable that pg-run sets
// is refused there as at the first launch, and the job stays stopped.
TEST_F(JobEnvironment, AnEnvFileIsCheckedAgainWhenTheJobIsStartedAgain)
{
  write_text(path("job.env"), "OK=1\n");
  ASSERT_EQ(run(job("again", {"--env-file", path("job.env")}, {"--sleep", "1h"})).status, 0);
  wait_running("again");
  ASSERT_EQ(pg_ctl({"stop", "again"}).status, 0);
  write_text(path("job.env"), "OK=1\nPG_RUN_ID=forged\n");
  Result r = pg_ctl({"start", "again"});
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.err, "PG_RUN_ID is set by pg-run for the job itself")) << r.err;
  EXPECT_EQ(state("again")["state"], "stopped");
}

TEST_F(JobEnvironment, InvalidUtf8ArgvIsStoredWithReplacementCharacters)
{
  launch("bytes", {}, {"--sleep", "1h", "--", "caf\xe9", "ok"});
  Json def = state("bytes")["definition"];
  ASSERT_EQ(def["command"].size(), 6u);
  EXPECT_EQ(def["command"][4], "caf\xef\xbf\xbd");
  EXPECT_EQ(def["command"][5], "ok");
  auto starts = events("bytes", "start");
  ASSERT_EQ(starts.size(), 1u);
}

TEST_F(JobEnvironment, DefinitionRecordsTheResolvedCommand)
{
  launch("def", {}, {"--sleep", "1h"});
  Json def = state("def")["definition"];
  EXPECT_EQ(def["command"], (Json{k_fake, "--sleep", "1h"}));
  EXPECT_EQ(def["resolved"], k_fake);
  EXPECT_FALSE(contains(def.dump(), "PG_E2E_MARK")) << "no ambient environment is recorded";
}

TEST_F(Log, FileIsAppendedNeverTruncated)
{
  const std::string log = path("job.log");
  write_text(log, "from before\n");
  launch("logger", {"--oneshot", "--log", log}, {"--print", "first run", "--stderr", "to stderr"});
  wait_end("logger");
  launch("logger", {"--oneshot", "--log", log}, {"--print", "second run"});
  wait_end("logger");
  const std::string text = read_text(log);
  EXPECT_EQ(job_lines(text), "from before\nfirst run\nto stderr\nsecond run\n");
  // The supervisor's marked lines tell each run's start and exact end.
  EXPECT_TRUE(contains(text, "] start: run 1, pid ")) << text;
  EXPECT_TRUE(contains(text, "exit code 0 after ")) << text;
  EXPECT_FALSE(fs::exists(state_dir() + "/logger/output.log"));
  EXPECT_EQ(state("logger")["definition"]["log"], log);
}

TEST_F(Log, DefaultLogLivesInTheJobsDirectory)
{
  launch("chatty", {"--oneshot"}, {"--print", "hello", "--stderr", "oops"});
  wait_end("chatty");
  EXPECT_EQ(job_lines(read_text(state_dir() + "/chatty/output.log")), "hello\noops\n");
}

TEST_F(StateDirectory, OptionAndEnvironmentAreBothHonoured)
{
  const std::string from_env = path("from-env");
  const std::string from_opt = path("from-opt");
  remember_state_dir(from_env);
  remember_state_dir(from_opt);
  StartOptions o;
  o.env = {{"PG_STATE_DIR", from_env}};
  Result r = run({k_pg_run, "-n", "e", k_fake, "--sleep", "1h"}, o);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(from_env + "/e/state.json"));
  EXPECT_TRUE(contains(r.out, from_env + "/e/output.log")) << r.out;
  // --state-dir wins over PG_STATE_DIR.
  Result both = run({k_pg_run, "--state-dir", from_opt, "-n", "o", k_fake, "--sleep", "1h"}, o);
  ASSERT_EQ(both.status, 0) << both.err;
  EXPECT_TRUE(fs::exists(from_opt + "/o/state.json"));
  EXPECT_FALSE(fs::exists(from_env + "/o"));
  // Without either, the state goes under $HOME (the test's own).
  remember_state_dir(path("home/.local/state/pg"));
  Result home = run({k_pg_run, "-n", "h", k_fake, "--sleep", "1h"});
  ASSERT_EQ(home.status, 0) << home.err;
  EXPECT_TRUE(fs::exists(path("home/.local/state/pg/h/state.json")));
}

TEST_F(StateDirectory, FilesArePrivateWhateverTheUmask)
{
  StartOptions o;
  o.umask = 0;
  launch("private", {}, {"--print", "x", "--sleep", "1h"}, o);
  wait_running("private");
  ASSERT_TRUE(wait_until([&] { return fs::exists(state_dir() + "/private/output.log"); },
                         "the log exists"));
  EXPECT_EQ(mode_of(state_dir()) & 077, 0u);
  EXPECT_EQ(mode_of(state_dir() + "/private"), 0700u);
  for (const char* f : {"state.json", "events.jsonl", "lock", "output.log"}) {
    EXPECT_EQ(mode_of(state_dir() + "/private/" + f), 0600u) << f;
  }
}

} // namespace
} // namespace pg::e2e
