// Failures heard until acknowledged (DESIGN, "Day-2 operations"), on real jobs: a failure makes
// pg-ls --check exit 1 even once the job runs again, pg-ctl ack quiets it (through a live
// supervisor, or under the lock of an ended job), a new failure is heard again, a stop by
// pg-ctl is none, a new pg-run acknowledges, and a revival keeps the count plus its lost run.
#include "harness.h"

#include "clock.h"

#include <unistd.h>

#include <csignal>

namespace pg::e2e {
namespace {

class Ack : public E2e {
protected:
  // A service whose first run exits 3 and whose next runs sleep: it fails once, is restarted
  // (on-failure) and runs again. Returns once it runs again.
  Json launch_failing_once(const std::string& name)
  {
    const std::string mark = path(name + ".failed-once");
    const std::string script = "if [ ! -e '" + mark + "' ]; then : > '" + mark +
                               "'; exit 3; fi; exec '" + k_fake + "' --sleep 1h";
    Result r = run(pg_run({"-n", name, "--restart", "on-failure", "--restart-delay", "100ms",
                           "/bin/sh", "-c", script}));
    EXPECT_EQ(r.status, 0) << r.err;
    must(r.status == 0);
    return wait_state(
        name,
        [](const Json& st) {
          return st["state"] == "running" && st["restarts"] == 1 && st["pid"].is_number_integer();
        },
        name + " runs again after its failure");
  }

  // RFC 3339 times of state.json compared as times.
  static WallTime time_of(const Json& v) { return parse_rfc3339(v.get<std::string>()).value(); }
};

TEST_F(Ack, AFailedAndRestartedJobIsHeardUntilAcknowledgedAndAgainAfterANewFailure)
{
  const Json st = launch_failing_once("bot");
  EXPECT_EQ(st["failures_since_ack"], 1) << st.dump();
  ASSERT_TRUE(st["last_ack_at"].is_string()) << "the launch acknowledged what came before";

  Result check = pg_ls({"--check"});
  EXPECT_EQ(check.status, 1) << check.err;
  EXPECT_TRUE(starts_with(check.out, "bot: 1 failure since ")) << check.out;
  EXPECT_TRUE(contains(check.out, " (last: exit code 3 after ")) << check.out;
  EXPECT_TRUE(contains(check.out, "); running again\n")) << check.out;

  Result ack = pg_ctl({"ack", "bot"});
  EXPECT_EQ(ack.status, 0) << ack.err;
  EXPECT_EQ(ack.out, "bot: acknowledged 1 failure (running)\n");
  const Json acked = state("bot");
  EXPECT_EQ(acked["failures_since_ack"], 0);
  EXPECT_GT(time_of(acked["last_ack_at"]), time_of(st["last_ack_at"]));
  EXPECT_TRUE(lock_held("bot")) << "the supervisor recorded it and runs on";
  const auto acks = events("bot", "ack");
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0]["failures"], 1);
  EXPECT_EQ(acks[0]["at"], acked["last_ack_at"]);
  EXPECT_TRUE(contains(acks[0].value("by", ""), "pg-ctl")) << acks[0].dump();
  check = pg_ls({"--check"});
  EXPECT_EQ(check.status, 0) << check.out << check.err;
  EXPECT_EQ(check.out, "");

  // Something new: a signal nobody asked pg-run for ends the run; it is restarted and heard.
  const pid_t pid = acked["pid"].get<pid_t>();
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  wait_state(
      "bot",
      [&](const Json& s) {
        return s["state"] == "running" && s["restarts"] == 2 && s["failures_since_ack"] == 1;
      },
      "bot runs again, one failure heard since the ack");
  check = pg_ls({"--check"});
  EXPECT_EQ(check.status, 1) << check.err;
  EXPECT_TRUE(contains(check.out, "bot: 1 failure since ")) << check.out;
  EXPECT_TRUE(contains(check.out, "(last: signal SIGKILL after ")) << check.out;
}

TEST_F(Ack, CheckJsonCarriesTheCountAndTheLastExit)
{
  launch_failing_once("bot");
  launch("web", {}, {"--sleep", "1h"});
  wait_running("web");
  Result r = pg_ls({"--check", "--json"});
  EXPECT_EQ(r.status, 1) << r.err;
  const Json all = Json::parse(r.out, nullptr, false);
  ASSERT_TRUE(all.is_array()) << r.out;
  ASSERT_EQ(all.size(), 1u) << "only the jobs with a problem: " << r.out;
  const Json& j = all[0];
  EXPECT_EQ(j["name"], "bot");
  EXPECT_EQ(j["state"], "running");
  EXPECT_EQ(j["failures_since_ack"], 1);
  EXPECT_TRUE(starts_with(j.value("problem", ""), "bot: 1 failure since ")) << j.dump();
  EXPECT_EQ(j["last_exit"]["code"], 3);
  EXPECT_EQ(j["last_exit"]["outcome"], "failed");
  EXPECT_TRUE(j["last_ack_at"].is_string()) << j.dump();

  ASSERT_EQ(pg_ctl({"ack", "bot"}).status, 0);
  r = pg_ls({"--check", "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out, nullptr, false), Json::array()) << r.out;
  // The plain listing carries the count too.
  const Json listed = Json::parse(pg_ls({"--json", "bot"}).out, nullptr, false);
  ASSERT_TRUE(listed.is_array() && listed.size() == 1) << listed.dump();
  EXPECT_EQ(listed[0]["failures_since_ack"], 0);
}

TEST_F(Ack, AnEndedFailedJobAckedUnderItsLockIsQuietAndStaysFailed)
{
  launch("broken", {"--restart", "never"}, {"--exit", "2"});
  const Json ended = wait_end("broken");
  ASSERT_EQ(ended["state"], "failed");
  EXPECT_EQ(ended["failures_since_ack"], 1);
  Result check = pg_ls({"--check"});
  EXPECT_EQ(check.status, 1);
  EXPECT_TRUE(contains(check.out, "broken: 1 failure since ")) << check.out;
  EXPECT_TRUE(contains(check.out, "; failed: exit code 2 at ")) << check.out;

  Result ack = pg_ctl({"ack", "--json", "broken"});
  EXPECT_EQ(ack.status, 0) << ack.err;
  const Json out = Json::parse(ack.out, nullptr, false);
  ASSERT_TRUE(out.is_array() && out.size() == 1) << ack.out;
  EXPECT_EQ(out[0]["ok"], true);
  EXPECT_EQ(out[0]["action"], "ack");
  EXPECT_EQ(out[0]["state"], "failed");
  EXPECT_EQ(out[0]["failures_acknowledged"], 1);
  EXPECT_FALSE(lock_held("broken")) << "pg-ctl let go of the lock";

  const Json acked = state("broken");
  EXPECT_EQ(acked["state"], "failed") << "it stays failed in the listing";
  EXPECT_EQ(acked["failures_since_ack"], 0);
  EXPECT_EQ(acked["updated_at"], ended["updated_at"]) << "the supervisor's last write is kept";
  EXPECT_GT(time_of(acked["last_ack_at"]), time_of(acked["updated_at"]));
  EXPECT_EQ(acked["last_exit"], ended["last_exit"]);
  EXPECT_EQ(events("broken", "exit").size(), 1u) << "history is never rewritten";
  ASSERT_EQ(events("broken", "ack").size(), 1u);
  EXPECT_EQ(events("broken", "ack")[0]["failures"], 1);

  check = pg_ls({"--check"});
  EXPECT_EQ(check.status, 0) << check.out;
  EXPECT_EQ(check.out, "");
  Result table = pg_ls({});
  EXPECT_TRUE(contains(table.out, "failed")) << table.out;
  Result detail = pg_ls({"broken"});
  EXPECT_TRUE(contains(detail.out, "Failures: none since the last ack, ")) << detail.out;
  EXPECT_TRUE(contains(detail.out, "the state shown was acknowledged")) << detail.out;
}

TEST_F(Ack, AStopByPgCtlIsNoFailureAStopFromOutsideIsOne)
{
  launch("halted", {}, {"--sleep", "1h"});
  wait_running("halted");
  ASSERT_EQ(pg_ctl({"stop", "halted"}).status, 0);
  EXPECT_EQ(wait_end("halted")["failures_since_ack"], 0);
  Result check = pg_ls({"--check"});
  EXPECT_EQ(check.status, 0) << check.out;

  launch("victim", {}, {"--sleep", "1h"});
  wait_running("victim");
  ASSERT_EQ(::kill(supervisor_pid("victim"), SIGTERM), 0);
  EXPECT_EQ(wait_end("victim")["failures_since_ack"], 1);
  check = pg_ls({"--check"});
  EXPECT_EQ(check.status, 1);
  EXPECT_TRUE(contains(check.out, "victim: 1 failure since ")) << check.out;
  EXPECT_TRUE(contains(check.out, "(last: outside-signal signal SIGTERM after ")) << check.out;
  EXPECT_FALSE(contains(check.out, "halted")) << check.out;
  ASSERT_EQ(pg_ctl({"ack", "victim"}).status, 0);
  EXPECT_EQ(pg_ls({"--check"}).status, 0);
}

TEST_F(Ack, ANewPgRunOfTheJobAcknowledges)
{
  launch("broken", {"--restart", "never"}, {"--exit", "2"});
  const Json ended = wait_end("broken");
  ASSERT_EQ(ended["failures_since_ack"], 1);
  ASSERT_EQ(pg_ls({"--check"}).status, 1);

  launch("broken", {}, {"--sleep", "1h"});
  const Json st = wait_running("broken");
  EXPECT_EQ(st["failures_since_ack"], 0);
  EXPECT_GT(time_of(st["last_ack_at"]), time_of(ended["last_ack_at"]));
  EXPECT_LE(time_of(st["last_ack_at"]), time_of(st["started_at"]));
  Result check = pg_ls({"--check"});
  EXPECT_EQ(check.status, 0) << check.out;
}

TEST_F(Ack, ARevivedLostJobKeepsItsCountAndItsLostRunIsOneMore)
{
  const Json before = launch_failing_once("bot");
  ASSERT_EQ(before["failures_since_ack"], 1);
  make_lost("bot");
  Result r = pg_ctl({"revive", "bot"});
  ASSERT_EQ(r.status, 0) << r.err;
  const Json st = wait_running("bot", before["pid"].get<pid_t>());
  EXPECT_EQ(st["failures_since_ack"], 2) << st.dump();
  EXPECT_EQ(st["last_ack_at"], before["last_ack_at"]) << "a revival acknowledges nothing";
  EXPECT_TRUE(starts_with(st["last_exit"].value("cause", ""), "lost: ")) << st.dump();
  Result check = pg_ls({"--check"});
  EXPECT_EQ(check.status, 1);
  EXPECT_TRUE(contains(check.out, "bot: 2 failures since ")) << check.out;
  EXPECT_TRUE(contains(check.out, "(last: lost (no exit status known) after ")) << check.out;
  ASSERT_EQ(pg_ctl({"ack", "bot"}).status, 0);
  EXPECT_EQ(pg_ls({"--check"}).status, 0);
}

TEST_F(Ack, ALostJobAckedBeforeItsRevivalIsQuietAndItsLostRunIsNotHeardAgain)
{
  launch("orphan", {}, {"--sleep", "1h"});
  const Json before = wait_running("orphan");
  make_lost("orphan");
  Result check = pg_ls({"--check"});
  EXPECT_EQ(check.status, 1);
  EXPECT_TRUE(contains(check.out, "orphan: lost: ")) << check.out;

  Result ack = pg_ctl({"ack", "orphan"});
  EXPECT_EQ(ack.status, 0) << ack.err;
  EXPECT_EQ(ack.out, "orphan: acknowledged no failures (lost)\n");
  EXPECT_TRUE(lost("orphan")) << "still lost in the listing";
  check = pg_ls({"--check"});
  EXPECT_EQ(check.status, 0) << check.out;

  ASSERT_EQ(pg_ctl({"revive", "orphan"}).status, 0);
  const Json st = wait_running("orphan", before["pid"].get<pid_t>());
  EXPECT_EQ(st["failures_since_ack"], 0) << st.dump();
  EXPECT_EQ(pg_ls({"--check"}).status, 0);
}

TEST_F(Ack, UnknownJobsAndMissingNamesAreErrors)
{
  Result r = pg_ctl({"ack", "nosuch"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "pg-ctl: nosuch: no such job")) << r.err;
  r = pg_ctl({"ack"});
  EXPECT_EQ(r.status, 2) << r.err;
}

} // namespace
} // namespace pg::e2e
