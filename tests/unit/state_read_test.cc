// parse_job_state, the one reader of state.json, from its text: it reads what pg writes, in any
// formatting, as the JSON value says (job_state_from_json of the parsed text: the same checks
// and messages), and refuses damage naming the field. state_test.cc covers each field's checks.
#include "json_reader.h"
#include "state.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace pg {
namespace {

using nlohmann::json;

JobState full_state()
{
  JobState s;
  s.name = "web-1";
  s.state = RunState::Running;
  s.supervisor = {4242, 123456789, "0f1e2d3c-aaaa-bbbb-cccc-000011112222",
                  17,   "bash -l", "/user.slice"};
  s.supervisor.pid_namespace = 4026531836;
  s.pid = 4300;
  s.run_id = "0123456789abcdef0123456789abcdef";
  const WallTime t = *parse_rfc3339("2026-01-02T03:04:05.678Z");
  s.started_at = t;
  s.run_started_at = t + std::chrono::seconds(5);
  s.run_started_boot_ns = 987654321012;
  s.deadline_at = t + std::chrono::hours(1);
  s.next_start_at = t + std::chrono::seconds(9);
  s.restarts = 3;
  s.status_text = "serving \"quoted\" \\ tab\there\nnext";
  s.memory_rss = 123456789;
  ExitRecord e;
  e.pid = 4299;
  e.status = ExitStatus::killed(9, true);
  e.runtime_s = 12.345;
  e.outcome = Outcome::Restarted;
  e.cause = "signal: SIGKILL";
  e.at = t + std::chrono::seconds(4);
  e.max_rss_kb = 2048;
  e.user_cpu_s = 0.25;
  e.sys_cpu_s = 1.5e-05;
  s.last_exit = e;
  s.handover = Handover{4298, 4300, t + std::chrono::seconds(3)};
  s.log_dropped_bytes = 77;
  s.log_drop_error = "No space left on device";
  s.storage_error =
      StorageFault{"No space left on device", t, t + std::chrono::seconds(2), 4, 1, 2};
  s.run = 7;
  s.tree = {{4300, 123456999}, {4310, uint64_t{1} << 40}};
  JobDefinition& d = s.definition;
  d.argv = {"python3", "-u", "it's a/b.py", "--x=1", "caf\xC3\xA9"};
  d.resolved = "/usr/bin/python3";
  d.cwd = "/srv/work";
  d.umask = 077;
  d.path = "/usr/local/bin:/usr/bin:/bin";
  d.env = {{"A", "1"}, {"B", "x=y"}, {"EMPTY", ""}};
  d.env_file = "/etc/job.env";
  d.oneshot = true;
  d.duration = Millis(90'500);
  d.restart = RestartPolicy::Always;
  d.max_restarts = std::nullopt;
  d.restart_window = Millis(60'000);
  d.restart_delay = Millis(0);
  d.restart_delay_max = Millis(1'000);
  d.stop_signal = 2;
  d.stop_timeout = Millis(2'500);
  d.log = "/tmp/state/web-1/output.log";
  d.log_max_size = 0;
  d.log_keep = 9;
  d.log_timestamps = true;
  d.notify = true;
  d.watchdog = Millis(30'000);
  d.stall = Millis(600'000);
  d.max_memory = uint64_t{1} << 30;
  d.restart_every = Millis(86'400'000);
  d.on_failure = "mail -s 'job failed' ops";
  d.alert_cooldown = Millis(1);
  d.alert_timeout = Millis(123);
  s.updated_at = t + std::chrono::seconds(10);
  s.failures_since_ack = 2;
  s.last_ack_at = t + std::chrono::seconds(1);
  return s;
}

JobState plain_state()
{
  JobState s;
  s.name = "x";
  s.state = RunState::Completed;
  s.supervisor.pid = 1;
  s.supervisor.boot_id = "b";
  s.definition.argv = {"true"};
  s.definition.resolved = "/bin/true";
  s.definition.cwd = "/";
  s.definition.log = "/l";
  return s;
}

// What the reader says of text: the state, or its error.
struct Read {
  std::optional<JobState> state;
  std::string error;
  bool syntax = false; // the text is not JSON
};

Read read(const std::string& text)
{
  Read r;
  try {
    r.state = parse_job_state(text);
  } catch (const JsonSyntaxError& e) {
    r.error = e.what();
    r.syntax = true;
  } catch (const std::runtime_error& e) {
    r.error = e.what();
  }
  return r;
}

// The text read as the JSON value nlohmann parses from it says: the same state or error.
void expect_as_the_value_says(const std::string& text)
{
  const Read got = read(text);
  const json j = json::parse(text, nullptr, false);
  ASSERT_EQ(got.syntax, j.is_discarded()) << got.error << "\n" << text;
  if (got.syntax) {
    return;
  }
  try {
    const JobState s = job_state_from_json(j);
    ASSERT_TRUE(got.state.has_value()) << got.error << "\n" << text;
    EXPECT_EQ(*got.state, s) << text;
  } catch (const std::runtime_error& e) {
    EXPECT_FALSE(got.state.has_value()) << text;
    EXPECT_EQ(got.error, e.what()) << text;
  }
}

// The text of full_state() with the value of field ("name": value) replaced by value.
std::string with_value(const std::string& field, const std::string& value, bool pretty = false)
{
  std::string text = pretty ? to_json(full_state()).dump(2) : dump_line(to_json(full_state()));
  const std::string key = "\"" + field + "\":" + (pretty ? " " : "");
  const size_t at = text.find(key) + key.size();
  text.replace(at, text.find_first_of(",}\n", at) - at, value);
  return text;
}

TEST(ParseJobState, ReadsWhatPgWrites)
{
  for (const JobState& s : {full_state(), plain_state()}) {
    EXPECT_EQ(parse_job_state(dump_line(to_json(s)) + "\n"), s);
    EXPECT_EQ(parse_job_state(to_json(s).dump(2)), s); // indented, as a person may rewrite it
  }
}

TEST(ParseJobState, ReadsEveryFieldChangedAsTheJsonValueSays)
{
  const json base = to_json(full_state());
  const std::vector<json> values{nullptr,
                                 "x",
                                 "",
                                 1,
                                 0,
                                 -1,
                                 1.5,
                                 true,
                                 false,
                                 json::array(),
                                 json::array({"a", "b=c"}),
                                 json::object(),
                                 1e300,
                                 json(uint64_t{1} << 63),
                                 "SIGKILL",
                                 "unlimited",
                                 "stopped",
                                 "2026-01-02T03:04:05Z",
                                 511,
                                 512};
  for (auto it = base.begin(); it != base.end(); ++it) {
    std::vector<std::vector<std::string>> paths{{it.key()}};
    if (it->is_object()) {
      for (auto in = it->begin(); in != it->end(); ++in) {
        paths.push_back({it.key(), in.key()});
      }
    }
    for (const auto& path : paths) {
      json removed = base;
      json& parent = path.size() == 1 ? removed : removed[path[0]];
      parent.erase(path.back());
      expect_as_the_value_says(dump_line(removed));
      for (const json& v : values) {
        json changed = base;
        (path.size() == 1 ? changed[path[0]] : changed[path[0]][path[1]]) = v;
        expect_as_the_value_says(dump_line(changed));
        expect_as_the_value_says(changed.dump(1, '\t'));
      }
    }
  }
}

TEST(ParseJobState, ReportsTheFirstDamageInTheReadersOrderWhereverItIsInTheText)
{
  // pg writes keys sorted: "definition" comes before "name" and "state" in the text.
  json j = to_json(full_state());
  j["definition"]["argv"] = json::array();
  j["state"] = "dancing";
  EXPECT_EQ(read(dump_line(j)).error, "field 'state' is not a state");
  // A newer schema first of all: its fields may mean something else.
  j["schema_version"] = k_schema_version + 1;
  j["name"] = 5;
  EXPECT_EQ(read(dump_line(j)).error, "schema_version " + std::to_string(k_schema_version + 1) +
                                          " is newer than this pg understands");
}

TEST(ParseJobState, ReadsTimesAsParseRfc3339Does)
{
  for (const char* t :
       {"2026-01-02T03:04:05.678Z", "2024-02-29T23:59:60.999Z", "2023-02-29T00:00:00.000Z",
        "1900-01-01T00:00:00.000Z", "1969-12-31T23:59:59.999Z", "2199-12-31T23:59:59.999Z",
        "2026-13-01T00:00:00.000Z", "2026-01-01T24:00:00.000Z", "2026-01-01T00:00:00.000+01:00",
        "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.5Z", "2026-01-01t00:00:00.000Z",
        "2026-01-01T00:00:00.000z", "2026-1-01T00:00:00.000Z"}) {
    const Read r = read(with_value("updated_at", std::string("\"") + t + "\""));
    ASSERT_EQ(r.state.has_value(), parse_rfc3339(t).has_value()) << t << ": " << r.error;
    if (r.state) {
      EXPECT_EQ(r.state->updated_at, *parse_rfc3339(t)) << t;
    } else {
      EXPECT_EQ(r.error, "field 'updated_at' is not an RFC 3339 time") << t;
    }
  }
}

TEST(ParseJobState, RefusesDamagedText)
{
  const std::string text = dump_line(to_json(full_state()));
  for (size_t n = 0; n < text.size(); n += 7) {
    EXPECT_TRUE(read(text.substr(0, n)).syntax) << n;
  }
  for (const std::string& bad : {text + " {}", text + ",", text.substr(0, text.size() - 1) + ",}",
                                 std::string(""), std::string("\x00\xff\xfe\x01garbage", 11)}) {
    EXPECT_TRUE(read(bad).syntax) << bad;
    EXPECT_TRUE(read(bad).error.starts_with("invalid JSON: ")) << read(bad).error;
  }
  EXPECT_EQ(read("[" + text + "]").error, "state is not a JSON object");
  EXPECT_EQ(read("null").error, "state is not a JSON object");
  std::string bad_utf8 = text;
  bad_utf8.replace(bad_utf8.find("web-1"), 5, "w\xC3(b");
  EXPECT_TRUE(read(bad_utf8).syntax);
  EXPECT_TRUE(read(with_value("restarts", "03")).syntax);
  EXPECT_TRUE(read(with_value("restarts", "tru")).syntax);
}

TEST(ParseJobState, ReadsWhatNlohmannAcceptsAroundTheObject)
{
  const std::string text = dump_line(to_json(full_state()));
  const JobState s = full_state();
  EXPECT_EQ(parse_job_state("\xEF\xBB\xBF" + text), s);           // a byte order mark
  EXPECT_EQ(parse_job_state(text + std::string("\0\0\0", 3)), s); // NULs end the text
  EXPECT_EQ(parse_job_state(" \t\r\n" + text + " \n"), s);
  // Unknown keys are skipped whatever they hold (a newer pg-run's fields), but checked as JSON.
  const std::string extra = text.substr(0, text.size() - 1) + ",\"extra\":{\"a\":[1,2.5e3,null]}}";
  EXPECT_EQ(parse_job_state(extra), s);
  EXPECT_TRUE(read(text.substr(0, text.size() - 1) + ",\"extra\":[1,tru]}").syntax);
  std::string deep = text.substr(0, text.size() - 1) + ",\"deep\":" + std::string(10000, '[') +
                     std::string(10000, ']') + "}";
  EXPECT_NE(read(deep).error.find("nested deeper than"), std::string::npos);
  // A repeated key counts by its last occurrence, as in nlohmann's value.
  EXPECT_EQ(parse_job_state(text.substr(0, text.size() - 1) + ",\"name\":\"other\"}").name,
            "other");
  // Escapes and UTF-8 in strings and keys.
  std::string escaped = text;
  const std::string name = "\"name\":\"web-1\"";
  escaped.replace(escaped.find(name), name.size(), "\"n\\u0061me\":\"w\\u00e9b\"");
  EXPECT_EQ(parse_job_state(escaped).name, "w\xC3\xA9"
                                           "b");
}

constexpr const char* k_millis_fields[] = {
    "duration_s", "restart_window_s", "restart_delay_s", "restart_delay_max_s", "stop_timeout_s",
    "watchdog_s", "stall_s",          "restart_every_s", "alert_cooldown_s",    "alert_timeout_s"};

TEST(ParseJobState, AcceptsDurationsOfExactlyTheLimit)
{
  for (const char* field : k_millis_fields) {
    for (const char* value : {"3153600000", "3153600000.0", "3.1536e9", "3153599999.9995"}) {
      const Read r = read(with_value(field, value));
      ASSERT_TRUE(r.state.has_value()) << field << " " << value << ": " << r.error;
    }
  }
  JobState s = full_state();
  s.definition.duration = k_max_duration;
  EXPECT_EQ(parse_job_state(dump_line(to_json(s))).definition.duration, k_max_duration);
}

TEST(ParseJobState, RefusesDurationsOutOfRangeNamingTheField)
{
  for (const char* field : k_millis_fields) {
    // Negative, past the limit (by a hair, by a day, past 2^52 ms, past 64 bits, 1e300: a
    // double whose milliseconds no integer holds).
    for (const char* value :
         {"-1", "-0.001", "-9223372036854775808", "3153600000.001", "3153600001", "3153686400",
          "4503599627370.497", "18446744073709551615", "1e300", "-1e300"}) {
      for (bool pretty : {false, true}) {
        EXPECT_EQ(read(with_value(field, value, pretty)).error,
                  std::string("field 'definition': field '") + field + "' is out of range")
            << value;
      }
    }
    // Not finite: JSON has no infinity, and a number past a double's range is not JSON here
    // (nlohmann refuses it too: "number overflow").
    for (const char* value : {"1e400", "-1e400"}) {
      EXPECT_TRUE(read(with_value(field, value)).syntax) << value;
    }
  }
}

} // namespace
} // namespace pg

namespace pg {
namespace {

// pg-ctl up's record of the file a job came from; a state from before it was launched by hand.
TEST(ParseJobState, ReadsTheJobsFileAndNoneFromOlderFiles)
{
  JobState s = full_state();
  s.definition.jobs_file = "/p/pg.toml";
  EXPECT_EQ(parse_job_state(dump_line(to_json(s))).definition.jobs_file, "/p/pg.toml");
  nlohmann::json older = to_json(s);
  older["definition"].erase("jobs_file");
  EXPECT_EQ(parse_job_state(dump_line(older)).definition.jobs_file, "");
}

} // namespace
} // namespace pg
