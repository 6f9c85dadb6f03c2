// The streaming JSON writer (json_writer.h) and state.json's writer on it (state.h): byte for
// byte what nlohmann's dump() wrote, over generated strings, numbers, documents and states.
#include "json_writer.h"
#include "state.h"
#include "state_json_oracle.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

namespace pg {
namespace {

using nlohmann::json;

// std::mt19937's numbers as 32-bit unsigned values, for the fields they fill.
class Rng {
public:
  using result_type = uint32_t;
  explicit Rng(uint32_t seed) : m_engine(seed) {}
  static constexpr uint32_t min() { return 0; }
  static constexpr uint32_t max() { return UINT32_MAX; }
  uint32_t operator()() { return static_cast<uint32_t>(m_engine()); }

private:
  std::mt19937 m_engine;
};

std::string dumped(const json& j, int indent = -1)
{
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

std::string written_string(std::string_view s)
{
  std::string out;
  append_json_string(out, s);
  return out;
}

std::string written_real(double d)
{
  std::string out;
  append_json_real(out, d);
  return out;
}

// Bytes that make JSON strings hard: quotes, backslashes, controls, DEL, every UTF-8 lead and
// continuation byte, and pieces of valid sequences.
std::string hard_bytes(Rng& rng, size_t max_length)
{
  static constexpr std::string_view pieces[] = {"a",
                                                "\"",
                                                "\\",
                                                "/",
                                                "\x7f",
                                                "\n",
                                                "\t",
                                                "\x01",
                                                "\x1f",
                                                "\xc3\xa9",
                                                "\xe2\x82\xac",
                                                "\xf0\x9f\x98\x80",
                                                "\xed\x9f\xbf",
                                                "\xee\x80\x80",
                                                "\xf4\x8f\xbf\xbf"};
  std::string s;
  const size_t length = std::uniform_int_distribution<size_t>(0, max_length)(rng);
  while (s.size() < length) {
    if (rng() % 3 == 0) {
      s += pieces[rng() % std::size(pieces)];
    } else {
      s += static_cast<char>(rng() % 256);
    }
  }
  return s;
}

double hard_double(Rng& rng)
{
  switch (rng() % 8) {
  case 0: {
    static constexpr double specials[] = {0.0,
                                          -0.0,
                                          1.0,
                                          0.1,
                                          1e-5,
                                          1e15,
                                          1e16,
                                          1e21,
                                          123456789012345678.0,
                                          std::numeric_limits<double>::min(),
                                          std::numeric_limits<double>::denorm_min(),
                                          std::numeric_limits<double>::max(),
                                          std::numeric_limits<double>::quiet_NaN(),
                                          std::numeric_limits<double>::infinity(),
                                          -std::numeric_limits<double>::infinity()};
    return specials[rng() % std::size(specials)];
  }
  case 1: { // any bit pattern
    const uint64_t bits = (uint64_t{rng()} << 32) | rng();
    double d = 0;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  case 2:
    return static_cast<double>(rng() % 10'000'000) / 1000.0; // seconds from milliseconds
  default:
    return std::uniform_real_distribution<double>(-1e6, 1e6)(rng);
  }
}

TEST(JsonWriter, StringsAreEscapedAsJsonWants)
{
  EXPECT_EQ(written_string(""), "\"\"");
  EXPECT_EQ(written_string("a\"b\\c/d\x7f"), "\"a\\\"b\\\\c/d\x7f\"");
  EXPECT_EQ(written_string("\b\t\n\f\r"), "\"\\b\\t\\n\\f\\r\"");
  EXPECT_EQ(written_string(std::string_view("\x00\x01\x1f", 3)), "\"\\u0000\\u0001\\u001f\"");
  EXPECT_EQ(written_string("caf\xc3\xa9 \xf0\x9f\x98\x80"), "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
}

TEST(JsonWriter, InvalidUtf8BecomesOneReplacementPerBrokenSequence)
{
  const std::string r = "\xef\xbf\xbd";
  EXPECT_EQ(written_string("a\xff"), "\"a" + r + "\"");
  EXPECT_EQ(written_string("\xe2\x82"), "\"" + r + "\""); // cut short by the end
  EXPECT_EQ(written_string("\xe2\x82"
                           "A"),
            "\"" + r + "A\"");                                        // by an ASCII byte
  EXPECT_EQ(written_string("\xe0\x80"), "\"" + r + r + "\"");         // overlong: two bad bytes
  EXPECT_EQ(written_string("\xed\xa0\x80"), "\"" + r + r + r + "\""); // a surrogate
  EXPECT_EQ(written_string("\xc3\xc3\xa9"), "\"" + r + "\xc3\xa9\""); // the breaker read again
}

TEST(JsonWriter, StringsMatchNlohmannsDumpOverGeneratedBytes)
{
  Rng rng(20261207);
  for (int i = 0; i < 200'000; ++i) {
    const std::string s = hard_bytes(rng, 12);
    ASSERT_EQ(written_string(s), dumped(json(s)))
        << json(s).dump(-1, ' ', true, json::error_handler_t::replace);
  }
}

// Both sides format a finite double with nlohmann's to_chars: what this checks is the rest
// (NaN and the infinities as null, the buffer), and the literal forms below.
TEST(JsonWriter, RealsMatchNlohmannsDump)
{
  EXPECT_EQ(written_real(1.0), "1.0");
  EXPECT_EQ(written_real(0.00001), "1e-05");
  EXPECT_EQ(written_real(std::nan("")), "null");
  Rng rng(7);
  for (int i = 0; i < 200'000; ++i) {
    const double d = hard_double(rng);
    ASSERT_EQ(written_real(d), dumped(json(d))) << d;
  }
}

// A generated document: objects (keys sorted, as json keeps them), arrays, and every scalar.
json random_value(Rng& rng, int depth)
{
  switch (depth > 3 ? rng() % 5 : rng() % 7) {
  case 0:
    return nullptr;
  case 1:
    return rng() % 2 == 0;
  case 2:
    if (rng() % 2 == 0) { // unsigned, past int64_t's range too
      return (uint64_t{rng()} << 32) | rng();
    }
    return static_cast<int64_t>(rng()) - (int64_t{1} << 31);
  case 3:
    return hard_double(rng);
  case 4:
    return hard_bytes(rng, 6);
  case 5: {
    json a = json::array();
    for (unsigned n = rng() % 4; n > 0; --n) {
      a.push_back(random_value(rng, depth + 1));
    }
    return a;
  }
  default: {
    json o = json::object();
    for (unsigned n = rng() % 4; n > 0; --n) {
      o[hard_bytes(rng, 4)] = random_value(rng, depth + 1);
    }
    return o;
  }
  }
}

// The document streamed through the writer, as the state's writer does it by hand.
void stream(JsonWriter& w, const json& j)
{
  if (j.is_object()) {
    w.begin_object();
    for (const auto& [k, v] : j.items()) {
      w.key(k);
      stream(w, v);
    }
    w.end_object();
  } else if (j.is_array()) {
    w.begin_array();
    for (const json& v : j) {
      stream(w, v);
    }
    w.end_array();
  } else if (j.is_null()) {
    w.null();
  } else if (j.is_boolean()) {
    w.boolean(j.get<bool>());
  } else if (j.is_number_unsigned()) {
    w.integer(j.get<uint64_t>());
  } else if (j.is_number_integer()) {
    w.integer(j.get<int64_t>());
  } else if (j.is_number_float()) {
    w.real(j.get<double>());
  } else {
    w.string(j.get<std::string>());
  }
}

TEST(JsonWriter, DocumentsMatchNlohmannsDumpCompactAndIndented)
{
  Rng rng(42);
  for (int i = 0; i < 20'000; ++i) {
    const json j = random_value(rng, 0);
    for (int indent : {-1, 2}) {
      std::string out;
      JsonWriter w(out, indent);
      stream(w, j);
      ASSERT_EQ(out, dumped(j, indent)) << dumped(j, 2);
    }
  }
}

TEST(JsonWriter, AStreamedArrayGoesOnFromTheItemsBeforeIt)
{
  std::string out = "[";
  for (int i = 0; i < 3; ++i) {
    JsonWriter w(out, 2, i);
    w.begin_object();
    w.key("n").integer(i);
    w.end_object();
  }
  out += "\n]";
  EXPECT_EQ(out, dumped(json::parse(R"([{"n":0},{"n":1},{"n":2}])"), 2));
}

// ---- state.json ----

std::optional<WallTime> maybe_time(Rng& rng)
{
  if (rng() % 3 == 0) {
    return std::nullopt;
  }
  return WallTime(std::chrono::microseconds(int64_t{rng()} * 1'000'000 + rng() % 1'000'000));
}

Millis millis(Rng& rng)
{
  return Millis(rng() % 2 == 0 ? rng() % 100'000 : (int64_t{rng()} << 20) + rng());
}

JobDefinition random_definition(Rng& rng)
{
  JobDefinition d;
  for (unsigned n = rng() % 4; n > 0; --n) {
    d.argv.push_back(hard_bytes(rng, 10));
  }
  d.resolved = hard_bytes(rng, 8);
  d.cwd = hard_bytes(rng, 8);
  d.umask = rng() % 01000;
  d.path = hard_bytes(rng, 8);
  for (unsigned n = rng() % 3; n > 0; --n) {
    d.env.emplace_back(hard_bytes(rng, 5), hard_bytes(rng, 5));
  }
  d.env_file = rng() % 2 ? hard_bytes(rng, 6) : "";
  d.oneshot = rng() % 2;
  d.duration = millis(rng);
  d.restart = static_cast<RestartPolicy>(rng() % 3);
  d.max_restarts = rng() % 3 ? std::optional<unsigned>(rng()) : std::nullopt;
  d.restart_window = millis(rng);
  d.restart_delay = millis(rng);
  d.restart_delay_max = millis(rng);
  d.stop_signal = static_cast<int>(rng() % 70);
  d.stop_timeout = millis(rng);
  d.log = hard_bytes(rng, 8);
  d.log_max_size = (uint64_t{rng()} << 32) | rng();
  d.log_keep = rng();
  d.log_timestamps = rng() % 2;
  d.notify = rng() % 2;
  d.watchdog = millis(rng);
  d.stall = millis(rng);
  d.max_memory = rng();
  d.restart_every = millis(rng);
  d.on_failure = rng() % 2 ? hard_bytes(rng, 6) : "";
  d.alert_cooldown = millis(rng);
  d.alert_timeout = millis(rng);
  d.jobs_file = rng() % 2 ? hard_bytes(rng, 6) : "";
  static constexpr const char* names[] = {"nofile", "core", "nproc", "as", "n\xff"};
  for (unsigned n = rng() % 5; n > 0; --n) { // names repeat: the last one is kept
    Limit l{names[rng() % std::size(names)], std::nullopt, std::nullopt};
    l.soft = rng() % 3 ? LimitValue(rng()) : std::nullopt;
    l.hard = rng() % 3 ? LimitValue((uint64_t{rng()} << 32) | rng()) : std::nullopt;
    d.limits.push_back(l);
  }
  d.memory_cap = rng();
  d.tasks_cap = rng() % 2 ? rng() : 0;
  d.cpu_quota_pct = rng() % 400;
  return d;
}

ExitRecord random_exit(Rng& rng)
{
  ExitRecord e;
  e.pid = static_cast<pid_t>(rng() % 3 == 0 ? 0 : rng() % 4'000'000);
  if (rng() % 4 != 0) {
    e.status = rng() % 2 ? ExitStatus::exited(static_cast<int>(rng() % 256))
                         : ExitStatus::killed(static_cast<int>(rng() % 65), rng() % 2);
  }
  e.runtime_s = hard_double(rng);
  e.outcome = static_cast<Outcome>(rng() % 4);
  e.cause = hard_bytes(rng, 10);
  e.at = maybe_time(rng).value_or(WallTime{});
  e.max_rss_kb = rng() % 2 ? std::optional<uint64_t>(rng()) : std::nullopt;
  e.user_cpu_s = rng() % 2 ? std::optional(hard_double(rng)) : std::nullopt;
  e.sys_cpu_s = rng() % 2 ? std::optional(hard_double(rng)) : std::nullopt;
  return e;
}

JobState random_state(Rng& rng)
{
  JobState s;
  s.name = hard_bytes(rng, 8);
  s.state = static_cast<RunState>(rng() % 8);
  s.supervisor = {static_cast<pid_t>(rng()), (uint64_t{rng()} << 32) | rng(),
                  hard_bytes(rng, 8),        static_cast<pid_t>(rng()),
                  hard_bytes(rng, 8),        hard_bytes(rng, 8),
                  rng() % 2 ? rng() : 0};
  s.pid = rng() % 2 ? std::optional(static_cast<pid_t>(rng())) : std::nullopt;
  s.run_id = hard_bytes(rng, 8);
  s.started_at = maybe_time(rng);
  s.run_started_at = maybe_time(rng);
  s.run_started_boot_ns = static_cast<int64_t>((uint64_t{rng()} << 32) | rng());
  s.deadline_at = maybe_time(rng);
  s.next_start_at = maybe_time(rng);
  s.restarts = rng();
  s.run = rng();
  s.status_text = hard_bytes(rng, 10);
  s.memory_rss = rng() % 2 ? std::optional<uint64_t>(rng()) : std::nullopt;
  if (rng() % 2) {
    s.last_exit = random_exit(rng);
  }
  if (rng() % 3 == 0) {
    s.handover = Handover{static_cast<pid_t>(rng()), static_cast<pid_t>(rng()), WallTime{}};
  }
  s.end_cause = hard_bytes(rng, 6);
  s.log_dropped_bytes = rng();
  s.log_drop_error = hard_bytes(rng, 6);
  if (rng() % 3 == 0) {
    s.storage_error =
        StorageFault{hard_bytes(rng, 8), WallTime{}, maybe_time(rng), rng(), rng(), rng()};
  }
  for (unsigned n = rng() % 4; n > 0; --n) {
    s.tree.push_back({static_cast<pid_t>(rng()), rng()});
  }
  for (unsigned n = rng() % 3; n > 0; --n) {
    s.job_cgroup.push_back(hard_bytes(rng, 8));
  }
  s.definition = random_definition(rng);
  s.updated_at = WallTime(std::chrono::seconds(rng()));
  s.failures_since_ack = rng();
  s.last_ack_at = maybe_time(rng);
  s.failures = rng() % 2 ? std::optional<unsigned>(rng()) : std::nullopt;
  return s;
}

std::string state_line(const JobState& s)
{
  std::string out;
  append_state_line(out, s);
  return out;
}

TEST(StateJsonWriter, WritesWhatTheDomWriterWroteOverGeneratedStates)
{
  Rng rng(1207);
  for (int i = 0; i < 5'000; ++i) {
    const JobState s = random_state(rng);
    ASSERT_EQ(state_line(s), oracle::state_line(s)) << "state " << i;
  }
}

TEST(StateJsonWriter, WritesADefaultStateAsTheDomWriterDid)
{
  EXPECT_EQ(state_line(JobState{}), oracle::state_line(JobState{}));
}

TEST(StateJsonWriter, ARepeatedLimitKeepsItsLastValues)
{
  JobState s;
  s.definition.limits = {{"nofile", 1, 2}, {"core", 0, 0}, {"nofile", 3, std::nullopt}};
  const json limits = json::parse(state_line(s)).at("definition").at("limits");
  EXPECT_EQ(limits.dump(), R"({"core":{"hard":0,"soft":0},"nofile":{"hard":null,"soft":3}})");
  EXPECT_EQ(state_line(s), oracle::state_line(s));
}

TEST(StateJsonWriter, TheValuesWrittenDumpAsTheTextIs)
{
  // to_json: the same write_json into a nlohmann value, which embeds it (an exit event) or
  // changes it (tests of the reader), dumped as the text is written and as the oracle's value.
  Rng rng(5);
  for (int i = 0; i < 2'000; ++i) {
    const JobState s = random_state(rng);
    ASSERT_EQ(dumped(to_json(s)) + "\n", state_line(s));
    const ExitRecord e = random_exit(rng);
    ASSERT_EQ(dumped(to_json(e)), dumped(oracle::exit_value(e)));
    const json value = to_json(e);
    const json expected = oracle::exit_value(e);
    for (const auto& [k, v] : expected.items()) { // number types included
      ASSERT_EQ(value.at(k).type(), v.type()) << k;
    }
  }
}

} // namespace
} // namespace pg
