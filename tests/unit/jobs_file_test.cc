// The pure parts of a jobs file: a table as pg-run's arguments, Procfile lines, definitions
// compared in the file's words.
#include "failure.h"
#include "jobs_file.h"
#include "run_args.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace pg {
namespace {

using Args = std::vector<std::string>;

TEST(JobsFileToml, ATableIsPgRunsArguments)
{
  const Args args = toml_job_args("[jobs.bot]\n"
                                  "command = [\"python3\", \"-u\", \"bot.py\"]\n"
                                  "cwd = \"bots\"\n"
                                  "duration = \"8h\"\n"
                                  "notify = true\n"
                                  "log_timestamps = false\n"
                                  "max_restarts = 3\n"
                                  "env = { BOT_MODE = \"paper\" }\n"
                                  "env_file = \"/etc/bot.env\"\n",
                                  "bot", "/p");
  EXPECT_EQ(args, (Args{"--name=bot", "--cwd=/p/bots", "--duration=8h", "--env=BOT_MODE=paper",
                        "--env-file=/etc/bot.env", "--max-restarts=3", "--notify", "--", "python3",
                        "-u", "bot.py"}));
}

TEST(JobsFileToml, AStringCommandRunsThroughTheShellInTheFilesFolder)
{
  EXPECT_EQ(toml_job_args("[jobs.web]\ncommand = \"gunicorn app:app\"\n", "web", "/p"),
            (Args{"--name=web", "--cwd=/p", "--", "/bin/sh", "-c", "gunicorn app:app"}));
}

void expect_refused(const std::string& text, const std::string& message)
{
  try {
    toml_job_args(text, "bot", "/p");
    ADD_FAILURE() << "accepted: " << text;
  } catch (const Failure& f) {
    EXPECT_EQ(f.status(), 2);
    EXPECT_EQ(std::string(f.what()), message);
  }
}

TEST(JobsFileToml, WhatIsNotAJobsKeyIsRefusedWithItsLine)
{
  expect_refused("[jobs.bot]\ncommand = \"x\"\ndurration = \"1h\"\n",
                 "pg.toml:3: jobs.bot.durration: unknown key");
  expect_refused("[jobs.bot]\ncommand = \"x\"\nreplace = true\n",
                 "pg.toml:3: jobs.bot.replace: not a key of a jobs file (it is about one launch)");
  // pg-ctl's own options to pg-run are no keys of a jobs file.
  expect_refused("[jobs.bot]\ncommand = \"x\"\nrelaunch = true\n",
                 "pg.toml:3: jobs.bot.relaunch: unknown key");
  expect_refused("[jobs.bot]\ncommand = \"x\"\njobs_file = \"/p/other.toml\"\n",
                 "pg.toml:3: jobs.bot.jobs_file: unknown key");
  expect_refused("[jobs.bot]\ncommand = \"x\"\nnotify = 1\n",
                 "pg.toml:3: jobs.bot.notify: must be true or false");
  expect_refused("[jobs.bot]\ncwd = \"x\"\n", "pg.toml:1: jobs.bot: no command");
  expect_refused("[bot]\ncommand = \"x\"\n",
                 "pg.toml:1: bot: unknown key (a jobs file holds [jobs.NAME] tables)");
}

// "\u0000" is valid TOML, but an argument cannot hold a NUL byte: passed on, the log path here
// would end at "/p/a" and name another file.
TEST(JobsFileToml, ANulByteIsRefusedWhereItIs)
{
  expect_refused("[jobs.bot]\ncommand = \"x\"\nlog = \"/p/a\\u0000b\"\n",
                 "pg.toml:3: jobs.bot.log: holds a NUL byte");
  expect_refused("[jobs.bot]\ncommand = [\"sleep\", \"1\\u0000\"]\n",
                 "pg.toml:2: jobs.bot.command: holds a NUL byte");
  expect_refused("[jobs.bot]\ncommand = \"x\"\nenv = { \"A\\u0000\" = \"1\" }\n",
                 "pg.toml:3: jobs.bot.env: a key holds a NUL byte");
}

// The keys come from pg-run's own option declarations: every option that defines a job is a
// key, with its kind, and the launch options are refused as such.
TEST(JobsFileToml, EveryJobDefiningOptionOfPgRunIsAKey)
{
  const std::vector<RunOption> options = run_options();
  auto find = [&](const std::string& key) {
    for (const auto& o : options) {
      if (o.key == key) {
        return o;
      }
    }
    ADD_FAILURE() << key << " is not an option of pg-run";
    return RunOption{};
  };
  EXPECT_TRUE(find("oneshot").flag);
  EXPECT_TRUE(find("oneshot").defines_job);
  EXPECT_FALSE(find("max_restarts").flag);
  EXPECT_TRUE(find("max_restarts").defines_job);
  EXPECT_FALSE(find("limit").flag);
  EXPECT_TRUE(find("foreground").flag);
  for (const char* launch :
       {"name", "replace", "wait", "state_dir", "foreground", "quiet", "json"}) {
    EXPECT_FALSE(find(launch).defines_job) << launch;
  }
  for (const auto& o : options) {
    EXPECT_NE(o.key, "help");
    EXPECT_NE(o.key, "version");
    if (!o.defines_job) {
      expect_refused("[jobs.bot]\ncommand = \"x\"\n" + o.key + " = true\n",
                     "pg.toml:3: jobs.bot." + o.key +
                         ": not a key of a jobs file (it is about one launch)");
    } else if (o.flag) {
      std::string option = "--" + o.key;
      std::replace(option.begin(), option.end(), '_', '-');
      const Args args =
          toml_job_args("[jobs.bot]\ncommand = \"x\"\n" + o.key + " = true\n", "bot", "/p");
      EXPECT_EQ(args.at(1), option);
    } else {
      // Accepted as a key: whatever pg-run makes of the value later, it is not "unknown key".
      try {
        toml_job_args("[jobs.bot]\ncommand = \"x\"\n" + o.key + " = \"1\"\n", "bot", "/p");
      } catch (const Failure& f) {
        EXPECT_EQ(std::string(f.what()).find("unknown key"), std::string::npos) << f.what();
      }
    }
  }
}

TEST(JobsFileProcfile, LinesAreNameAndTrimmedCommand)
{
  EXPECT_FALSE(procfile_line("# web: x"));
  EXPECT_FALSE(procfile_line("   "));
  auto p = procfile_line("web:  gunicorn -b 127.0.0.1:8000 app:app  ");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "web");
  EXPECT_EQ(p->command, "gunicorn -b 127.0.0.1:8000 app:app");
}

TEST(JobsFileCompare, ChangesAreNamedInTheFilesWords)
{
  JobDefinition a;
  a.argv = {"bot"};
  a.path = "/usr/bin";
  JobDefinition b = a;
  b.path = "/bin"; // the ambient PATH is no part of what the file says
  b.umask = 077;
  b.resolved = "/bin/bot";
  EXPECT_TRUE(changed_keys(a, b).empty());
  b.argv = {"bot", "-v"};
  b.duration = Millis(1000);
  b.env = {{"A", "1"}};
  EXPECT_EQ(changed_keys(a, b), (std::vector<std::string>{"command", "env", "duration"}));
}

TEST(JobsFileShow, TheCommandLineIsQuotedAndLeavesDefaultsOut)
{
  JobDefinition d;
  d.argv = {"/bin/sh", "-c", "echo it's"};
  d.cwd = "/p";
  d.log = "/state/bot/output.log";
  d.duration = Millis(5'400'000);
  d.env = {{"MODE", "a b"}};
  EXPECT_EQ(definition_command_line("bot", d, "/state"),
            "pg-run --name bot --duration 1h30m --cwd /p --env 'MODE=a b' -- /bin/sh -c "
            "'echo it'\\''s'");
  EXPECT_EQ(definition_toml("bot", d, "/state"), "[jobs.bot]\n"
                                                 "command = \"echo it's\"\n"
                                                 "cwd = '/p'\n"
                                                 "duration = '1h30m'\n"
                                                 "env = { MODE = 'a b' }\n");
}

} // namespace
} // namespace pg
