#include "events.h"
#include "ls_format.h"

#include "utc_zone.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <ctime>
#include <limits>

namespace pg {
namespace {

using std::chrono::seconds;

WallTime at(const char* rfc3339)
{
  auto t = parse_rfc3339(rfc3339);
  EXPECT_TRUE(t) << rfc3339;
  return t.value_or(WallTime{});
}

const WallTime k_now = at("2026-11-21T22:00:00Z");

// Tables show local time: pin the zone so the goldens hold anywhere.
class LsFormat : public test::UtcZone {};

JobState base_state(const std::string& name, RunState state)
{
  JobState s;
  s.name = name;
  s.state = state;
  s.supervisor = {4241, 123456, "boot", 1, "/sbin/init", "/user.slice/session-2.scope"};
  s.started_at = at("2026-11-21T20:00:00Z");
  s.updated_at = at("2026-11-21T21:59:00Z");
  s.definition.argv = {"python3", "-u", "bot.py"};
  s.definition.resolved = "/usr/bin/python3";
  s.definition.cwd = "/home/u/bot";
  s.definition.log = "/home/u/.local/state/pg/" + name + "/output.log";
  return s;
}

ListedJob listed(JobState s, RunState shown, bool alive)
{
  ListedJob job;
  job.view.name = s.name;
  job.view.shown = shown;
  job.view.supervisor_alive = alive;
  job.view.state = std::move(s);
  return job;
}

// A service running for 2h of a planned 8h, first run still up.
ListedJob running_job()
{
  JobState s = base_state("bot", RunState::Running);
  s.pid = 4242;
  s.run_started_at = at("2026-11-21T20:00:00Z");
  s.definition.duration = Millis(8 * 3600 * 1000);
  s.deadline_at = at("2026-11-22T04:00:00Z");
  ListedJob job = listed(std::move(s), RunState::Running, true);
  job.uptime = seconds(7200);
  job.duration_done = 0.25;
  return job;
}

ExitRecord exit_code(int code, const char* when, Outcome outcome, std::string cause)
{
  ExitRecord e;
  e.pid = 777;
  e.status = ExitStatus::exited(code);
  e.runtime_s = 12.5;
  e.outcome = outcome;
  e.cause = std::move(cause);
  e.at = at(when);
  return e;
}

ExitRecord exit_signal(int sig, const char* when, Outcome outcome, std::string cause)
{
  ExitRecord e = exit_code(0, when, outcome, std::move(cause));
  e.status = ExitStatus::killed(sig);
  return e;
}

ListedJob failed_job()
{
  JobState s = base_state("cruncher", RunState::Failed);
  s.restarts = 5;
  s.definition.restart = RestartPolicy::OnFailure;
  s.last_exit = exit_code(3, "2026-11-21T21:58:00Z", Outcome::Failed,
                          "gave-up: exit: code 3; 5 restarts within 1h already spent");
  return listed(std::move(s), RunState::Failed, false);
}

ListedJob lost_job()
{
  JobState s = base_state("victim", RunState::Running);
  s.pid = 5000;
  s.run_started_at = at("2026-11-21T21:00:00Z");
  ListedJob job = listed(std::move(s), RunState::Lost, false);
  job.view.lost_reason = "its supervisor (pid 4241) died without recording an end";
  return job;
}

ListedJob damaged_job()
{
  ListedJob job;
  job.view.name = "broken";
  job.view.shown = RunState::Lost;
  job.view.error = "state.json is damaged: missing field 'name'";
  job.view.lost_reason = job.view.error;
  return job;
}

ListedJob stopped_job(const std::string& cause)
{
  JobState s = base_state("web", RunState::Stopped);
  s.last_exit = exit_signal(SIGTERM, "2026-11-21T21:59:55Z", Outcome::Stopped, cause);
  s.end_cause = cause;
  return listed(std::move(s), RunState::Stopped, false);
}

TEST_F(LsFormat, DurationBarShowsFlooredFractionAndPercent)
{
  EXPECT_EQ(duration_bar(0.62), "[######----] 62%");
  EXPECT_EQ(duration_bar(0.0), "[----------] 0%");
  EXPECT_EQ(duration_bar(0.999), "[#########-] 99%");
  EXPECT_EQ(duration_bar(1.0), "[##########] 100%");
  EXPECT_EQ(duration_bar(7.0), "[##########] 100%");
  EXPECT_EQ(duration_bar(-1.0), "[----------] 0%");
  EXPECT_EQ(duration_bar(0.5, 4), "[##--] 50%");
}

TEST_F(LsFormat, ShellJoinQuotesOnlyWordsTheShellWouldSplit)
{
  EXPECT_EQ(shell_join({"python3", "-u", "bot.py", "--port=80"}), "python3 -u bot.py --port=80");
  EXPECT_EQ(shell_join({"sh", "-c", "echo 'hi' $X"}), R"(sh -c 'echo '\''hi'\'' $X')");
  EXPECT_EQ(shell_join({"printf", ""}), "printf ''");
  EXPECT_EQ(shell_join({"a b"}), "'a b'");
}

TEST_F(LsFormat, AnExitIsToldByTheOneFormatter)
{
  EXPECT_EQ(exit_text(exit_code(3, "2026-11-21T21:00:00Z", Outcome::Failed, "exit: code 3")),
            "exit code 3");
  ExitRecord segv = exit_signal(SIGSEGV, "2026-11-21T21:00:00Z", Outcome::Failed, "signal: SEGV");
  segv.status->core_dumped = true;
  EXPECT_EQ(exit_text(segv), "signal SIGSEGV (core dumped)");
  EXPECT_EQ(exit_text(segv), segv.status->describe());
  EXPECT_EQ(exit_text(ExitRecord{}), "no exit status known") << "a lost run's record knows neither";
}

TEST_F(LsFormat, LastExitSummaryIsCompactWithAgeAndUnusualCause)
{
  EXPECT_EQ(last_exit_summary(exit_code(3, "2026-11-21T21:58:00Z", Outcome::Failed, "exit: code 3"),
                              k_now),
            "failed: exit 3, 2m00s ago");
  EXPECT_EQ(last_exit_summary(exit_signal(SIGTERM, "2026-11-21T21:59:55Z", Outcome::Stopped,
                                          "requested: pg-ctl stop; signal SIGTERM"),
                              k_now),
            "stopped: SIGTERM (requested), 5s ago");
  EXPECT_EQ(last_exit_summary(exit_code(0, "2026-11-21T19:00:00Z", Outcome::Failed,
                                        "premature: exit 0 of a service after 2s"),
                              k_now),
            "failed: exit 0 (premature), 3h00m ago");
  ExitRecord segv = exit_signal(SIGSEGV, "2026-11-21T21:59:59Z", Outcome::Failed, "signal: x");
  segv.status->core_dumped = true;
  EXPECT_EQ(last_exit_summary(segv, k_now), "failed: SIGSEGV+core, 1s ago");
}

TEST_F(LsFormat, FormatRuntimeKeepsTenthsUnderAMinute)
{
  EXPECT_EQ(format_runtime(0.04), "0.0s");
  EXPECT_EQ(format_runtime(12.46), "12.5s");
  EXPECT_EQ(format_runtime(250.0), "4m10s");
  EXPECT_EQ(format_runtime(7500.0), "2h05m");
}

TEST_F(LsFormat, FormatRuntimeTakesAnyDouble)
{
  // What a damaged file may hold (1.7e75 was found by fuzz_state): never undefined behaviour.
  EXPECT_EQ(format_runtime(1.7e75), "36500d00h");
  EXPECT_EQ(format_runtime(std::numeric_limits<double>::infinity()), "0.0s");
  EXPECT_EQ(format_runtime(std::numeric_limits<double>::quiet_NaN()), "0.0s");
  EXPECT_EQ(format_runtime(-5.0), "0.0s");
  EXPECT_EQ(format_runtime(9.3e18), "36500d00h");
}

TEST_F(LsFormat, TableColumnsFitTheContent)
{
  ListedJob bot = running_job();
  bot.cpu_percent = 1.5;
  bot.memory_bytes = 12 * 1024 * 1024;
  EXPECT_EQ(
      render_table({bot, failed_job()}, {k_now, false}),
      "NAME      STATE    PID   CPU   MEM  UPTIME  RESTARTS  LAST EXIT                        "
      "    DURATION\n"
      "bot       running  4242  1.5%  12M  2h00m   0         -                                "
      "    [##--------] 25%\n"
      "cruncher  failed   -     -     -    -       5         failed: exit 3 (gave-up), 2m00s "
      "ago  -\n");
}

TEST_F(LsFormat, TableCpuCellKeepsATenthOnlyUnderTenPercent)
{
  ListedJob bot = running_job();
  bot.cpu_percent = 250.4;
  bot.memory_bytes = 512;
  const std::string table = render_table({bot}, {k_now, false});
  EXPECT_NE(table.find("4242  250%  512B  2h00m"), std::string::npos) << table;
}

TEST_F(LsFormat, TableListsLostAndDamagedJobsWithTheirReasonBelow)
{
  std::string got = render_table({damaged_job(), lost_job()}, {k_now, false});
  EXPECT_EQ(got, "NAME    STATE  PID  CPU  MEM  UPTIME  RESTARTS  LAST EXIT  DURATION\n"
                 "broken  lost   -    -    -    -       -         -          -\n"
                 "victim  lost   -    -    -    -       0         -          -\n"
                 "\n"
                 "broken: lost: state.json is damaged: missing field 'name'\n"
                 "victim: lost: its supervisor (pid 4241) died without recording an end\n");
}

TEST_F(LsFormat, TableColoursOnlyTheStateAndOnlyWhenAsked)
{
  std::string plain = render_table({running_job(), failed_job()}, {k_now, false});
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);

  std::string coloured =
      render_table({running_job(), failed_job(), stopped_job("requested: x")}, {k_now, true});
  // Padding stays outside the colour, so columns line up as in the plain table.
  EXPECT_NE(coloured.find("bot       \x1b[32mrunning\x1b[0m  4242"), std::string::npos);
  EXPECT_NE(coloured.find("cruncher  \x1b[31mfailed\x1b[0m   -"), std::string::npos);
  EXPECT_NE(coloured.find("web       stopped  -"), std::string::npos); // stopped stays plain
  EXPECT_EQ(coloured.find("\x1b[", coloured.find("web ")), std::string::npos);
}

TEST_F(LsFormat, RunningJobDetailShowsDefinitionPidsProgressAndOutput)
{
  JobHistory history;
  history.exits = {
      exit_code(1, "2026-11-21T19:59:00Z", Outcome::Failed, "exit: code 1"),
  };
  history.log_lines = {"ready", "serving"};
  ListedJob job = running_job();
  job.view.state->status_text = "12 clients";
  EXPECT_EQ(render_detail(job, history, {k_now, false}),
            "bot: running\n"
            "     Command: python3 -u bot.py\n"
            "    Resolved: /usr/bin/python3\n"
            "         Cwd: /home/u/bot\n"
            "      Policy: service; restart on-failure; at most 5 restarts after failures in 1h; "
            "backoff 1s up to 1m\n"
            "        Stop: SIGTERM, then SIGKILL after 10s\n"
            "    Duration: 8h  [##--------] 25%, ends 2026-11-22 04:00:00\n"
            "  Supervisor: pid 4241; parent pid 1 (/sbin/init); cgroup "
            "/user.slice/session-2.scope\n"
            "    Main PID: 4242\n"
            "     Started: 2026-11-21 20:00:00 (2h00m ago, first start)\n"
            "      Uptime: 2h00m (this run since 2026-11-21 20:00:00)\n"
            "    Restarts: 0\n"
            "      Status: 12 clients\n"
            "         Log: /home/u/.local/state/pg/bot/output.log\n"
            "\n"
            "Last exits (newest last):\n"
            "  2026-11-21 19:59:00  pid 777  exit code 1  ran 12.5s  failed  exit: code 1\n"
            "\n"
            "Last output:\n"
            "  ready\n"
            "  serving\n");
}

TEST_F(LsFormat, DetailShowsTheFailuresSinceTheLastAck)
{
  ListedJob job = running_job();
  job.view.state->failures_since_ack = 2;
  std::string got = render_detail(job, {}, {k_now, false});
  EXPECT_NE(got.find("    Restarts: 0\n"
                     "    Failures: 2 since the first start; never acknowledged\n"),
            std::string::npos)
      << got;
  job.view.state->last_ack_at = at("2026-11-21T21:04:00Z");
  got = render_detail(job, {}, {k_now, false});
  EXPECT_NE(got.find("    Failures: 2 since the last ack, 2026-11-21 21:04:00 (56m00s ago)\n"),
            std::string::npos)
      << got;
  // pg-ctl's ack of a failed job: after its last write, so its state is acknowledged.
  ListedJob failed = failed_job();
  failed.view.state->last_ack_at = at("2026-11-21T21:59:30Z");
  got = render_detail(failed, {}, {k_now, false});
  EXPECT_NE(got.find("    Failures: none since the last ack, 2026-11-21 21:59:30 (30s ago); the "
                     "state shown was acknowledged\n"),
            std::string::npos)
      << got;
}

TEST_F(LsFormat, DetailOmitsStatusLineWhenNoStatusWasSent)
{
  std::string got = render_detail(running_job(), {}, {k_now, false});
  EXPECT_EQ(got.find("Status:"), std::string::npos);
  EXPECT_NE(got.find("Last exits: none recorded\n"), std::string::npos);
  EXPECT_NE(got.find("Last output: none\n"), std::string::npos);
}

TEST_F(LsFormat, LostJobShowsReasonInDetail)
{
  std::string got = render_detail(lost_job(), {}, {k_now, false});
  EXPECT_EQ(got.substr(0, got.find('\n') + 1),
            "victim: lost: its supervisor (pid 4241) died without recording an end\n");
  EXPECT_NE(got.find("    Recorded: running (last update 2026-11-21 21:59:00)\n"),
            std::string::npos);
  EXPECT_NE(got.find("  Supervisor: pid 4241 (gone);"), std::string::npos);
  EXPECT_NE(got.find("    Main PID: 5000 (as last recorded; unwatched since)\n"),
            std::string::npos);
  EXPECT_EQ(got.find("Uptime:"), std::string::npos);
}

TEST_F(LsFormat, DamagedJobDetailShowsTheErrorAndWhatHistoryThereIs)
{
  JobHistory history;
  history.log_note = "/s/broken/output.log does not exist (yet)";
  EXPECT_EQ(render_detail(damaged_job(), history, {k_now, false}),
            "broken: lost: state.json is damaged: missing field 'name'\n"
            "\n"
            "Last exits: none recorded\n"
            "\n"
            "Last output: /s/broken/output.log does not exist (yet)\n");
}

TEST_F(LsFormat, UnreadableJobDirectoryDetailShowsOnlyWhy)
{
  ListedJob job = damaged_job();
  job.view.error = "job directory /s/evil is a symlink or not a directory; refusing it";
  job.view.lost_reason.clear();
  JobHistory none;
  none.readable = false;
  EXPECT_EQ(render_detail(job, none, {k_now, false}),
            "broken: lost: job directory /s/evil is a symlink or not a directory; refusing it\n");
}

TEST_F(LsFormat, BackoffDetailShowsNextStart)
{
  JobState s = base_state("flap", RunState::Backoff);
  s.next_start_at = at("2026-11-21T22:00:30Z");
  s.restarts = 2;
  s.last_exit = exit_code(1, "2026-11-21T21:59:58Z", Outcome::Failed, "exit: code 1");
  std::string got =
      render_detail(listed(std::move(s), RunState::Backoff, true), {}, {k_now, false});
  EXPECT_NE(got.find("  Next start: 2026-11-21 22:00:30 (in 30s)\n"), std::string::npos);
  EXPECT_NE(got.find("    Main PID: -\n"), std::string::npos);
  EXPECT_NE(got.find("    Duration: indefinite (no --duration)\n"), std::string::npos);
}

TEST_F(LsFormat, DetailColoursTheStateOnlyWhenAsked)
{
  EXPECT_EQ(
      render_detail(running_job(), {}, {k_now, true}).rfind("bot: \x1b[32mrunning\x1b[0m\n", 0),
      0U);
  EXPECT_EQ(render_detail(running_job(), {}, {k_now, false}).find('\x1b'), std::string::npos);
}

TEST_F(LsFormat, DetailEscapesControlCharactersOfRecordedText)
{
  ListedJob job = running_job();
  job.view.state->definition.argv = {"evil", "\x1b]0;owned\x07"};
  job.view.state->status_text = "bell\x07";
  std::string got = render_detail(job, {}, {k_now, false});
  EXPECT_EQ(got.find('\x1b'), std::string::npos);
  EXPECT_EQ(got.find('\x07'), std::string::npos);
  EXPECT_NE(got.find("Status: bell\\x07\n"), std::string::npos);
}

TEST_F(LsFormat, JsonHasTheContractFieldsWithTypedValues)
{
  ListedJob job = running_job();
  job.view.state->last_exit =
      exit_signal(SIGKILL, "2026-11-21T19:59:00Z", Outcome::Failed, "signal: SIGKILL");
  nlohmann::ordered_json j = job_json(job);
  for (const char* key :
       {"name", "state", "supervisor_pid", "pid", "command", "cwd", "started_at", "uptime_s",
        "duration_s", "restarts", "restart_policy", "status_text", "log", "last_exit"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["name"], "bot");
  EXPECT_EQ(j["state"], "running");
  EXPECT_EQ(j["supervisor_pid"], 4241);
  EXPECT_EQ(j["pid"], 4242);
  EXPECT_EQ(j["command"], nlohmann::ordered_json({"python3", "-u", "bot.py"}));
  EXPECT_EQ(j["resolved"], "/usr/bin/python3");
  EXPECT_EQ(j["cwd"], "/home/u/bot");
  EXPECT_EQ(j["started_at"], "2026-11-21T20:00:00.000Z");
  EXPECT_EQ(j["uptime_s"], 7200);
  EXPECT_EQ(j["duration_s"], 28800.0);
  EXPECT_EQ(j["duration_done"], 0.25);
  EXPECT_EQ(j["deadline_at"], "2026-11-22T04:00:00.000Z");
  EXPECT_EQ(j["restarts"], 0);
  EXPECT_EQ(j["restart_policy"], "on-failure");
  EXPECT_EQ(j["oneshot"], false);
  EXPECT_EQ(j["lost_reason"], nullptr);
  EXPECT_EQ(j["supervisor_parent"]["command"], "/sbin/init");
  EXPECT_FALSE(j["supervisor"].contains("parent_command"));
  EXPECT_EQ(j["supervisor"]["cgroup"], "/user.slice/session-2.scope");
  const auto& last = j["last_exit"];
  EXPECT_EQ(last["code"], nullptr);
  EXPECT_EQ(last["signal"], "SIGKILL");
  EXPECT_EQ(last["core_dumped"], false);
  EXPECT_EQ(last["runtime_s"], 12.5);
  EXPECT_EQ(last["outcome"], "failed");
  EXPECT_EQ(last["cause"], "signal: SIGKILL");
  EXPECT_EQ(last["at"], "2026-11-21T19:59:00.000Z");
  EXPECT_EQ(j.begin().key(), "schema_version"); // reading order, not alphabetical
  EXPECT_EQ(std::next(j.begin()).key(), "name");
  EXPECT_EQ(j["failures_since_ack"], 0);
  EXPECT_EQ(j["last_ack_at"], nullptr);
  job.view.state->failures_since_ack = 2;
  job.view.state->last_ack_at = at("2026-11-21T21:04:00Z");
  j = job_json(job);
  EXPECT_EQ(j["failures_since_ack"], 2);
  EXPECT_EQ(j["last_ack_at"], "2026-11-21T21:04:00.000Z");
}

TEST_F(LsFormat, ALostJobsLeftoversAreCountedEverywhere)
{
  ListedJob job = lost_job();
  EXPECT_EQ(job_json(job)["leftovers"], 0);
  EXPECT_EQ(render_table({job}, LsStyle{k_now, false}).find("process"), std::string::npos);
  job.view.leftovers = {{5001, 77}, {5002, 78}};
  EXPECT_EQ(job_json(job)["leftovers"], 2);
  const std::string table = render_table({job}, LsStyle{k_now, false});
  EXPECT_NE(table.find("victim  lost (2 processes left)"), std::string::npos) << table;
  EXPECT_NE(table.find("pids 5001 5002 still live (pg-ctl stop ends them"), std::string::npos)
      << table;
  const std::string detail = render_detail(job, {}, LsStyle{k_now, false});
  EXPECT_EQ(detail.rfind("victim: lost (2 processes left): its supervisor", 0), 0u) << detail;
  EXPECT_NE(check_problem(job)->find("pids 5001 5002 still live"), std::string::npos);
  EXPECT_EQ(job_json(stopped_job("requested: x"))["leftovers"], nullptr);
}

TEST_F(LsFormat, JsonOfLostJobHasNoPidsToSignal)
{
  nlohmann::ordered_json j = job_json(lost_job());
  EXPECT_EQ(j["state"], "lost");
  EXPECT_EQ(j["lost_reason"], "its supervisor (pid 4241) died without recording an end");
  EXPECT_EQ(j["pid"], nullptr);
  EXPECT_EQ(j["supervisor_pid"], nullptr);
  EXPECT_EQ(j["supervisor"]["pid"], 4241);
  EXPECT_EQ(j["supervisor"]["alive"], false);
  EXPECT_EQ(j["last_exit"], nullptr);
}

TEST_F(LsFormat, JsonOfDamagedJobCarriesTheErrorAndNulls)
{
  nlohmann::ordered_json j = job_json(damaged_job());
  EXPECT_EQ(j["name"], "broken");
  EXPECT_EQ(j["state"], "lost");
  EXPECT_EQ(j["error"], "state.json is damaged: missing field 'name'");
  EXPECT_EQ(j["command"], nullptr);
  EXPECT_EQ(j["restarts"], nullptr);
  EXPECT_EQ(j["last_exit"], nullptr);
  EXPECT_EQ(j["failures_since_ack"], nullptr);
  EXPECT_EQ(j["last_ack_at"], nullptr);
}

TEST_F(LsFormat, JsonWithInvalidUtf8DumpsWithReplacement)
{
  ListedJob job = running_job();
  job.view.state->definition.argv = {"bad\xff"};
  nlohmann::ordered_json j = job_json(job);
  std::string out;
  ASSERT_NO_THROW(out = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  EXPECT_NE(out.find("bad\xef\xbf\xbd"), std::string::npos);
}

TEST_F(LsFormat, CheckReportsFailedJobWithStatusTimeAndCause)
{
  EXPECT_EQ(check_problem(failed_job()),
            "cruncher: failed: exit code 3 at 2026-11-21T21:58:00.000Z; gave-up: exit: code 3; "
            "5 restarts within 1h already spent");
}

TEST_F(LsFormat, CheckReportsLostAndDamagedJobs)
{
  EXPECT_EQ(check_problem(lost_job()),
            "victim: lost: its supervisor (pid 4241) died without recording an end");
  EXPECT_EQ(check_problem(damaged_job()),
            "broken: lost: state.json is damaged: missing field 'name'");
}

TEST_F(LsFormat, CheckReportsStopFromOutsideButNotFromPgCtl)
{
  EXPECT_EQ(check_problem(stopped_job("outside-signal: SIGTERM from pid 9 (bash)")),
            "web: stopped by an outside signal: outside-signal: SIGTERM from pid 9 (bash)");
  EXPECT_EQ(check_problem(stopped_job("requested: pg-ctl stop by pid 9")), std::nullopt);
}

TEST_F(LsFormat, CheckReportsStopFromOutsideBetweenRuns)
{
  // Stopped during backoff: the last exit is the earlier failure; the end cause says who.
  ListedJob job = stopped_job("outside-signal: SIGTERM from pid 9 (bash) (between runs)");
  job.view.state->last_exit->outcome = Outcome::Failed;
  job.view.state->last_exit->cause = "exit: code 1";
  EXPECT_EQ(check_problem(job), "web: stopped by an outside signal: outside-signal: SIGTERM from "
                                "pid 9 (bash) (between runs)");
}

TEST_F(LsFormat, CheckIsSilentForHealthyStates)
{
  EXPECT_EQ(check_problem(running_job()), std::nullopt);
  JobState done = base_state("task", RunState::Completed);
  done.last_exit = exit_code(0, "2026-11-21T21:00:00Z", Outcome::Completed, "exit: code 0");
  EXPECT_EQ(check_problem(listed(std::move(done), RunState::Completed, false)), std::nullopt);
  // A running job whose earlier run failed is being handled by its restart policy.
  ListedJob flapping = running_job();
  flapping.view.state->last_exit =
      exit_code(1, "2026-11-21T21:00:00Z", Outcome::Failed, "exit: code 1");
  EXPECT_EQ(check_problem(flapping), std::nullopt);
}

TEST_F(LsFormat, CheckHearsFailuresUntilAcknowledgedEvenWhenTheJobRunsAgain)
{
  ListedJob job = running_job();
  JobState& s = *job.view.state;
  s.failures_since_ack = 2;
  s.last_ack_at = at("2026-11-21T21:04:00Z");
  s.last_exit = exit_code(0, "2026-11-21T21:40:00Z", Outcome::Failed,
                          "premature: exit code 0 before 80% of --duration 8h");
  s.last_exit->runtime_s = 1980;
  EXPECT_EQ(check_problem(job), "bot: 2 failures since 2026-11-21 21:04:00 (last: premature exit "
                                "code 0 after 33m00s); running again");
  // Never acknowledged: since the first start. One failure, by a signal.
  s.last_ack_at.reset();
  s.failures_since_ack = 1;
  s.last_exit = exit_signal(SIGSEGV, "2026-11-21T21:40:00Z", Outcome::Failed, "signal: SIGSEGV");
  EXPECT_EQ(check_problem(job), "bot: 1 failure since 2026-11-21 20:00:00 (last: signal SIGSEGV "
                                "after 12.5s); running again");
  // A planned restart since: the last exit is no failure, so no "last".
  s.last_exit = exit_code(0, "2026-11-21T21:50:00Z", Outcome::Restarted, "planned: pg-ctl restart");
  EXPECT_EQ(check_problem(job), "bot: 1 failure since 2026-11-21 20:00:00; running again");
  // Acknowledged: quiet.
  s.failures_since_ack = 0;
  s.last_ack_at = at("2026-11-21T21:55:00Z");
  EXPECT_EQ(check_problem(job), std::nullopt);
}

TEST_F(LsFormat, CheckSaysWhatTheJobDoesNowAfterItsFailures)
{
  ListedJob backoff = running_job();
  backoff.view.shown = RunState::Backoff;
  backoff.view.state->state = RunState::Backoff;
  backoff.view.state->failures_since_ack = 1;
  backoff.view.state->last_exit =
      exit_code(1, "2026-11-21T21:58:00Z", Outcome::Failed, "exit: code 1");
  EXPECT_EQ(check_problem(backoff), "bot: 1 failure since 2026-11-21 20:00:00 (last: exit code 1 "
                                    "after 12.5s); in backoff");
  // A job that is itself a problem: its problem is the tail.
  ListedJob failed = failed_job();
  failed.view.state->failures_since_ack = 6;
  EXPECT_EQ(check_problem(failed),
            "cruncher: 6 failures since 2026-11-21 20:00:00 (last: gave-up exit code 3 after "
            "12.5s); failed: exit code 3 at 2026-11-21T21:58:00.000Z; gave-up: exit: code 3; 5 "
            "restarts within 1h already spent");
  // Stopped by pg-ctl after a failure: the stop is no failure, the earlier one is heard.
  ListedJob stopped = stopped_job("requested: pg-ctl stop by pid 9");
  stopped.view.state->failures_since_ack = 1;
  EXPECT_EQ(check_problem(stopped), "web: 1 failure since 2026-11-21 20:00:00; stopped");
}

TEST_F(LsFormat, CheckNamesALostRunAndAStopFromOutsideAsTheLastFailure)
{
  ListedJob revived = running_job();
  ExitRecord lost;
  lost.pid = 4242;
  lost.runtime_s = 300;
  lost.outcome = Outcome::Failed;
  lost.cause = "lost: supervisor pid 4241 died without recording an end; last seen ...";
  lost.at = at("2026-11-21T21:00:00Z");
  revived.view.state->last_exit = lost;
  revived.view.state->failures_since_ack = 3;
  EXPECT_EQ(check_problem(revived), "bot: 3 failures since 2026-11-21 20:00:00 (last: lost (no "
                                    "exit status known) after 5m00s); running again");
  ListedJob outside = stopped_job("outside-signal: SIGTERM from pid 9 (bash)");
  outside.view.state->failures_since_ack = 1;
  EXPECT_EQ(check_problem(outside),
            "web: 1 failure since 2026-11-21 20:00:00 (last: outside-signal signal SIGTERM after "
            "12.5s); stopped by an outside signal: outside-signal: SIGTERM from pid 9 (bash)");
}

TEST_F(LsFormat, CheckIsQuietAboutAStateAcknowledgedAfterItWasRecorded)
{
  // pg-ctl ack of an ended or lost job: last_ack_at after the supervisor's last write.
  const WallTime after = at("2026-11-21T21:59:30Z");
  const WallTime before = at("2026-11-21T21:30:00Z");
  for (ListedJob job : {failed_job(), lost_job(),
                        stopped_job("outside-signal: SIGTERM from pid 9 (bash) (between runs)")}) {
    job.view.state->last_ack_at = after;
    EXPECT_EQ(check_problem(job), std::nullopt) << job.view.name;
    // Acknowledged before the state was written (the failure came later): heard.
    job.view.state->last_ack_at = before;
    EXPECT_NE(check_problem(job), std::nullopt) << job.view.name;
    // Something new since the ack: heard again, the state's problem as the tail.
    job.view.state->last_ack_at = after;
    job.view.state->failures_since_ack = 1;
    ASSERT_NE(check_problem(job), std::nullopt) << job.view.name;
    EXPECT_NE(check_problem(job)->find(": 1 failure since 2026-11-21 21:59:30"), std::string::npos)
        << *check_problem(job);
  }
  // A damaged state cannot be acknowledged: still a problem.
  EXPECT_NE(check_problem(damaged_job()), std::nullopt);
}

TEST_F(LsFormat, ExitsFromEventsKeepsTheNewestAndSkipsCutAndDamagedLines)
{
  const std::vector<std::string> lines = {
      // cut by the tail: its start is missing
      R"x(ode":9,"event":"exit","outcome":"failed","at":"2026-11-21T10:00:00Z"})x",
      R"x({"event":"start","at":"2026-11-21T11:00:00Z","pid":1})x",
      R"x({"event":"exit","at":"2026-11-21T11:00:01Z","pid":1,"code":1,"signal":null,)x"
      R"x("core_dumped":false,"runtime_s":1.0,"outcome":"failed","cause":"exit: code 1"})x",
      R"x({"event":"exit","at":"garbage","outcome":"failed"})x",
      R"x({"event":"exit","at":"2026-11-21T11:00:02Z","pid":2,"code":null,"signal":"SIGSEGV",)x"
      R"x("core_dumped":true,"runtime_s":0.5,"outcome":"failed","cause":"signal: SIGSEGV"})x",
      R"x({"event":"alert","at":"2026-11-21T11:00:02Z","note":"\"exit\""})x",
      R"x({"event":"exit","at":"2026-11-21T11:00:03Z","pid":3,"code":0,"signal":null,)x"
      R"x("core_dumped":false,"runtime_s":9.0,"outcome":"completed","cause":"exit: code 0"})x",
      // being written: no newline yet
      R"x({"event":"exit","at":"2026-11-21T11:00:04Z","pid":4,"co)x",
  };
  std::string tail;
  for (const auto& line : lines) {
    tail += (tail.empty() ? "" : "\n") + line;
  }
  auto all = exits_from_events(tail, true, 5);
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0].pid, 1);
  EXPECT_EQ(all[0].status, ExitStatus::exited(1));
  EXPECT_EQ(all[1].status, ExitStatus::killed(SIGSEGV, true));
  EXPECT_EQ(all[2].outcome, Outcome::Completed);

  auto newest = exits_from_events(tail, true, 2);
  ASSERT_EQ(newest.size(), 2U);
  EXPECT_EQ(newest[0].pid, 2);
  EXPECT_EQ(newest[1].pid, 3);

  // Read from the file's start, the first line is whole and counts.
  const std::string whole = R"x({"event":"exit","at":"2026-11-21T09:00:00Z","pid":7,"code":2,)x"
                            R"x("outcome":"failed","cause":"exit: code 2"})x";
  ASSERT_EQ(exits_from_events(whole, false, 5).size(), 1U);
  EXPECT_TRUE(exits_from_events(whole, true, 5).empty());
}

TEST_F(LsFormat, LastLogLinesDropsTheCutFirstLineAndKeepsTheLast)
{
  EXPECT_EQ(last_log_lines("t line\nb\nc\nd\n", true, 2), (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(last_log_lines("a\nb\n", false, 10), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(last_log_lines("\nb", false, 10), (std::vector<std::string>{"", "b"}));
  EXPECT_EQ(last_log_lines("partial last", false, 10), (std::vector<std::string>{"partial last"}));
  EXPECT_TRUE(last_log_lines("", false, 10).empty());
}

TEST_F(LsFormat, LastLogLinesMakesLinesSafeForATerminal)
{
  EXPECT_EQ(last_log_lines("\x1b[31mred\x1b[0m\tok\r\n", false, 10),
            (std::vector<std::string>{"\\x1b[31mred\\x1b[0m\tok"}));
  // A progress bar redrawn with \r: a terminal would show only the last drawing.
  EXPECT_EQ(last_log_lines("10%\r50%\r100%\n", false, 10), (std::vector<std::string>{"100%"}));
  // One endless line with no newline in the tail at all is still shown.
  EXPECT_EQ(last_log_lines("...90%\r100%", true, 10), (std::vector<std::string>{"100%"}));
}

TEST_F(LsFormat, LastLogLinesCutsLongLinesOnACharacterBoundary)
{
  std::string line(511, 'x');
  line += "\xc3\xa9"; // "é" across the 512-byte mark: cut before it, not inside it
  line += std::string(100, 'y');
  auto out = last_log_lines(line + "\n", false, 10);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0], std::string(511, 'x') + " [... 102 more bytes]");
}

TEST_F(LsFormat, TableShowsStatusColumnOnlyWhenSomeJobHasStatusText)
{
  ListedJob bot = running_job();
  bot.view.state->status_text = "12 clients\nsecond line";
  EXPECT_EQ(
      render_table({bot, failed_job()}, {k_now, false}),
      "NAME      STATE    PID   CPU  MEM  UPTIME  RESTARTS  LAST EXIT                            "
      "DURATION          STATUS\n"
      "bot       running  4242  -    -    2h00m   0         -                                    "
      "[##--------] 25%  12 clients\u2026\n"
      "cruncher  failed   -     -    -    -       5         failed: exit 3 (gave-up), 2m00s ago  "
      "-                 -\n");
}

TEST_F(LsFormat, TableCutsLongStatusTextOnACharacterBoundary)
{
  ListedJob bot = running_job();
  // 39 characters, then a 2-byte one at the 40th place and more: cut after 39, plus "...".
  bot.view.state->status_text = std::string(39, 'a') + "\u00e9tail and more\x1b";
  std::string table = render_table({bot}, {k_now, false});
  EXPECT_NE(table.find(std::string(39, 'a') + "\u2026\n"), std::string::npos) << table;
  // Exactly 40 characters fit whole; control characters are escaped.
  bot.view.state->status_text = std::string(38, 'b') + "\u00e9\x07";
  table = render_table({bot}, {k_now, false});
  EXPECT_NE(table.find(std::string(38, 'b') + "\u00e9\\x07\n"), std::string::npos) << table;
}

TEST_F(LsFormat, ShortBytesUsesBinaryUnits)
{
  EXPECT_EQ(short_bytes(0), "0B");
  EXPECT_EQ(short_bytes(1023), "1023B");
  EXPECT_EQ(short_bytes(1536), "1.5K");
  EXPECT_EQ(short_bytes(12 * 1024 * 1024), "12M");
  EXPECT_EQ(short_bytes(3ULL << 30), "3.0G");
}

TEST_F(LsFormat, ExitResourcesInDetailAndJson)
{
  ExitRecord e = exit_code(1, "2026-11-21T21:59:00Z", Outcome::Failed, "exit: code 1");
  EXPECT_EQ(resource_summary(e), "-");
  auto j = exit_json(e);
  EXPECT_TRUE(j["max_rss_kb"].is_null());
  EXPECT_TRUE(j["user_cpu_s"].is_null());
  e.max_rss_kb = 20480;
  e.user_cpu_s = 1.0;
  e.sys_cpu_s = 0.25;
  EXPECT_EQ(resource_summary(e), "rss 20M cpu 1.25s");
  j = exit_json(e);
  EXPECT_EQ(j["max_rss_kb"], 20480);
  EXPECT_DOUBLE_EQ(j["user_cpu_s"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["sys_cpu_s"].get<double>(), 0.25);
  JobHistory history;
  history.exits = {e};
  std::string detail = render_detail(running_job(), history, {k_now, false});
  EXPECT_NE(detail.find("ran 12.5s  rss 20M cpu 1.25s  failed  exit: code 1"), std::string::npos)
      << detail;
}

TEST_F(LsFormat, ResourceSummaryTakesAnyRecordedSize)
{
  // A damaged exit record may hold any uint64_t: kilobytes times 1024 saturate, never wrap
  // (2^54 kB wrapped to "rss 0B" before).
  ExitRecord e = exit_code(1, "2026-11-21T21:59:00Z", Outcome::Failed, "exit: code 1");
  e.max_rss_kb = uint64_t{1} << 54;
  EXPECT_EQ(resource_summary(e), "rss 16777216T");
  e.max_rss_kb = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(resource_summary(e), "rss 16777216T");
  e.max_rss_kb = (uint64_t{1} << 54) - 1; // the largest that fits: 2^64 - 1024 bytes
  EXPECT_EQ(resource_summary(e), "rss 16777216T");
  e.max_rss_kb = uint64_t{3} << 30; // 3 TiB
  EXPECT_EQ(resource_summary(e), "rss 3.0T");
}

TEST_F(LsFormat, DetailShowsWhatIsWatchedTheAlertHookAndTheMemorySample)
{
  ListedJob job = running_job();
  JobDefinition& d = job.view.state->definition;
  d.notify = true;
  d.watchdog = Millis(30'000);
  d.stall = Millis(300'000);
  d.max_memory = 512ULL << 20;
  d.restart_every = Millis(24LL * 3600 * 1000);
  d.on_failure = "notify-send \"$PG_MESSAGE\"";
  job.view.state->memory_rss = 100ULL << 20;
  std::string detail = render_detail(job, {}, {k_now, false});
  EXPECT_NE(detail.find("       Watch: sd_notify (--notify); watchdog 30s; stall 5m; max memory "
                        "512 MiB; restart every 1d\n"),
            std::string::npos)
      << detail;
  EXPECT_NE(detail.find("  On failure: notify-send \"$PG_MESSAGE\" (at most one per 15m, "
                        "killed after 1m)\n"),
            std::string::npos)
      << detail;
  EXPECT_NE(detail.find("      Memory: 100.0 MiB (the tree's RSS) of --max-memory 512 MiB\n"),
            std::string::npos)
      << detail;
  // Nothing watched, no hook, no sample: no such lines.
  detail = render_detail(running_job(), {}, {k_now, false});
  EXPECT_EQ(detail.find("Watch:"), std::string::npos) << detail;
  EXPECT_EQ(detail.find("On failure:"), std::string::npos) << detail;
  EXPECT_EQ(detail.find("Memory:"), std::string::npos) << detail;
}

TEST_F(LsFormat, AJobInAnotherPidNamespaceIsShownRunningThereWithoutHostPids)
{
  ListedJob job = running_job();
  job.view.other_pid_namespace = true;
  job.view.state->supervisor.pid_namespace = 4026532999;
  const std::string table = render_table({job}, {k_now, false});
  const size_t state = table.find("running (in another pid namespace)");
  ASSERT_NE(state, std::string::npos) << table;
  const size_t pid = table.find_first_not_of(' ', state + 34);
  ASSERT_NE(pid, std::string::npos) << table;
  EXPECT_EQ(table[pid], '-') << table; // no host pid for it
  EXPECT_EQ(table.find("4242"), std::string::npos) << table;

  const std::string detail = render_detail(job, JobHistory{}, {k_now, false});
  EXPECT_EQ(detail.rfind("bot: running (in another pid namespace)\n", 0), 0u) << detail;
  EXPECT_NE(detail.find("  Supervisor: pid 4241 in pid namespace pid:[4026532999], not a pid "
                        "here; parent pid 1"),
            std::string::npos)
      << detail;
  EXPECT_NE(detail.find("    Main PID: 4242 in pid namespace pid:[4026532999], not a pid here\n"),
            std::string::npos)
      << detail;

  // Lost (its lock is free): shown lost as any other, the namespace only in the pids' note.
  job.view.supervisor_alive = false;
  job.view.shown = RunState::Lost;
  job.view.lost_reason = "its supervisor (pid 4241 in another pid namespace) died";
  EXPECT_EQ(render_table({job}, {k_now, false}).find("another pid namespace)  "),
            std::string::npos);
}

} // namespace
} // namespace pg
