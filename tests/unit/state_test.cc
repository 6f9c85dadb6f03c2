#include "state.h"

#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <stdexcept>
#include <string>

namespace pg {
namespace {

using nlohmann::json;

WallTime at_ms(long long ms)
{
  return WallTime(std::chrono::milliseconds(ms));
}

// A definition with every field away from its default.
JobDefinition full_definition()
{
  JobDefinition d;
  d.argv = {"python3", "-u", "bot.py", "--greeting", "hello world", ""};
  d.resolved = "/usr/bin/python3";
  d.cwd = "/home/me/bot";
  d.umask = 077;
  d.path = "/home/me/bin:/usr/bin:/bin";
  d.env = {{"TOKEN", "a=b=c"}, {"EMPTY", ""}, {"SPACED", "x y"}};
  d.env_file = "/home/me/bot/.env";
  d.oneshot = true;
  d.duration = Millis(5'400'000);
  d.restart = RestartPolicy::Always;
  d.max_restarts = 7;
  d.restart_window = Millis(600'000);
  d.restart_delay = Millis(250);
  d.restart_delay_max = Millis(120'000);
  d.stop_signal = SIGINT;
  d.stop_timeout = Millis(3500);
  d.log = "/home/me/.local/state/pg/bot/output.log";
  return d;
}

ExitRecord signal_exit()
{
  ExitRecord e;
  e.pid = 4242;
  e.status = ExitStatus::killed(SIGSEGV, true);
  e.runtime_s = 12.345;
  e.outcome = Outcome::Failed;
  e.cause = "signal: SIGSEGV (core dumped)";
  e.at = at_ms(1'795'298'959'123);
  return e;
}

JobState full_state()
{
  JobState s;
  s.name = "bot";
  s.state = RunState::Backoff;
  s.supervisor = {4241, 987'654'321, "0f1e2d3c-boot", 1, "bash -c pg-run", "/user.slice/x.scope"};
  s.pid = 4243;
  s.run_id = "bot-4241-3";
  s.started_at = at_ms(1'795'290'000'000);
  s.run_started_at = at_ms(1'795'298'000'500);
  s.run_started_boot_ns = 123'456'789'012'345;
  s.deadline_at = at_ms(1'795'300'000'000);
  s.next_start_at = at_ms(1'795'298'961'000);
  s.restarts = 3;
  s.run = 4;
  s.status_text = "serving 12 users";
  s.last_exit = signal_exit();
  s.tree = {{4243, 987'654'400}, {4250, 987'654'500}};
  s.definition = full_definition();
  s.updated_at = at_ms(1'795'298'959'200);
  s.failures_since_ack = 3;
  s.last_ack_at = at_ms(1'795'291'000'000);
  s.failures = 7;
  return s;
}

// Through text, as a reader of state.json sees it.
json reparse(const json& j)
{
  return json::parse(dump_line(j));
}

// The message of the runtime_error f throws, or "" when it throws none.
std::string error_of(const std::function<void()>& f)
{
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

std::string state_error(const json& j)
{
  return error_of([&] { job_state_from_json(j); });
}

std::string definition_error(const json& j)
{
  return error_of([&] { definition_from_json(j); });
}

std::string exit_error(const json& j)
{
  return error_of([&] { exit_record_from_json(j); });
}

// ---- enums ----

TEST(StateNames, RoundTripEveryEnumValue)
{
  for (auto s : {RunState::Starting, RunState::Running, RunState::Backoff, RunState::Stopping,
                 RunState::Stopped, RunState::Completed, RunState::Failed, RunState::Lost}) {
    EXPECT_EQ(run_state_from(to_string(s)), s) << to_string(s);
  }
  for (auto o : {Outcome::Completed, Outcome::Failed, Outcome::Restarted, Outcome::Stopped}) {
    EXPECT_EQ(outcome_from(to_string(o)), o) << to_string(o);
  }
  for (auto p : {RestartPolicy::OnFailure, RestartPolicy::Always, RestartPolicy::Never}) {
    EXPECT_EQ(restart_policy_from(to_string(p)), p) << to_string(p);
  }
}

TEST(StateNames, UseTheContractSpelling)
{
  EXPECT_EQ(to_string(RunState::Starting), "starting");
  EXPECT_EQ(to_string(RunState::Lost), "lost");
  EXPECT_EQ(to_string(Outcome::Restarted), "restarted");
  EXPECT_EQ(to_string(RestartPolicy::OnFailure), "on-failure");
}

TEST(StateNames, RefuseUnknownNames)
{
  EXPECT_FALSE(run_state_from("Running"));
  EXPECT_FALSE(run_state_from(""));
  EXPECT_FALSE(outcome_from("crashed"));
  EXPECT_FALSE(restart_policy_from("on_failure"));
  EXPECT_FALSE(restart_policy_from("ALWAYS"));
}

TEST(StateNames, OnlyStartingRunningBackoffAndStoppingAreLive)
{
  EXPECT_TRUE(is_live(RunState::Starting));
  EXPECT_TRUE(is_live(RunState::Running));
  EXPECT_TRUE(is_live(RunState::Backoff));
  EXPECT_TRUE(is_live(RunState::Stopping));
  EXPECT_FALSE(is_live(RunState::Stopped));
  EXPECT_FALSE(is_live(RunState::Completed));
  EXPECT_FALSE(is_live(RunState::Failed));
  EXPECT_FALSE(is_live(RunState::Lost));
}

// ---- JobDefinition ----

TEST(DefinitionJson, RoundTripsEveryField)
{
  const JobDefinition d = full_definition();
  EXPECT_EQ(definition_from_json(to_json(d)), d);
  EXPECT_EQ(definition_from_json(reparse(to_json(d))), d);
}

TEST(DefinitionJson, RoundTripsDefaults)
{
  JobDefinition d;
  d.argv = {"sleep", "1"};
  d.resolved = "/bin/sleep";
  d.cwd = "/";
  d.log = "/tmp/x.log";
  EXPECT_EQ(definition_from_json(reparse(to_json(d))), d);
}

TEST(DefinitionJson, WritesContractFieldsInSecondsAndNames)
{
  const json j = to_json(full_definition());
  EXPECT_EQ(j.at("duration_s"), 5400.0);
  EXPECT_EQ(j.at("restart_delay_s"), 0.25);
  EXPECT_EQ(j.at("restart_window_s"), 600.0);
  EXPECT_EQ(j.at("stop_timeout_s"), 3.5);
  EXPECT_EQ(j.at("stop_signal"), "SIGINT");
  EXPECT_EQ(j.at("restart_policy"), "always");
  EXPECT_EQ(j.at("max_restarts"), 7);
  EXPECT_EQ(j.at("env"), json({"TOKEN=a=b=c", "EMPTY=", "SPACED=x y"}));
  EXPECT_EQ(j.at("env_file"), "/home/me/bot/.env");
  EXPECT_EQ(j.at("umask"), 077);
}

TEST(DefinitionJson, WritesUnlimitedMaxRestartsAsAWordAndReadsItBack)
{
  JobDefinition d = full_definition();
  d.max_restarts = std::nullopt;
  const json j = to_json(d);
  EXPECT_EQ(j.at("max_restarts"), "unlimited");
  EXPECT_EQ(definition_from_json(reparse(j)).max_restarts, std::nullopt);
}

TEST(DefinitionJson, RoundTripsZeroMaxRestarts)
{
  JobDefinition d = full_definition();
  d.max_restarts = 0U;
  EXPECT_EQ(definition_from_json(reparse(to_json(d))).max_restarts, 0U);
}

TEST(DefinitionJson, WritesAnEmptyEnvFileAsNull)
{
  JobDefinition d = full_definition();
  d.env_file.clear();
  const json j = to_json(d);
  EXPECT_TRUE(j.at("env_file").is_null());
  EXPECT_EQ(definition_from_json(reparse(j)), d);
}

TEST(DefinitionJson, RoundTripsRealTimeStopSignals)
{
  JobDefinition d = full_definition();
  d.stop_signal = SIGRTMIN + 2;
  const json j = to_json(d);
  EXPECT_EQ(j.at("stop_signal"), "SIGRTMIN+2");
  EXPECT_EQ(definition_from_json(reparse(j)).stop_signal, SIGRTMIN + 2);
}

TEST(DefinitionJson, RoundTripsMillisecondDurations)
{
  JobDefinition d = full_definition();
  d.duration = Millis(1);
  d.restart_window = Millis(86'400'001);
  d.restart_delay = Millis(999);
  d.stop_timeout = Millis(123'456'789);
  EXPECT_EQ(definition_from_json(reparse(to_json(d))), d);
}

TEST(DefinitionJson, FillsDefaultsForOptionalFields)
{
  json j = {{"command", {"x"}}, {"resolved", "/bin/x"}, {"cwd", "/"}, {"log", "/l"}};
  JobDefinition d = definition_from_json(j);
  EXPECT_EQ(d.argv, std::vector<std::string>{"x"});
  EXPECT_EQ(d.resolved, "/bin/x");
  EXPECT_EQ(d.umask, 022U);
  EXPECT_EQ(d.restart, RestartPolicy::OnFailure);
  EXPECT_EQ(d.max_restarts, 5U);
  EXPECT_EQ(d.stop_signal, SIGTERM);
  EXPECT_EQ(d.duration, Millis(0));
  EXPECT_EQ(d.restart_window, Millis(3'600'000));
}

// A definition as schema_version 1 wrote it: argv, command the resolved path, restart.
TEST(DefinitionJson, ReadsSchemaVersion1Names)
{
  json j = {{"argv", {"x", "-v"}},
            {"command", "/bin/x"},
            {"cwd", "/"},
            {"log", "/l"},
            {"restart", "always"}};
  JobDefinition d = definition_from_json(j);
  EXPECT_EQ(d.argv, (std::vector<std::string>{"x", "-v"}));
  EXPECT_EQ(d.resolved, "/bin/x");
  EXPECT_EQ(d.restart, RestartPolicy::Always);
  for (const char* field : {"argv", "command"}) {
    json k = j;
    k.erase(field);
    EXPECT_EQ(definition_error(k), std::string("missing field '") + field + "'");
  }
}

TEST(DefinitionJson, RefusesMissingRequiredFieldsNamingThem)
{
  for (const char* field : {"command", "resolved", "cwd", "log"}) {
    json j = to_json(full_definition());
    j.erase(field);
    EXPECT_EQ(definition_error(j), std::string("missing field '") + field + "'");
  }
}

TEST(DefinitionJson, RefusesWrongTypesNamingTheField)
{
  const std::pair<const char*, json> cases[] = {
      {"command", "python3 bot.py"},
      {"command", {1, 2}},
      {"resolved", 5},
      {"cwd", nullptr},
      {"umask", "022"},
      {"oneshot", "yes"},
      {"oneshot", 1},
      {"duration_s", "90s"},
      {"restart_policy", 1},
      {"stop_signal", 15},
      {"env", "A=1"},
      {"max_restarts", 2.5},
      {"max_restarts", true},
      {"max_restarts", nullptr},
  };
  for (const auto& [field, value] : cases) {
    json j = to_json(full_definition());
    j[field] = value;
    const std::string err = definition_error(j);
    EXPECT_NE(err.find(std::string("'") + field + "'"), std::string::npos)
        << field << " = " << value.dump() << ": '" << err << "'";
  }
}

TEST(DefinitionJson, RefusesBadValuesNamingTheField)
{
  const std::pair<const char*, json> cases[] = {
      {"command", json::array()},
      {"restart_policy", "sometimes"},
      {"stop_signal", "SIGNOPE"},
      {"env", {"NO_EQUALS"}},
      {"max_restarts", -1},
      {"max_restarts", "banana"},
      {"max_restarts", 1e12},
      {"duration_s", -5},
      {"restart_delay_s", 1e300},
      {"stop_timeout_s", -0.5},
      {"umask", -1},
  };
  for (const auto& [field, value] : cases) {
    json j = to_json(full_definition());
    j[field] = value;
    const std::string err = definition_error(j);
    EXPECT_NE(err.find(std::string("'") + field + "'"), std::string::npos)
        << field << " = " << value.dump() << ": '" << err << "'";
  }
}

TEST(DefinitionJson, RefusesANonObject)
{
  EXPECT_NE(definition_error(json::array()), "");
  EXPECT_NE(definition_error(json("x")), "");
}

// ---- ExitRecord ----

TEST(ExitRecordJson, RoundTripsASignalEnd)
{
  const ExitRecord e = signal_exit();
  const json j = to_json(e);
  EXPECT_TRUE(j.at("code").is_null());
  EXPECT_EQ(j.at("signal"), "SIGSEGV");
  EXPECT_EQ(j.at("core_dumped"), true);
  EXPECT_EQ(j.at("outcome"), "failed");
  EXPECT_EQ(j.at("at"), "2026-11-21T22:09:19.123Z");
  EXPECT_EQ(exit_record_from_json(reparse(j)), e);
}

TEST(ExitRecordJson, RoundTripsAnExitCode)
{
  ExitRecord e;
  e.pid = 77;
  e.status = ExitStatus::exited(3);
  e.runtime_s = 0.001;
  e.outcome = Outcome::Failed;
  e.cause = "exit: code 3";
  e.at = at_ms(1'000);
  const json j = to_json(e);
  EXPECT_EQ(j.at("code"), 3);
  EXPECT_TRUE(j.at("signal").is_null());
  EXPECT_EQ(exit_record_from_json(reparse(j)), e);
}

TEST(ExitRecordJson, RoundTripsALostRunsUnknownStatus)
{
  ExitRecord e = signal_exit();
  e.status.reset();
  const json j = to_json(e);
  EXPECT_TRUE(j.at("code").is_null());
  EXPECT_TRUE(j.at("signal").is_null());
  EXPECT_EQ(j.at("core_dumped"), false);
  EXPECT_EQ(exit_record_from_json(reparse(j)), e);
}

TEST(ExitRecordJson, RoundTripsEveryOutcome)
{
  for (auto o : {Outcome::Completed, Outcome::Failed, Outcome::Restarted, Outcome::Stopped}) {
    ExitRecord e = signal_exit();
    e.outcome = o;
    EXPECT_EQ(exit_record_from_json(reparse(to_json(e))).outcome, o);
  }
}

TEST(ExitRecordJson, RoundTripsRealTimeSignals)
{
  ExitRecord e = signal_exit();
  e.status->signal = SIGRTMIN + 5;
  EXPECT_EQ(exit_record_from_json(reparse(to_json(e))), e);
}

TEST(ExitRecordJson, RefusesDamageNamingTheField)
{
  const std::pair<const char*, json> cases[] = {
      {"outcome", "exploded"}, {"outcome", 1},        {"signal", "SIGNOPE"}, {"signal", 11},
      {"code", "3"},           {"code", 1.5},         {"at", "yesterday"},   {"at", 12},
      {"pid", "42"},           {"core_dumped", "no"}, {"runtime_s", "1s"},   {"cause", 5},
  };
  for (const auto& [field, value] : cases) {
    json j = to_json(signal_exit());
    j[field] = value;
    const std::string err = exit_error(j);
    EXPECT_NE(err.find(std::string("'") + field + "'"), std::string::npos)
        << field << " = " << value.dump() << ": '" << err << "'";
  }
}

TEST(ExitRecordJson, RefusesMissingOutcomeAndTime)
{
  for (const char* field : {"outcome", "at"}) {
    json j = to_json(signal_exit());
    j.erase(field);
    EXPECT_EQ(exit_error(j), std::string("missing field '") + field + "'");
  }
}

// ---- JobState ----

TEST(JobStateJson, RoundTripsEveryFieldSet)
{
  const JobState s = full_state();
  const json j = to_json(s);
  EXPECT_EQ(j.at("schema_version"), k_schema_version);
  EXPECT_EQ(j.at("state"), "backoff");
  EXPECT_EQ(j.at("pid"), 4243);
  EXPECT_EQ(j.at("deadline_at"), "2026-11-21T22:26:40.000Z");
  EXPECT_EQ(j.at("supervisor").at("boot_id"), "0f1e2d3c-boot");
  EXPECT_EQ(j.at("last_exit").at("signal"), "SIGSEGV");
  EXPECT_EQ(job_state_from_json(reparse(j)), s);
}

// A state.json as schema_version 1 wrote it (the names before one vocabulary) reads as the
// same state: an upgrade of pg never makes a job unreadable.
TEST(JobStateJson, ReadsASchemaVersion1File)
{
  JobState s = full_state();
  s.memory_rss = 1'048'576;
  json j = to_json(s);
  EXPECT_EQ(j.at("supervisor_parent"), (json{{"pid", 1}, {"command", "bash -c pg-run"}}));
  EXPECT_EQ(j.at("memory_rss_bytes"), 1'048'576);
  EXPECT_EQ(j.at("definition").at("command"), json(s.definition.argv));
  EXPECT_EQ(j.at("definition").at("resolved"), s.definition.resolved);
  EXPECT_EQ(j.at("definition").at("restart_policy"), "always");
  j["schema_version"] = 1;
  j["supervisor"]["parent_pid"] = j["supervisor_parent"]["pid"];
  j["supervisor"]["parent_command"] = j["supervisor_parent"]["command"];
  j.erase("supervisor_parent");
  j["memory_rss"] = j["memory_rss_bytes"];
  j.erase("memory_rss_bytes");
  json& d = j["definition"];
  d["argv"] = d["command"];
  d["command"] = d["resolved"];
  d.erase("resolved");
  d["restart"] = d["restart_policy"];
  d.erase("restart_policy");
  EXPECT_EQ(job_state_from_json(reparse(j)), s);
}

TEST(JobStateJson, WritesTheTreeAsPidsWithStartTimes)
{
  const json j = to_json(full_state());
  EXPECT_EQ(j.at("run"), 4);
  ASSERT_EQ(j.at("tree").size(), 2u);
  EXPECT_EQ(j.at("tree")[1].at("pid"), 4250);
  EXPECT_EQ(j.at("tree")[1].at("start_time"), 987'654'500u);
  JobState empty = full_state();
  empty.tree.clear();
  EXPECT_TRUE(to_json(empty).at("tree").is_array());
  EXPECT_EQ(job_state_from_json(reparse(to_json(empty))), empty);
}

TEST(JobStateJson, ReadsAStateWithoutTreeOrRunAsEmpty)
{
  json j = to_json(full_state());
  j.erase("tree");
  j.erase("run");
  const JobState s = job_state_from_json(j);
  EXPECT_TRUE(s.tree.empty());
  EXPECT_EQ(s.run, 0u);
  j["tree"] = nullptr;
  EXPECT_TRUE(job_state_from_json(j).tree.empty());
}

TEST(JobStateJson, RefusesADamagedTreeNamingIt)
{
  for (const json& bad : {json("x"), json::array({1}), json::array({{{"pid", 1}}}),
                          json::array({{{"pid", "1"}, {"start_time", 2}}}),
                          json::array({{{"pid", 1}, {"start_time", -2}}})}) {
    json j = to_json(full_state());
    j["tree"] = bad;
    const std::string err = state_error(j);
    EXPECT_NE(err.find("'tree'"), std::string::npos) << bad.dump() << ": " << err;
  }
}

TEST(JobStateJson, WritesTheFailuresSinceTheLastAck)
{
  const json j = to_json(full_state());
  EXPECT_EQ(j.at("failures_since_ack"), 3);
  EXPECT_EQ(j.at("last_ack_at"), "2026-11-21T19:56:40.000Z");
  JobState never = full_state();
  never.last_ack_at.reset();
  EXPECT_TRUE(to_json(never).at("last_ack_at").is_null());
  EXPECT_EQ(job_state_from_json(reparse(to_json(never))), never);
}

TEST(JobStateJson, ReadsAStateWrittenBeforeAcksAsNoFailuresNeverAcknowledged)
{
  json j = to_json(full_state());
  j.erase("failures_since_ack");
  j.erase("last_ack_at");
  const JobState s = job_state_from_json(j);
  EXPECT_EQ(s.failures_since_ack, 0u);
  EXPECT_FALSE(s.last_ack_at);
  j["failures_since_ack"] = nullptr;
  EXPECT_EQ(job_state_from_json(j).failures_since_ack, 0u);
}

TEST(JobStateJson, WritesTheFailuresEverRecordedAndReadsTheirAbsenceAsUnknown)
{
  json j = to_json(full_state());
  EXPECT_EQ(j.at("failures"), 7);
  EXPECT_EQ(job_state_from_json(reparse(j)).failures, 7u);
  j.erase("failures");
  EXPECT_FALSE(job_state_from_json(j).failures);
  j["failures"] = nullptr;
  EXPECT_FALSE(job_state_from_json(j).failures);
}

TEST(JobStateJson, CountsTheAckInEquality)
{
  JobState a = full_state();
  JobState b = a;
  b.failures_since_ack = 0;
  EXPECT_NE(a, b);
  b = a;
  b.last_ack_at.reset();
  EXPECT_NE(a, b);
}

TEST(JobStateJson, RoundTripsEveryOptionalFieldNull)
{
  JobState s = full_state();
  s.state = RunState::Starting;
  s.pid = std::nullopt;
  s.started_at = std::nullopt;
  s.run_started_at = std::nullopt;
  s.deadline_at = std::nullopt;
  s.next_start_at = std::nullopt;
  s.last_exit = std::nullopt;
  const json j = to_json(s);
  for (const char* field :
       {"pid", "started_at", "run_started_at", "deadline_at", "next_start_at", "last_exit"}) {
    EXPECT_TRUE(j.at(field).is_null()) << field;
  }
  EXPECT_EQ(job_state_from_json(reparse(j)), s);
}

TEST(JobStateJson, RoundTripsEveryRunState)
{
  for (auto st : {RunState::Starting, RunState::Running, RunState::Backoff, RunState::Stopping,
                  RunState::Stopped, RunState::Completed, RunState::Failed, RunState::Lost}) {
    JobState s = full_state();
    s.state = st;
    EXPECT_EQ(job_state_from_json(reparse(to_json(s))), s);
  }
}

TEST(JobStateJson, RefusesANewerSchemaVersion)
{
  json j = to_json(full_state());
  j["schema_version"] = k_schema_version + 1;
  const std::string err = state_error(j);
  EXPECT_NE(err.find("schema_version " + std::to_string(k_schema_version + 1)), std::string::npos)
      << err;
  EXPECT_NE(err.find("newer"), std::string::npos) << err;
}

TEST(JobStateJson, RefusesMissingRequiredFieldsNamingThem)
{
  for (const char* field :
       {"schema_version", "name", "state", "supervisor", "definition", "updated_at"}) {
    json j = to_json(full_state());
    j.erase(field);
    EXPECT_EQ(state_error(j), std::string("missing field '") + field + "'");
  }
}

TEST(JobStateJson, RefusesWrongTypesNamingTheField)
{
  const std::pair<const char*, json> cases[] = {
      {"schema_version", "1"},
      {"name", 5},
      {"state", true},
      {"pid", "4243"},
      {"pid", 1.5},
      {"pid", true},
      {"restarts", "three"},
      {"restarts", -3},
      {"run_id", 7},
      {"status_text", 1},
      {"started_at", 0},
      {"run_started_boot_ns", "x"},
      {"updated_at", nullptr},
      {"supervisor", 1},
      {"definition", "x"},
      {"pid", 1e12},
      {"schema_version", 1.5},
      {"failures_since_ack", -1},
      {"failures_since_ack", "2"},
      {"last_ack_at", 5},
  };
  for (const auto& [field, value] : cases) {
    json j = to_json(full_state());
    j[field] = value;
    const std::string err = state_error(j);
    EXPECT_NE(err.find(std::string("'") + field + "'"), std::string::npos)
        << field << " = " << value.dump() << ": '" << err << "'";
  }
}

TEST(JobStateJson, RefusesBadValuesNamingTheField)
{
  const std::pair<const char*, json> cases[] = {
      {"state", "dancing"},
      {"started_at", "2026-13-45T99:99:99Z"},
      {"updated_at", "not a time"},
      {"last_ack_at", "yesterday"},
  };
  for (const auto& [field, value] : cases) {
    json j = to_json(full_state());
    j[field] = value;
    const std::string err = state_error(j);
    EXPECT_NE(err.find(std::string("'") + field + "'"), std::string::npos)
        << field << " = " << value.dump() << ": '" << err << "'";
  }
}

TEST(JobStateJson, NamesTheNestedObjectOfADamagedField)
{
  // "pid" alone would be ambiguous: the job's pid or the supervisor's?
  json j = to_json(full_state());
  j["supervisor"].erase("pid");
  std::string err = state_error(j);
  EXPECT_NE(err.find("supervisor"), std::string::npos) << err;
  EXPECT_NE(err.find("'pid'"), std::string::npos) << err;

  j = to_json(full_state());
  j["last_exit"]["outcome"] = "exploded";
  err = state_error(j);
  EXPECT_NE(err.find("last_exit"), std::string::npos) << err;
  EXPECT_NE(err.find("'outcome'"), std::string::npos) << err;

  j = to_json(full_state());
  j["definition"].erase("command");
  err = state_error(j);
  EXPECT_NE(err.find("definition"), std::string::npos) << err;
  EXPECT_NE(err.find("'command'"), std::string::npos) << err;
}

TEST(JobStateJson, RefusesANonObject)
{
  EXPECT_NE(state_error(json::array()), "");
  EXPECT_NE(state_error(json(nullptr)), "");
  EXPECT_NE(state_error(json(42)), "");
}

// ---- dump_line ----

TEST(DumpLine, ReplacesInvalidUtf8InsteadOfThrowing)
{
  const json j = {{"line", "ok \xff\xfe end"}};
  std::string out;
  ASSERT_NO_THROW(out = dump_line(j));
  EXPECT_EQ(out, "{\"line\":\"ok \xEF\xBF\xBD\xEF\xBF\xBD end\"}");
  EXPECT_EQ(json::parse(out).at("line"), "ok \xEF\xBF\xBD\xEF\xBF\xBD end");
}

TEST(DumpLine, ReplacesATruncatedMultibyteSequence)
{
  const std::string out = dump_line(json("caf\xc3"));
  EXPECT_EQ(out, "\"caf\xEF\xBF\xBD\"");
}

TEST(DumpLine, KeepsValidUtf8AsIs)
{
  EXPECT_EQ(dump_line(json("caf\xc3\xa9 \xe2\x9c\x93")), "\"caf\xc3\xa9 \xe2\x9c\x93\"");
}

TEST(DumpLine, IsOneLineEvenWhenStringsHoldNewlines)
{
  const std::string out = dump_line(json{{"a", "x\ny\r\n"}, {"b", {1, 2}}});
  EXPECT_EQ(out.find('\n'), std::string::npos);
  EXPECT_EQ(json::parse(out).at("a"), "x\ny\r\n");
}

TEST(DumpLine, StoresAnInvalidUtf8ArgvWithReplacementCharacters)
{
  JobDefinition d = full_definition();
  d.argv = {"prog", "arg\x80"};
  const JobDefinition back = definition_from_json(json::parse(dump_line(to_json(d))));
  ASSERT_EQ(back.argv.size(), 2U);
  EXPECT_EQ(back.argv[1], "arg\xEF\xBF\xBD");
}

} // namespace
} // namespace pg
