#include "ls_history.h"

#include <gtest/gtest.h>

namespace pg {
namespace {

WallTime at(const char* text)
{
  return *parse_rfc3339(text);
}

TEST(LsHistory, ParseEventsSkipsDamagedAndUnfinishedLinesAndFiltersBySince)
{
  const std::string text =
      R"({"event":"start","at":"2026-11-21T10:00:00.000Z","pid":7,"run":1})"
      "\n"
      "not json\n"
      R"({"at":"2026-11-21T10:00:01.000Z"})"
      "\n"
      R"({"event":"exit","at":"yesterday"})"
      "\n"
      R"({"event":"exit","at":"2026-11-21T10:00:02.000Z","pid":7,"code":1,"signal":null,)"
      R"("runtime_s":2.0,"outcome":"failed","cause":"exit: code 1"})"
      "\n"
      R"({"event":"end","at":"2026-11-21T10:00:03.000Z")"; // still being written
  auto all = parse_events(text, "bot", std::nullopt);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].job, "bot");
  EXPECT_EQ(all[0].event["event"], "start");
  EXPECT_EQ(all[1].at, at("2026-11-21T10:00:02Z"));
  auto recent = parse_events(text, "bot", at("2026-11-21T10:00:01Z"));
  ASSERT_EQ(recent.size(), 1u);
  EXPECT_EQ(recent[0].event["event"], "exit");
}

TEST(LsHistory, MergeOrdersByTimeAndKeepsTheOrderOfOneInstant)
{
  std::vector<JobEvent> ev{
      {"b", at("2026-11-21T10:00:02Z"), {{"event", "exit"}}, std::nullopt},
      {"a", at("2026-11-21T10:00:01Z"), {{"event", "start"}}, std::nullopt},
      {"b", at("2026-11-21T10:00:01Z"), {{"event", "restart"}}, std::nullopt},
      {"a", at("2026-11-21T10:00:01Z"), {{"event", "exit"}}, std::nullopt},
  };
  merge_events(ev);
  EXPECT_EQ(ev[0].job, "a");
  EXPECT_EQ(ev[0].event["event"], "start");
  EXPECT_EQ(ev[1].event["event"], "restart");
  EXPECT_EQ(ev[2].event["event"], "exit");
  EXPECT_EQ(ev[2].job, "a");
  EXPECT_EQ(ev[3].job, "b");
}

TEST(LsHistory, SummariesTellKnownEventsAndListUnknownOnes)
{
  using nlohmann::json;
  EXPECT_EQ(describe(json{{"event", "exit"},
                          {"pid", 7},
                          {"code", nullptr},
                          {"signal", "SIGSEGV"},
                          {"core_dumped", true},
                          {"runtime_s", 1.5},
                          {"outcome", "failed"},
                          {"cause", "signal: SIGSEGV (core dumped)"}}),
            "pid 7, signal SIGSEGV (core dumped) after 1.500s: failed (signal: SIGSEGV (core "
            "dumped))");
  EXPECT_EQ(describe(json{{"event", "start"}, {"pid", 9}, {"run", 3}}), "run 3, pid 9");
  EXPECT_EQ(describe(json{{"event", "handover"}, {"from_pid", 9}, {"pid", 12}}),
            "pid 9 exited 0; pid 12 is the main process");
  EXPECT_EQ(describe(json{{"event", "stop"}, {"kind", "requested"}, {"by", "pg-ctl"}}),
            "requested: pg-ctl");
  EXPECT_EQ(describe(json{{"event", "future"}, {"at", "x"}, {"n", 2}, {"why", "w"}}), "n=2 why=w");
}

// Found by fuzz_events (10M run, session 4): a launch line whose "revived" is not a boolean
// made json::value() throw out of pg-ls --events.
TEST(LsHistory, SummaryOfALaunchToleratesAnyTypeUnderItsKeys)
{
  using nlohmann::json;
  const json base{{"event", "launch"},
                  {"supervisor_pid", 4242},
                  {"supervisor_parent", 1},
                  {"supervisor_parent_command", "bash"}};
  for (const json& odd : {json::array({1, 2}), json("yes"), json(1), json(nullptr)}) {
    json ev = base;
    ev["revived"] = odd;
    EXPECT_EQ(describe(ev), "supervisor pid 4242, parent pid 1 (bash)") << odd.dump();
  }
  json ev = base;
  ev["revived"] = true;
  EXPECT_EQ(describe(ev), "supervisor pid 4242, parent pid 1 (bash), revived");
}

// schema_version 1 wrote a launch's parent as "supervisor_parent": PID beside
// "supervisor_parent_command"; read back, it has the one shape of every output.
TEST(LsHistory, AnOldLaunchLineReadsInTodaysVocabulary)
{
  const std::string text =
      R"({"event":"launch","at":"2026-11-21T20:00:00.000Z","supervisor_pid":7,)"
      R"("supervisor_parent":1,"supervisor_parent_command":"bash","cgroup":"/","command":["x"],)"
      R"("revived":false})"
      "\n";
  const auto ev = parse_events(text, "bot", std::nullopt);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].event["supervisor_parent"], (nlohmann::json{{"pid", 1}, {"command", "bash"}}));
  EXPECT_FALSE(ev[0].event.contains("supervisor_parent_command"));
  EXPECT_EQ(describe(ev[0].event), "supervisor pid 7, parent pid 1 (bash)");
}

TEST(LsHistory, EventsTableAndJson)
{
  std::vector<JobEvent> ev{
      {"bot",
       at("2026-11-21T10:00:01Z"),
       {{"event", "start"}, {"at", "2026-11-21T10:00:01.000Z"}, {"pid", 9}, {"run", 1}},
       std::nullopt},
      {"bot",
       at("2026-11-21T10:00:02Z"),
       {{"event", "end"},
        {"at", "2026-11-21T10:00:02.000Z"},
        {"state", "failed"},
        {"why", "x\x1b"}},
       std::nullopt},
  };
  std::string table = render_events(ev);
  EXPECT_EQ(table.substr(0, table.find('\n')), "TIME                 NAME  EVENT  DETAIL");
  EXPECT_NE(table.find("  bot   start  run 1, pid 9\n"), std::string::npos) << table;
  EXPECT_NE(table.find("  bot   end    failed: x\\x1b\n"), std::string::npos) << table;
  auto j = events_json(ev);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0].begin().key(), "schema_version");
  EXPECT_EQ(j[0]["schema_version"], k_schema_version);
  EXPECT_EQ(j[0]["name"], "bot");
  EXPECT_FALSE(j[0].contains("job"));
  EXPECT_EQ(j[0]["pid"], 9);
  EXPECT_EQ(j[1]["why"], "x\x1b");
}

ListedJob job(const std::string& name, RunState shown)
{
  ListedJob j;
  j.view.name = name;
  j.view.shown = shown;
  JobState st;
  st.name = name;
  st.state = shown;
  st.restarts = 2;
  st.started_at = at("2026-11-21T10:00:00Z");
  j.view.state = st;
  return j;
}

TEST(LsHistory, PrometheusHasEveryFamilyOnceAndOneStateSet)
{
  ListedJob bot = job("bot", RunState::Running);
  bot.uptime = std::chrono::seconds(90);
  bot.view.state->run = 4;
  bot.view.state->failures = 1;
  bot.view.state->run_started_at = at("2026-11-21T11:00:00Z");
  bot.view.state->deadline_at = at("2026-11-21T12:00:00Z");
  ListedJob cron = job("cron", RunState::Failed);
  ExitRecord e;
  e.status = ExitStatus::killed(9);
  e.runtime_s = 1.5;
  e.outcome = Outcome::Failed;
  e.at = at("2026-11-21T11:00:00Z");
  cron.view.state->last_exit = e;
  std::string text = render_prometheus({bot, cron}, "/s");
  for (const char* line :
       {"pg_job_state{name=\"bot\",state_dir=\"/s\",state=\"running\"} 1\n",
        "pg_job_state{name=\"bot\",state_dir=\"/s\",state=\"failed\"} 0\n",
        "pg_job_state{name=\"cron\",state_dir=\"/s\",state=\"failed\"} 1\n",
        "pg_job_up{name=\"bot\",state_dir=\"/s\"} 1\n",
        "pg_job_up{name=\"cron\",state_dir=\"/s\"} 0\n", "# TYPE pg_job_runs_total counter\n",
        "pg_job_runs_total{name=\"bot\",state_dir=\"/s\"} 4\n",
        "# TYPE pg_job_failures_total counter\n",
        "pg_job_failures_total{name=\"bot\",state_dir=\"/s\"} 1\n",
        "# TYPE pg_job_restarts gauge\n", "pg_job_restarts{name=\"cron\",state_dir=\"/s\"} 2\n",
        "pg_job_run_started_timestamp_seconds{name=\"bot\",state_dir=\"/s\"} 1795258800\n",
        "pg_job_deadline_timestamp_seconds{name=\"bot\",state_dir=\"/s\"} 1795262400\n",
        "pg_job_last_exit_code{name=\"cron\",state_dir=\"/s\"} -1\n",
        "pg_job_last_exit_signal{name=\"cron\",state_dir=\"/s\"} 9\n",
        "pg_job_last_exit_failed{name=\"cron\",state_dir=\"/s\"} 1\n",
        "pg_job_last_exit_runtime_seconds{name=\"cron\",state_dir=\"/s\"} 1.5\n",
        "pg_job_last_exit_timestamp_seconds{name=\"cron\",state_dir=\"/s\"} 1795258800\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  }
  // No value, no sample: a job that never exited has no last_exit series, one whose state does
  // not keep the failures (written before they were kept) no failures_total series.
  EXPECT_EQ(text.find("pg_job_last_exit_code{name=\"bot\""), std::string::npos);
  EXPECT_EQ(text.find("pg_job_run_started_timestamp_seconds{name=\"cron\""), std::string::npos);
  EXPECT_EQ(text.find("pg_job_failures_total{name=\"cron\""), std::string::npos);
  // Ages go stale in a textfile: none.
  EXPECT_EQ(text.find("_age_seconds"), std::string::npos);
  EXPECT_EQ(text.find("pg_job_uptime_seconds"), std::string::npos);
  // Each family's HELP and TYPE once.
  size_t n = 0;
  for (size_t p = text.find("# TYPE pg_job_state "); p != std::string::npos;
       p = text.find("# TYPE pg_job_state ", p + 1)) {
    ++n;
  }
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(text.back(), '\n');
}

TEST(LsHistory, PrometheusEscapesTheStateDirLabel)
{
  const std::string text = render_prometheus({job("bot", RunState::Running)}, "/home/a \"b\"\\c");
  EXPECT_NE(text.find("pg_job_up{name=\"bot\",state_dir=\"/home/a \\\"b\\\"\\\\c\"} 1\n"),
            std::string::npos)
      << text;
}

} // namespace
} // namespace pg
