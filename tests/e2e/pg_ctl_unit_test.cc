// pg-ctl unit on real jobs: the unit printed from a job's recorded definition, checked by
// systemd's own parser (systemd-analyze verify) when it is installed.
#include "harness.h"

#include <unistd.h>

namespace pg::e2e {
namespace {

const std::string k_pg_ctl = PG_CTL_BIN;
const std::string k_analyze = "/usr/bin/systemd-analyze";

class PgCtlUnit : public E2e {
protected:
};

TEST_F(PgCtlUnit, PrintsAUnitThatSystemdAccepts)
{
  launch("odd",
         {"--env", "GREETING=hello world 100% \"quoted\" $HOME", "--duration", "1h",
          "--restart-delay", "2s", "--stop-signal", "INT", "--max-memory", "64M"},
         {"--print", "a $word; and \\ more", "--sleep", "1h"});
  wait_running("odd");
  Result r = pg_ctl({"unit", "odd"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "ExecStart=" + k_fake + " --print \"a $$word; and \\\\ more\""))
      << r.out;
  EXPECT_TRUE(contains(r.out, "Environment=\"GREETING=hello world 100%% \\\"quoted\\\" $HOME\"\n"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "KillSignal=SIGINT\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "RuntimeMaxSec=1h\n")) << r.out;

  if (::access(k_analyze.c_str(), X_OK) != 0) {
    GTEST_SKIP() << "systemd-analyze is not installed (Debian package systemd)";
  }
  const std::string file = path("odd.service");
  write_text(file, r.out);
  Result v = run({k_analyze, "verify", "--man=no", file});
  EXPECT_EQ(v.status, 0) << v.err;
  // Every key known to this systemd, every value parsed: nothing said at all.
  EXPECT_EQ(v.err, "") << r.out;
}

TEST_F(PgCtlUnit, JsonAndErrors)
{
  launch("done", {"--oneshot"}, {"--exit", "0"});
  wait_end("done");
  Result r = pg_ctl({"unit", "done", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["name"], "done");
  EXPECT_TRUE(contains(j["unit"].get<std::string>(), "Type=oneshot\n")) << r.out;
  EXPECT_TRUE(contains(j["source"].get<std::string>(), "/done/state.json")) << r.out;

  r = pg_ctl({"unit", "nosuch"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "nosuch: no such job")) << r.err;
  EXPECT_EQ(pg_ctl({"unit"}).status, 2);
}

TEST_F(PgCtlUnit, TheShippedReviveUnitIsValid)
{
  if (::access(k_analyze.c_str(), X_OK) != 0) {
    GTEST_SKIP() << "systemd-analyze is not installed (Debian package systemd)";
  }
  // contrib/systemd/pg-revive.service.in (filled in at install), with pg-ctl where this build
  // has it.
  std::string unit =
      read_text(std::string(PG_SOURCE_DIR) + "/contrib/systemd/pg-revive.service.in");
  const std::string installed = "@PG_BINDIR@/pg-ctl";
  ASSERT_TRUE(contains(unit, "ExecStart=" + installed + " revive --scope\n")) << unit;
  unit.replace(unit.find(installed), installed.size(), k_pg_ctl);
  const std::string file = path("pg-revive.service");
  write_text(file, unit);
  Result v = run({k_analyze, "verify", "--man=no", file});
  EXPECT_EQ(v.status, 0) << v.err;
  EXPECT_EQ(v.err, "");
  // The cron line names the same command.
  EXPECT_TRUE(contains(read_text(std::string(PG_SOURCE_DIR) + "/contrib/cron/pg-revive.cron.in"),
                       "@reboot @PG_BINDIR@/pg-ctl revive"));
}

} // namespace
} // namespace pg::e2e
