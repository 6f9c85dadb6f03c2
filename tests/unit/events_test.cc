#include "events.h"

#include <gtest/gtest.h>

#include <csignal>

namespace pg {
namespace {

using nlohmann::json;

ExitRecord record(std::optional<ExitStatus> status)
{
  ExitRecord r;
  r.pid = 42;
  r.status = status;
  r.runtime_s = 1.5;
  r.outcome = Outcome::Failed;
  r.cause = "exit: code 3";
  return r;
}

TEST(Events, EachKindWritesItsNameAndFields)
{
  json j = ev::Start{9, "abc", 3, {"bot", "--live"}};
  EXPECT_EQ(j["event"], "start");
  EXPECT_EQ(j["pid"], 9);
  EXPECT_EQ(j["run_id"], "abc");
  EXPECT_EQ(j["run"], 3);
  EXPECT_EQ(j["command"], (json{"bot", "--live"}));
  j = ev::Exit{record(ExitStatus::exited(3))};
  EXPECT_EQ(j["event"], "exit");
  EXPECT_EQ(j["code"], 3);
  EXPECT_TRUE(j["signal"].is_null());
  j = ev::Hung{"stall", 7, "no output for 1m: SIGABRT to pid 7", ""};
  EXPECT_EQ(j["event"], "stall");
  EXPECT_FALSE(j.contains("status_text"));
  j = ev::NotifyIgnored{"not in the job's tree", std::nullopt, std::nullopt};
  EXPECT_FALSE(j.contains("pid"));
}

TEST(Events, OneFormatterOfAnExitForRecordsAndEvents)
{
  const ExitRecord code = record(ExitStatus::exited(3));
  const ExitRecord core = record(ExitStatus::killed(SIGSEGV, true));
  const ExitRecord lost = record(std::nullopt);
  EXPECT_EQ(exit_text(code), "exit code 3");
  EXPECT_EQ(exit_text(core), "signal SIGSEGV (core dumped)");
  EXPECT_EQ(exit_text(lost), "no exit status known");
  for (const ExitRecord& r : {code, core, lost}) {
    EXPECT_EQ(exit_text(json(ev::Exit{r})), exit_text(r));
  }
}

TEST(Events, TheLogAndTheHistoryTellAnEventAlike)
{
  const json start = ev::Start{9, "abc", 3, {"bot"}};
  EXPECT_EQ(describe(start), "run 3, pid 9");
  EXPECT_EQ(log_line(start), "start: run 3, pid 9");
  ExitRecord r = record(ExitStatus::exited(3));
  r.max_rss_kb = 2048;
  r.user_cpu_s = 0.5;
  r.sys_cpu_s = 0.25;
  EXPECT_EQ(describe(json(ev::Exit{r})), "pid 42, exit code 3 after 1.500s: failed (exit: code "
                                         "3); max RSS 2.0 MiB, CPU 0.50s user + 0.25s sys");
  EXPECT_EQ(log_line(json(ev::End{"failed", "exit: code 3", {}})),
            "end: the job is failed: exit: code 3");
  EXPECT_EQ(describe(json(ev::End{"failed", "exit: code 3", {}})), "failed: exit: code 3");
  EXPECT_EQ(log_line(json(ev::Alert{"failed", 1, 0, "bot failed"})),
            "alert (failed): running the --on-failure hook: bot failed");
  EXPECT_EQ(log_line(json(ev::AlertHeld{"failed", 2, 60})),
            "alert (failed) held back by the --alert-cooldown (2 held)");
  EXPECT_EQ(log_line(json(ev::Notified{"ready", 9, "READY=1 from pid 9"})),
            "ready: READY=1 from pid 9");
  EXPECT_EQ(log_line(json(ev::StorageFault{"No space left on device", "write"})),
            "storage: cannot write to the job's directory (No space left on device): recording "
            "suspended, events held in memory; the job goes on");
  EXPECT_EQ(log_line(json(ev::SupervisorError{"epoll_wait: Bad file descriptor"})),
            "supervisor-error: pg-run cannot go on supervising (epoll_wait: Bad file "
            "descriptor): it exits, and the job is left running without a supervisor");
  // Events the log need not tell.
  EXPECT_EQ(log_line(json(ev::Launch{1, 2, "bash", "/", {"bot"}, false})), "");
  EXPECT_EQ(log_line(json(ev::GaveUp{"x"})), "");
  EXPECT_EQ(log_line(json{{"event", "future"}, {"n", 1}}), "");
}

TEST(Events, DescribeNeverThrowsOnDamagedEvents)
{
  for (const json& odd : {json::object(), json{{"event", 3}}, json{{"event", "exit"}, {"pid", {}}},
                          json{{"event", "restart"}, {"delay_s", "soon"}},
                          json{{"event", "launch"}, {"revived", "yes"}}}) {
    EXPECT_NO_THROW((void)describe(odd)) << odd.dump();
    EXPECT_NO_THROW((void)log_line(odd)) << odd.dump();
  }
  EXPECT_EQ(describe(json{{"event", "exit"}}), "pid , no exit status known after 0.000s:  ()");
}

TEST(Events, AnAlertResultSaysWhatRanOnlyWhenAHookRan)
{
  ev::AlertResult bad;
  bad.error = "bad request";
  json j = bad;
  EXPECT_EQ(j, (json{{"event", "alert-result"}, {"ok", false}, {"error", "bad request"}}));
  ev::AlertResult ran;
  ran.seq = 4;
  ran.alert = "failed";
  ran.ok = true;
  ran.pid = 77;
  ran.status = ExitStatus::exited(0);
  ran.duration_s = 0.25;
  ran.output = "sent";
  j = ran;
  EXPECT_EQ(j["code"], 0);
  EXPECT_TRUE(j["signal"].is_null());
  EXPECT_EQ(j["seq"], 4);
  EXPECT_FALSE(j.contains("error"));
  ran.status = ExitStatus::killed(SIGKILL);
  j = ran;
  EXPECT_TRUE(j["code"].is_null());
  EXPECT_EQ(j["signal"], "SIGKILL");
}

TEST(Events, AnAckSaysWhenHowManyFailuresAndByWhom)
{
  const WallTime t = *parse_rfc3339("2026-12-06T21:04:00.250Z");
  json j = ev::Ack{t, 2, "pg-ctl ack bot (pid 42)"};
  EXPECT_EQ(j, (json{{"event", "ack"},
                     {"at", "2026-12-06T21:04:00.250Z"},
                     {"failures", 2},
                     {"by", "pg-ctl ack bot (pid 42)"}}));
  EXPECT_EQ(describe(j), "2 failures acknowledged by pg-ctl ack bot (pid 42)");
  j["failures"] = 1;
  EXPECT_EQ(describe(j), "1 failure acknowledged by pg-ctl ack bot (pid 42)");
  EXPECT_EQ(log_line(j), ""); // bookkeeping, not the job's story
}

} // namespace
} // namespace pg
