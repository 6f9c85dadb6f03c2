// A jobs file on real processes: pg-ctl up starts its jobs, leaves the unchanged ones alone,
// replaces a changed one, refuses a bad file before starting anything; down stops them; show
// prints a definition back as a table and as the pg-run command line.
#include "harness.h"

#include <sys/stat.h>

namespace pg::e2e {
namespace {

class PgCtlUp : public E2e {
protected:
  std::string file() const { return path("pg.toml"); }
  // A [jobs.NAME] table running fake_job with extra lines.
  static std::string table(const std::string& name, const std::string& sleep = "1h",
                           const std::string& extra = "")
  {
    return "[jobs." + name + "]\ncommand = [\"" FAKE_JOB_BIN "\", \"--sleep\", \"" + sleep +
           "\"]\n" + extra + "\n";
  }
  Result up(const Args& more = {}) { return pg_ctl(Args{"up", "-f", file()} + more); }
  pid_t pid_of(const std::string& name) { return wait_running(name)["pid"].get<pid_t>(); }
};

TEST_F(PgCtlUp, UpStartsThenLeavesUnchangedJobsAlone)
{
  write_text(file(), table("bot") + table("worker", "2h", "duration = \"8h\""));
  Result r = up();
  ASSERT_EQ(r.status, 0) << r.err;
  const pid_t bot = pid_of("bot");
  const pid_t worker = pid_of("worker");
  EXPECT_TRUE(contains(r.out, "bot: started, pid " + std::to_string(bot))) << r.out;
  EXPECT_TRUE(contains(r.out, "worker: started, pid " + std::to_string(worker))) << r.out;
  EXPECT_EQ(state("bot")["definition"]["jobs_file"], file());
  EXPECT_EQ(state("bot")["definition"]["cwd"], tmp()) << "the file's folder by default";

  r = up();
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "bot: unchanged\nworker: unchanged\n");
  EXPECT_EQ(state("bot")["pid"], bot);
  EXPECT_EQ(state("worker")["pid"], worker);
}

TEST_F(PgCtlUp, AChangedDefinitionReplacesOnlyItsJob)
{
  write_text(file(), table("bot") + table("worker"));
  ASSERT_EQ(up().status, 0);
  const pid_t bot = pid_of("bot");
  const pid_t worker = pid_of("worker");

  write_text(file(), table("bot") + table("worker", "2h", "duration = \"8h\""));
  Result r = up();
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "bot: unchanged\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "worker: replaced (changed: command, duration), pid")) << r.out;
  EXPECT_EQ(state("bot")["pid"], bot);
  EXPECT_NE(pid_of("worker"), worker);
  EXPECT_EQ(state("worker")["definition"]["duration_s"], 8 * 3600);
}

TEST_F(PgCtlUp, DownStopsTheFilesJobsOnly)
{
  write_text(file(), table("bot") + table("worker"));
  ASSERT_EQ(up().status, 0);
  launch("byhand", {}, {"--sleep", "1h"});
  Result r = pg_ctl({"down", "-f", file()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "bot: stopped")) << r.out;
  EXPECT_TRUE(contains(r.out, "worker: stopped")) << r.out;
  EXPECT_EQ(wait_end("bot")["state"], "stopped");
  EXPECT_EQ(wait_end("worker")["state"], "stopped");
  EXPECT_EQ(state("byhand")["state"], "running");
}

TEST_F(PgCtlUp, AnUnknownKeyIsRefusedWithFileLineAndKeyAndNothingStarts)
{
  write_text(file(), table("bot") + table("worker", "1h", "durration = \"8h\""));
  Result r = pg_ctl({"up", "-f", file()});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, file() + ":6: jobs.worker.durration: unknown key")) << r.err;
  EXPECT_FALSE(try_state("bot"));
}

TEST_F(PgCtlUp, ABadValueIsRefusedWithPgRunsReason)
{
  write_text(file(), table("bot") + table("worker", "1h", "duration = \"8x\""));
  Result r = up();
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, file() + ":6: jobs.worker.duration: '8x' is not a duration"))
      << r.err;
  EXPECT_FALSE(try_state("bot"));

  write_text(file(), table("bot", "1h", "notify = \"yes\""));
  r = up();
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, file() + ":3: jobs.bot.notify: must be true or false")) << r.err;

  write_text(file(), table("bot", "1h", "wait = \"1s\""));
  r = up();
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, file() + ":3: jobs.bot.wait: not a key of a jobs file")) << r.err;

  write_text(file(), "[jobs.bot]\ncommand = [\"no-such-command-pg\"]\n");
  r = up();
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, file() + ":2: jobs.bot.command: bot: no-such-command-pg: command "
                                       "not found"))
      << r.err;
  EXPECT_FALSE(try_state("bot"));
}

TEST_F(PgCtlUp, AGroupWritableFileIsRefused)
{
  write_text(file(), table("bot"), 0664);
  ASSERT_EQ(::chmod(file().c_str(), 0664), 0);
  Result r = up();
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "refused: writable by group or others")) << r.err;
  EXPECT_FALSE(try_state("bot"));

  write_text(file(), table("bot", "1h", "env_file = \".env\""));
  write_text(path(".env"), "A=1\n", 0666);
  ASSERT_EQ(::chmod(path(".env").c_str(), 0666), 0);
  r = up();
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, path(".env") + ": refused: writable by group or others")) << r.err;
  EXPECT_FALSE(try_state("bot"));
}

TEST_F(PgCtlUp, AJobLaunchedByHandIsNotTouchedWithoutForce)
{
  launch("bot", {}, {"--sleep", "1h"});
  const pid_t bot = pid_of("bot");
  write_text(file(), table("bot"));
  Result r = up();
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "bot: running, launched by hand: left alone (--force replaces it)"))
      << r.err;
  EXPECT_EQ(state("bot")["pid"], bot);

  r = up({"--force"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "bot: replaced (changed: file")) << r.out;
  EXPECT_NE(pid_of("bot"), bot);
  EXPECT_EQ(state("bot")["definition"]["jobs_file"], file());
}

TEST_F(PgCtlUp, JobsThatLeftTheFileRunUntilPrune)
{
  write_text(file(), table("bot") + table("worker"));
  ASSERT_EQ(up().status, 0);
  const pid_t worker = pid_of("worker");
  write_text(file(), table("bot"));
  Result r = up();
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "bot: unchanged\nworker: not in the file, left running\n");
  EXPECT_EQ(state("worker")["pid"], worker);

  r = up({"--prune"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "worker: stopped")) << r.out;
  EXPECT_EQ(wait_end("worker")["state"], "stopped");
}

TEST_F(PgCtlUp, AProcfileIsBroughtUpWithItsEnvFile)
{
  write_text(path("Procfile"),
             "# the project\nweb: exec " FAKE_JOB_BIN
             " --sleep 1h --report $REPORT\n\nworker:  exec " FAKE_JOB_BIN " --sleep 1h\n");
  write_text(path(".env"), "REPORT=" + path("web.report") + "\n", 0600);
  StartOptions so;
  so.cwd = tmp();
  Result r = run(ctl({"up"}), so);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "web: started, pid")) << r.out;
  EXPECT_TRUE(contains(r.out, "worker: started, pid")) << r.out;
  wait_running("worker");
  const Json web = state("web");
  EXPECT_EQ(web["definition"]["command"][0], "/bin/sh");
  EXPECT_EQ(web["definition"]["env_file"], path(".env"));
  EXPECT_EQ(web["definition"]["jobs_file"], path("Procfile"));
  wait_report(path("web.report"));
  r = run(ctl({"up"}), so);
  EXPECT_EQ(r.out, "web: unchanged\nworker: unchanged\n") << r.err;
}

TEST_F(PgCtlUp, ShowRoundTrips)
{
  write_text(file(), table("bot", "1h",
                           "duration = \"1h30m\"\nrestart = \"always\"\nenv = { MODE = \"it's "
                           "paper\" }\nstop_signal = \"INT\"\nlog_timestamps = true"));
  ASSERT_EQ(up().status, 0);
  const Json first = wait_running("bot");

  Result shown = pg_ctl({"show", "bot", "--as", "toml"});
  ASSERT_EQ(shown.status, 0) << shown.err;
  write_text(file(), shown.out);
  Result r = up();
  EXPECT_EQ(r.out, "bot: unchanged\n") << shown.out << r.err;

  shown = pg_ctl({"show", "bot", "--as", "pg-run"});
  ASSERT_EQ(shown.status, 0) << shown.err;
  ASSERT_TRUE(starts_with(shown.out, "pg-run --name bot ")) << shown.out;
  ASSERT_EQ(pg_ctl({"stop", "bot"}).status, 0);
  wait_end("bot");
  const std::string again = "exec " PG_RUN_BIN " --state-dir " + state_dir() + " --replace" +
                            shown.out.substr(std::string("pg-run").size());
  r = run({"/bin/sh", "-c", again});
  ASSERT_EQ(r.status, 0) << again << r.err;
  Json second = wait_running("bot");
  second["definition"]["jobs_file"] = first["definition"]["jobs_file"];
  EXPECT_EQ(second["definition"], first["definition"]) << shown.out;

  EXPECT_EQ(pg_ctl({"show", "bot", "--as", "unit"}).out, pg_ctl({"unit", "bot"}).out);
}

} // namespace
} // namespace pg::e2e
