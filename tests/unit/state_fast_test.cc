// fast_job_state must agree with job_state_from_json(json::parse()) on everything it accepts,
// and accept the files pg writes.
#include "state_fast.h"

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
  e.signal = 9;
  e.core_dumped = true;
  e.runtime_s = 12.345;
  e.outcome = Outcome::Restarted;
  e.cause = "signal: SIGKILL";
  e.at = t + std::chrono::seconds(4);
  e.max_rss_kb = 2048;
  e.user_cpu_s = 0.25;
  e.sys_cpu_s = 1.5e-05;
  s.last_exit = e;
  s.end_cause = "";
  s.log_dropped_bytes = 77;
  s.log_drop_error = "No space left on device";
  s.run = 7;
  s.tree = {{4300, 123456999}, {4310, uint64_t{1} << 40}};
  JobDefinition& d = s.definition;
  d.argv = {"python3", "-u", "it's a/b.py", "--x=1"};
  d.command = "/usr/bin/python3";
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
  s.definition.command = "/bin/true";
  s.definition.cwd = "/";
  s.definition.log = "/l";
  return s;
}

std::optional<JobState> slow(const std::string& text)
{
  try {
    return job_state_from_json(json::parse(text));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// What the fast reader says must be what the full reader says; it may only decline.
void expect_agrees(const std::string& text)
{
  auto fast = fast_job_state(text);
  if (!fast) {
    return;
  }
  auto full = slow(text);
  ASSERT_TRUE(full.has_value()) << "fast reader accepted what the full one refuses: " << text;
  EXPECT_EQ(*fast, *full) << text;
}

TEST(FastJobState, ReadsWhatPgWrites)
{
  for (const JobState& s : {full_state(), plain_state()}) {
    const std::string text = dump_line(to_json(s)) + "\n";
    auto fast = fast_job_state(text);
    ASSERT_TRUE(fast.has_value()) << text;
    EXPECT_EQ(*fast, s);
    EXPECT_EQ(*fast, *slow(text));
    // Indented, as a person might rewrite it.
    auto pretty = fast_job_state(to_json(s).dump(2));
    ASSERT_TRUE(pretty.has_value());
    EXPECT_EQ(*pretty, s);
  }
}

TEST(FastJobState, AgreesOnEveryFieldChanged)
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
  auto each_field = [&](auto&& change) {
    for (auto it = base.begin(); it != base.end(); ++it) {
      change(std::vector<std::string>{it.key()});
      if (it->is_object()) {
        for (auto in = it->begin(); in != it->end(); ++in) {
          change(std::vector<std::string>{it.key(), in.key()});
        }
      }
    }
  };
  each_field([&](const std::vector<std::string>& path) {
    json removed = base;
    json* parent = &removed;
    for (size_t i = 0; i + 1 < path.size(); ++i) {
      parent = &(*parent)[path[i]];
    }
    parent->erase(path.back());
    expect_agrees(dump_line(removed));
    for (const json& v : values) {
      json changed = base;
      json* at = &changed;
      for (const auto& k : path) {
        at = &(*at)[k];
      }
      *at = v;
      expect_agrees(dump_line(changed));
    }
  });
}

TEST(FastJobState, ReadsTimesAsParseRfc3339Does)
{
  json j = to_json(full_state());
  for (const char* t :
       {"2026-01-02T03:04:05.678Z", "2024-02-29T23:59:60.999Z", "2023-02-29T00:00:00.000Z",
        "1900-01-01T00:00:00.000Z", "1969-12-31T23:59:59.999Z", "2199-12-31T23:59:59.999Z",
        "2026-13-01T00:00:00.000Z", "2026-01-01T24:00:00.000Z", "2026-01-01T00:00:00.000+01:00",
        "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.5Z", "2026-01-01t00:00:00.000Z",
        "2026-01-01T00:00:00.000z", "2026-1-01T00:00:00.000Z"}) {
    j["updated_at"] = t;
    const std::string text = dump_line(j);
    expect_agrees(text);
    EXPECT_EQ(fast_job_state(text).has_value(), parse_rfc3339(t).has_value()) << t;
  }
}

TEST(FastJobState, DeclinesOrAgreesOnDamagedText)
{
  const std::string text = dump_line(to_json(full_state()));
  for (size_t n = 0; n < text.size(); n += 7) {
    EXPECT_FALSE(fast_job_state(text.substr(0, n)).has_value()) << n;
  }
  expect_agrees(text + " {}");
  expect_agrees(text + ",");
  expect_agrees("[" + text + "]");
  expect_agrees(text.substr(0, text.size() - 1) + ",\"name\":\"other\"}"); // a repeated key
  expect_agrees(text.substr(0, text.size() - 1) + ",\"extra\":{\"a\":[1,2.5e3,null]}}");
  expect_agrees(text.substr(0, text.size() - 1) + ",}");
  expect_agrees("\xEF\xBB\xBF" + text); // a BOM
  std::string escaped = text;
  escaped.replace(escaped.find("web-1"), 5, "w\\u00e9b");
  expect_agrees(escaped);
  std::string utf8 = text;
  utf8.replace(utf8.find("web-1"), 5,
               "w\xC3\xA9"
               "b");
  expect_agrees(utf8);
  std::string bad_utf8 = text;
  bad_utf8.replace(bad_utf8.find("web-1"), 5, "w\xC3(b");
  EXPECT_FALSE(fast_job_state(bad_utf8).has_value());
  std::string leading_zero = text;
  leading_zero.replace(leading_zero.find("\"restarts\":3"), 12, "\"restarts\":03");
  EXPECT_FALSE(fast_job_state(leading_zero).has_value());
  std::string deep = text.substr(0, text.size() - 1) + ",\"deep\":" + std::string(10000, '[') +
                     std::string(10000, ']') + "}";
  expect_agrees(deep);
  EXPECT_FALSE(fast_job_state("").has_value());
  EXPECT_FALSE(fast_job_state("null").has_value());
}

// The full reader's error, as pg-ls shows it after "state.json is damaged: "; "" if none.
std::string full_error(const std::string& text)
{
  try {
    (void)job_state_from_json(json::parse(text));
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

constexpr const char* k_millis_fields[] = {
    "duration_s", "restart_window_s", "restart_delay_s", "restart_delay_max_s", "stop_timeout_s",
    "watchdog_s", "stall_s",          "restart_every_s", "alert_cooldown_s",    "alert_timeout_s"};

TEST(FastJobState, AcceptsDurationsOfExactlyTheLimitAsTheFullReaderDoes)
{
  for (const char* field : k_millis_fields) {
    for (const char* value : {"3153600000", "3153600000.0", "3.1536e9", "3153599999.9995"}) {
      std::string text = dump_line(to_json(full_state()));
      const std::string key = std::string("\"") + field + "\":";
      const size_t at = text.find(key) + key.size();
      text.replace(at, text.find_first_of(",}", at) - at, value);
      auto fast = fast_job_state(text);
      ASSERT_TRUE(fast.has_value()) << text;
      EXPECT_EQ(*fast, *slow(text)) << text;
      EXPECT_EQ(full_error(text), "") << text;
    }
  }
  JobState s = full_state();
  s.definition.duration = k_max_duration;
  auto fast = fast_job_state(dump_line(to_json(s)));
  ASSERT_TRUE(fast.has_value());
  EXPECT_EQ(fast->definition.duration, k_max_duration);
}

TEST(FastJobState, RefusesDurationsOutOfRangeWithTheFullReadersError)
{
  // Negative, past the limit (by a hair, by a day, past 2^52 ms, past 64 bits, 1e300: a
  // double whose milliseconds no integer holds).
  for (const char* field : k_millis_fields) {
    for (const char* value :
         {"-1", "-0.001", "-9223372036854775808", "3153600000.001", "3153600001", "3153686400",
          "4503599627370.497", "18446744073709551615", "1e300", "-1e300"}) {
      std::string text = dump_line(to_json(full_state()));
      const std::string key = std::string("\"") + field + "\":";
      const size_t at = text.find(key) + key.size();
      text.replace(at, text.find_first_of(",}", at) - at, value);
      // The fast reader declines; pg-ls then gives the full reader's error, naming the field.
      EXPECT_FALSE(fast_job_state(text).has_value()) << text;
      EXPECT_EQ(full_error(text),
                std::string("field 'definition': field '") + field + "' is out of range")
          << value;
      // The same text pretty-printed: the same answer.
      const std::string pretty = json::parse(text).dump(2);
      EXPECT_FALSE(fast_job_state(pretty).has_value()) << pretty;
      EXPECT_EQ(full_error(pretty), full_error(text));
    }
    // Not finite: JSON has no infinity, and a number past a double's range is refused by
    // nlohmann's parser itself; the fast reader declines it too.
    for (const char* value : {"1e400", "-1e400"}) {
      std::string text = dump_line(to_json(full_state()));
      const std::string key = std::string("\"") + field + "\":";
      const size_t at = text.find(key) + key.size();
      text.replace(at, text.find_first_of(",}", at) - at, value);
      EXPECT_FALSE(fast_job_state(text).has_value()) << text;
      EXPECT_NE(full_error(text).find("number overflow"), std::string::npos) << full_error(text);
    }
  }
}

} // namespace
} // namespace pg
