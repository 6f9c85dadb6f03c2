#include "ctl_unit.h"

#include <gtest/gtest.h>

namespace pg {
namespace {

TEST(CtlUnit, ExecWordsAreQuotedOnlyWhenNeededAndLiteral)
{
  EXPECT_EQ(systemd_exec_word("/usr/bin/python3"), "/usr/bin/python3");
  EXPECT_EQ(systemd_exec_word("-u"), "-u");
  EXPECT_EQ(systemd_exec_word(""), "\"\"");
  EXPECT_EQ(systemd_exec_word("two words"), "\"two words\"");
  EXPECT_EQ(systemd_exec_word("$HOME"), "$$HOME");
  EXPECT_EQ(systemd_exec_word("100%"), "100%%");
  EXPECT_EQ(systemd_exec_word("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(systemd_exec_word("a\\b"), "\"a\\\\b\"");
  EXPECT_EQ(systemd_exec_word("it's"), "\"it's\"");
  EXPECT_EQ(systemd_exec_word("line\nbreak"), "\"line\\nbreak\"");
  EXPECT_EQ(systemd_exec_word(";"), "\";\"");
}

TEST(CtlUnit, EnvironmentAssignmentsAreQuotedWithSpecifiersLiteral)
{
  EXPECT_EQ(systemd_env_assignment("A", "x y %h \"q\""), "\"A=x y %%h \\\"q\\\"\"");
  // Environment= does not expand variables: $ stays as it is.
  EXPECT_EQ(systemd_env_assignment("B", "$HOME"), "\"B=$HOME\"");
}

JobState job()
{
  JobState st;
  st.name = "bot";
  JobDefinition& d = st.definition;
  d.argv = {"python3", "-u", "bot.py"};
  d.resolved = "/usr/bin/python3";
  d.cwd = "/home/u/bot";
  d.path = "/usr/bin:/bin";
  d.log = "/home/u/.local/state/pg/bot/output.log";
  return st;
}

TEST(CtlUnit, ServiceUnitCarriesTheDefinition)
{
  JobState st = job();
  st.definition.duration = Millis(8 * 3600 * 1000);
  st.definition.env = {{"MODE", "paper"}};
  st.definition.stop_signal = 2;
  std::string u = systemd_unit(st, "/s/bot/state.json");
  for (const char* line :
       {"[Unit]\n", "Description=pg job bot: python3 -u bot.py\n", "StartLimitIntervalSec=1h\n",
        "StartLimitBurst=6\n", "[Service]\n", "Type=exec\n",
        "ExecStart=/usr/bin/python3 -u bot.py\n", "WorkingDirectory=/home/u/bot\n", "UMask=0022\n",
        "Environment=\"PATH=/usr/bin:/bin\"\n", "Environment=\"MODE=paper\"\n",
        "StandardOutput=append:/home/u/.local/state/pg/bot/output.log\n", "Restart=on-failure\n",
        "RestartSec=1s\n", "KillSignal=SIGINT\n", "TimeoutStopSec=10s\n", "RuntimeMaxSec=8h\n",
        "[Install]\nWantedBy=default.target\n"}) {
    EXPECT_NE(u.find(line), std::string::npos) << line << u;
  }
  EXPECT_NE(u.find("# pg counts a service's exit 0"), std::string::npos) << u;
}

TEST(CtlUnit, TasksNotifyAndLimitsMapOrAreSaidInComments)
{
  JobState st = job();
  st.definition.oneshot = true;
  st.definition.restart = RestartPolicy::Never;
  st.definition.duration = Millis(600'000);
  std::string u = systemd_unit(st, "x");
  EXPECT_NE(u.find("Type=oneshot\n"), std::string::npos) << u;
  EXPECT_NE(u.find("Restart=no\n"), std::string::npos) << u;
  EXPECT_NE(u.find("TimeoutStartSec=10m\n"), std::string::npos) << u;
  EXPECT_EQ(u.find("StartLimitBurst"), std::string::npos) << u;
  EXPECT_EQ(u.find("RuntimeMaxSec"), std::string::npos) << u;

  st = job();
  st.definition.notify = true;
  st.definition.watchdog = Millis(30'000);
  st.definition.max_memory = 256 * 1024 * 1024;
  st.definition.stall = Millis(300'000);
  st.definition.restart_every = Millis(6 * 3600 * 1000);
  st.definition.max_restarts = std::nullopt;
  st.definition.on_failure = "notify-send x";
  u = systemd_unit(st, "x");
  for (const char* line :
       {"Type=notify\nNotifyAccess=all\n", "WatchdogSec=30s\n", "MemoryMax=268435456\n",
        "# --stall 5m", "# --restart-every 6h", "# --on-failure", "StartLimitIntervalSec=0\n"}) {
    EXPECT_NE(u.find(line), std::string::npos) << line << u;
  }
}

} // namespace
} // namespace pg
