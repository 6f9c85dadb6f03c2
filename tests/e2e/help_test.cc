// --help of pg-run, pg-ls and pg-ctl (and of each pg-ctl verb): every option's value named by
// its kind (DURATION, SIZE, SIG, CMD, PCT, N, FILE, DIR), never CLI11's TEXT; pg-run's usage
// line shows the command after the options; the state directory's default names
// $XDG_STATE_HOME as the man pages do.
#include "harness.h"

#include <sstream>

namespace pg::e2e {
namespace {

const std::string k_pg_ctl = PG_CTL_BIN;

class Help : public E2e {
protected:
  // The help text of argv (printed on stdout, exit 0).
  std::string help(const Args& argv)
  {
    Result r = run(argv);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err, "");
    return r.out;
  }
  // The line of text that starts with "Usage:".
  static std::string usage_line(const std::string& text)
  {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (starts_with(line, "Usage:")) {
        return line;
      }
    }
    return "";
  }
};

TEST_F(Help, PgRunNamesEveryValueByItsKind)
{
  const std::string text = help({k_pg_run, "--help"});
  EXPECT_FALSE(contains(text, "TEXT")) << text;
  for (const char* option : {"--stop-timeout DURATION", "--duration DURATION", "--memory-cap SIZE",
                             "--log-max-size SIZE", "--stop-signal SIG", "--on-failure CMD",
                             "--cpu-quota PCT", "--tasks-cap N", "--max-restarts N",
                             "--env-file FILE", "--log FILE", "--cwd DIR", "--state-dir DIR"}) {
    EXPECT_TRUE(contains(text, option)) << option << " in\n" << text;
  }
  // pg-ctl's own (start, revive, up): not the user's to give.
  for (const char* hidden : {"--relaunch", "--revive", "--update-env", "--jobs-file"}) {
    EXPECT_FALSE(contains(text, hidden)) << hidden << " in\n" << text;
  }
  EXPECT_FALSE(contains(text, "\n\n\n")) << "their group leaves no blank line behind:\n" << text;
}

TEST_F(Help, PgRunUsageLineShowsTheCommandAfterTheOptions)
{
  const std::string line = usage_line(help({k_pg_run, "--help"}));
  EXPECT_TRUE(starts_with(line, "Usage: pg-run [OPTIONS]")) << line;
  EXPECT_TRUE(line.ends_with(" [--] COMMAND [ARG...]")) << line;
}

TEST_F(Help, PgLsNamesEveryValueByItsKind)
{
  const std::string text = help({k_pg_ls, "--help"});
  EXPECT_FALSE(contains(text, "TEXT")) << text;
  EXPECT_TRUE(contains(text, "--since DURATION")) << text;
  EXPECT_TRUE(contains(text, "--state-dir DIR")) << text;
}

TEST_F(Help, PgCtlAndEachVerbNameEveryValueByItsKind)
{
  const std::string text = help({k_pg_ctl, "--help"});
  EXPECT_FALSE(contains(text, "TEXT")) << text;
  EXPECT_TRUE(contains(text, "--state-dir DIR")) << text;
  for (const char* verb : {"stop", "restart", "start", "signal", "ack", "logs", "forget", "revive",
                           "unit", "show", "up", "down"}) {
    const std::string verb_text = help({k_pg_ctl, verb, "--help"});
    EXPECT_TRUE(contains(verb_text, std::string("Usage: pg-ctl ") + verb)) << verb_text;
    EXPECT_FALSE(contains(verb_text, "TEXT")) << verb << ":\n" << verb_text;
  }
  EXPECT_TRUE(contains(help({k_pg_ctl, "stop", "--help"}), "--timeout DURATION"));
  EXPECT_TRUE(contains(help({k_pg_ctl, "start", "--help"}), "--wait DURATION"));
  EXPECT_TRUE(contains(help({k_pg_ctl, "logs", "--help"}), "--lines N"));
  EXPECT_TRUE(contains(help({k_pg_ctl, "up", "--help"}), "--file FILE"));
}

TEST_F(Help, EveryProgramNamesXdgStateHomeForTheStateDirectory)
{
  for (const std::string& bin : {k_pg_run, k_pg_ls, k_pg_ctl}) {
    const std::string text = help({bin, "--help"});
    EXPECT_TRUE(contains(text, "$XDG_STATE_HOME/pg")) << bin << ":\n" << text;
    EXPECT_TRUE(contains(text, "$PG_STATE_DIR")) << bin << ":\n" << text;
  }
}

} // namespace
} // namespace pg::e2e
