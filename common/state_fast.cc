#include "state_fast.h"

#include "key_order.h"
#include "signals.h"

#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <utility>

namespace pg {

namespace {

// Thrown for anything this reader is not sure of; the caller then parses fully.
struct Unsure {};

// The number forms nlohmann keeps apart: negative integers, other integers, and the rest.
struct Number {
  enum Kind { Int, Uint, Float } kind = Uint;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
};

// "2026-01-02T03:04:05.678Z", the form format_rfc3339 writes, read without sscanf; nullopt
// for any other form (parse_rfc3339 reads those). Same fields check, same arithmetic as
// parse_rfc3339's timegm (a second of 60 carries into the next minute).
std::optional<WallTime> canonical_time(std::string_view s)
{
  if (s.size() != 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s[19] != '.' || s[23] != 'Z') {
    return std::nullopt;
  }
  auto num = [&](size_t at, size_t n, int& out) {
    out = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') {
        return false;
      }
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, ms = 0;
  if (!num(0, 4, year) || !num(5, 2, month) || !num(8, 2, day) || !num(11, 2, hour) ||
      !num(14, 2, minute) || !num(17, 2, second) || !num(20, 3, ms)) {
    return std::nullopt;
  }
  static constexpr int k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60 ||
      day > k_days[month - 1] + (month == 2 && leap ? 1 : 0)) {
    return std::nullopt;
  }
  // Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's days_from_civil).
  const int y = year - (month <= 2 ? 1 : 0);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = int64_t{era} * 146097 + doe - 719468;
  const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second;
  // parse_rfc3339's range (see clock.cc): beyond it, the full reader refuses the file.
  if (secs > k_max_time_s || secs < k_min_time_s) {
    return std::nullopt;
  }
  return WallTime(std::chrono::seconds(secs) + std::chrono::milliseconds(ms));
}

class Reader {
public:
  explicit Reader(std::string_view text) : m_p(text.data()), m_end(text.data() + text.size()) {}

  void ws()
  {
    while (m_p < m_end && (*m_p == ' ' || *m_p == '\n' || *m_p == '\r' || *m_p == '\t')) {
      ++m_p;
    }
  }
  char peek()
  {
    ws();
    return m_p < m_end ? *m_p : '\0';
  }
  void expect(char c)
  {
    if (peek() != c) {
      throw Unsure{};
    }
    ++m_p;
  }
  bool at_end()
  {
    ws();
    return m_p == m_end;
  }

  void word(std::string_view w)
  {
    ws();
    if (static_cast<size_t>(m_end - m_p) < w.size() || std::string_view(m_p, w.size()) != w) {
      throw Unsure{};
    }
    m_p += w.size();
  }
  // True (and consumed) when the next value is null.
  bool null()
  {
    if (peek() != 'n') {
      return false;
    }
    word("null");
    return true;
  }
  bool boolean()
  {
    if (peek() == 't') {
      word("true");
      return true;
    }
    word("false");
    return false;
  }

  // Plain ASCII strings and the short escapes; \u, control and non-ASCII bytes are left to
  // the full parser (it validates UTF-8, which this reader does not).
  std::string string()
  {
    expect('"');
    std::string out;
    for (;;) {
      const char* run = m_p;
      while (m_p < m_end && *m_p != '"' && *m_p != '\\' &&
             static_cast<unsigned char>(*m_p) >= 0x20 && static_cast<unsigned char>(*m_p) < 0x80) {
        ++m_p;
      }
      out.append(run, static_cast<size_t>(m_p - run));
      if (m_p == m_end) {
        throw Unsure{};
      }
      if (*m_p == '"') {
        ++m_p;
        return out;
      }
      if (*m_p != '\\' || m_p + 1 == m_end) {
        throw Unsure{};
      }
      switch (m_p[1]) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      default:
        throw Unsure{};
      }
      m_p += 2;
    }
  }
  // A key: plain ASCII without escapes (every key pg writes).
  std::string_view key()
  {
    expect('"');
    const char* start = m_p;
    while (m_p < m_end && *m_p != '"') {
      if (*m_p == '\\' || static_cast<unsigned char>(*m_p) < 0x20 ||
          static_cast<unsigned char>(*m_p) >= 0x80) {
        throw Unsure{};
      }
      ++m_p;
    }
    if (m_p == m_end) {
      throw Unsure{};
    }
    std::string_view k(start, static_cast<size_t>(m_p - start));
    ++m_p;
    expect(':');
    return k;
  }

  // JSON's number grammar, read as nlohmann reads it.
  Number number()
  {
    ws();
    const char* start = m_p;
    auto digits = [&] {
      const char* from = m_p;
      while (m_p < m_end && *m_p >= '0' && *m_p <= '9') {
        ++m_p;
      }
      return m_p - from;
    };
    const bool negative = m_p < m_end && *m_p == '-';
    if (negative) {
      ++m_p;
    }
    if (m_p < m_end && *m_p == '0') {
      ++m_p;
    } else if (digits() == 0) {
      throw Unsure{};
    }
    bool is_float = false;
    if (m_p < m_end && *m_p == '.') {
      ++m_p;
      if (digits() == 0) {
        throw Unsure{};
      }
      is_float = true;
    }
    if (m_p < m_end && (*m_p == 'e' || *m_p == 'E')) {
      ++m_p;
      if (m_p < m_end && (*m_p == '+' || *m_p == '-')) {
        ++m_p;
      }
      if (digits() == 0) {
        throw Unsure{};
      }
      is_float = true;
    }
    Number n;
    std::from_chars_result r{};
    if (is_float) {
      n.kind = Number::Float;
      r = std::from_chars(start, m_p, n.d);
    } else if (negative) {
      n.kind = Number::Int;
      r = std::from_chars(start, m_p, n.i);
    } else {
      n.kind = Number::Uint;
      r = std::from_chars(start, m_p, n.u);
    }
    if (r.ec != std::errc() || r.ptr != m_p) {
      throw Unsure{}; // out of range: nlohmann would make a float of it
    }
    return n;
  }

  template <typename T> T integer()
  {
    const Number n = number();
    if (n.kind == Number::Uint && std::in_range<T>(n.u)) {
      return static_cast<T>(n.u);
    }
    if (n.kind == Number::Int && std::in_range<T>(n.i)) {
      return static_cast<T>(n.i);
    }
    throw Unsure{};
  }
  double real()
  {
    const Number n = number();
    switch (n.kind) {
    case Number::Float:
      return n.d;
    case Number::Int:
      return static_cast<double>(n.i);
    default:
      return static_cast<double>(n.u);
    }
  }

  // A key this reader does not know: null is as good as absent; anything else may be a field
  // added since (storage_error, ...) that only the full parser reads, so it takes over.
  void unknown_value()
  {
    if (!null()) {
      throw Unsure{};
    }
  }
  template <typename F> void object(F on_key)
  {
    expect('{');
    Nest nest(*this);
    if (peek() == '}') {
      ++m_p;
      return;
    }
    for (;;) {
      on_key(key());
      if (peek() == ',') {
        ++m_p;
        continue;
      }
      expect('}');
      return;
    }
  }
  template <typename F> void array(F on_item)
  {
    expect('[');
    Nest nest(*this);
    if (peek() == ']') {
      ++m_p;
      return;
    }
    for (;;) {
      on_item();
      if (peek() == ',') {
        ++m_p;
        continue;
      }
      expect(']');
      return;
    }
  }

  std::vector<std::string> strings()
  {
    std::vector<std::string> out;
    array([&] { out.push_back(string()); });
    return out;
  }
  WallTime time()
  {
    std::string text = string();
    if (auto t = canonical_time(text)) {
      return *t;
    }
    auto t = parse_rfc3339(text);
    if (!t) {
      throw Unsure{};
    }
    return *t;
  }
  // A duration in seconds; out of millis_field's range (negative, NaN, past k_max_duration)
  // the full reader names the field: "field 'duration_s' is out of range".
  Millis millis()
  {
    const double ms = real() * 1000.0;
    if (!(ms >= 0 && ms <= static_cast<double>(k_max_duration.count()))) {
      throw Unsure{};
    }
    return Millis(static_cast<int64_t>(ms + 0.5));
  }

private:
  // Deeply nested values (never written by pg) are left to the full parser, which does not
  // recurse: this reader does.
  struct Nest {
    explicit Nest(Reader& r) : m_r(r)
    {
      if (++m_r.m_depth > 16) {
        throw Unsure{};
      }
    }
    ~Nest() { --m_r.m_depth; }
    Nest(const Nest&) = delete;
    Nest& operator=(const Nest&) = delete;
    Reader& m_r;
  };

  const char* m_p;
  const char* m_end;
  int m_depth = 0;
};

// Which keys of an object were seen: a repeated key (the last one wins in nlohmann) and a
// missing required one are left to the full parser.
class Seen {
public:
  void mark(unsigned bit)
  {
    if ((m_bits & (uint64_t{1} << bit)) != 0) {
      throw Unsure{};
    }
    m_bits |= uint64_t{1} << bit;
  }
  void require(uint64_t bits) const
  {
    if ((m_bits & bits) != bits) {
      throw Unsure{};
    }
  }

private:
  uint64_t m_bits = 0;
};

constexpr uint64_t bit(unsigned i)
{
  return uint64_t{1} << i;
}

void read_supervisor(Reader& r, SupervisorRecord& s)
{
  static constexpr std::array<std::string_view, 7> names{
      "pid", "start_time", "boot_id", "parent_pid", "parent_command", "cgroup", "pid_namespace"};
  static constexpr KeyOrder order{names};
  Seen seen;
  KeyOrder<names.size()>::Lookup keys(order);
  r.object([&](std::string_view key) {
    const int i = keys.find(key);
    if (i < 0) {
      r.unknown_value();
      return;
    }
    seen.mark(static_cast<unsigned>(i));
    switch (i) {
    case 0:
      s.pid = r.integer<pid_t>();
      break;
    case 1:
      s.start_time = r.integer<uint64_t>();
      break;
    case 2:
      s.boot_id = r.string();
      break;
    case 3:
      s.parent_pid = r.null() ? 0 : r.integer<pid_t>();
      break;
    case 4:
      s.parent_command = r.null() ? std::string() : r.string();
      break;
    case 5:
      s.cgroup = r.null() ? std::string() : r.string();
      break;
    default:
      s.pid_namespace = r.null() ? 0 : r.integer<uint64_t>();
      break;
    }
  });
  seen.require(bit(0) | bit(1) | bit(2));
}

ExitRecord read_exit(Reader& r)
{
  static constexpr std::array<std::string_view, 11> names{
      "pid",   "code", "signal",     "core_dumped", "runtime_s", "outcome",
      "cause", "at",   "max_rss_kb", "user_cpu_s",  "sys_cpu_s"};
  static constexpr KeyOrder order{names};
  ExitRecord e;
  Seen seen;
  KeyOrder<names.size()>::Lookup keys(order);
  r.object([&](std::string_view key) {
    const int i = keys.find(key);
    if (i < 0) {
      r.unknown_value();
      return;
    }
    seen.mark(static_cast<unsigned>(i));
    if (r.null()) {
      if (i == 5 || i == 7) {
        throw Unsure{}; // required
      }
      return; // the others: null is their absence
    }
    switch (i) {
    case 0:
      e.pid = r.integer<pid_t>();
      break;
    case 1:
      e.code = r.integer<int>();
      break;
    case 2:
      e.signal = parse_signal(r.string());
      if (!e.signal) {
        throw Unsure{};
      }
      break;
    case 3:
      e.core_dumped = r.boolean();
      break;
    case 4:
      e.runtime_s = r.real();
      break;
    case 5: {
      auto o = outcome_from(r.string());
      if (!o) {
        throw Unsure{};
      }
      e.outcome = *o;
      break;
    }
    case 6:
      e.cause = r.string();
      break;
    case 7:
      e.at = r.time();
      break;
    case 8:
      e.max_rss_kb = r.integer<uint64_t>();
      break;
    case 9:
      e.user_cpu_s = r.real();
      break;
    default:
      e.sys_cpu_s = r.real();
      break;
    }
  });
  seen.require(bit(5) | bit(7));
  return e;
}

// state.json's "tree": [{"pid": P, "start_time": T}, ...], both fields required.
std::vector<TreeProcess> read_tree(Reader& r)
{
  static constexpr std::array<std::string_view, 2> names{"pid", "start_time"};
  static constexpr KeyOrder order{names};
  std::vector<TreeProcess> out;
  r.array([&] {
    TreeProcess p;
    Seen seen;
    KeyOrder<names.size()>::Lookup keys(order);
    r.object([&](std::string_view key) {
      const int i = keys.find(key);
      if (i < 0) {
        r.unknown_value();
        return;
      }
      seen.mark(static_cast<unsigned>(i));
      if (i == 0) {
        p.pid = r.integer<pid_t>();
      } else {
        p.start_time = r.integer<uint64_t>();
      }
    });
    seen.require(bit(0) | bit(1));
    out.push_back(p);
  });
  return out;
}

JobDefinition read_definition(Reader& r)
{
  static constexpr std::array<std::string_view, 28> names{"argv",
                                                          "command",
                                                          "cwd",
                                                          "umask",
                                                          "path",
                                                          "env",
                                                          "env_file",
                                                          "oneshot",
                                                          "duration_s",
                                                          "restart",
                                                          "max_restarts",
                                                          "restart_window_s",
                                                          "restart_delay_s",
                                                          "restart_delay_max_s",
                                                          "stop_signal",
                                                          "stop_timeout_s",
                                                          "log",
                                                          "log_max_size",
                                                          "log_keep",
                                                          "log_timestamps",
                                                          "notify",
                                                          "watchdog_s",
                                                          "stall_s",
                                                          "max_memory",
                                                          "restart_every_s",
                                                          "on_failure",
                                                          "alert_cooldown_s",
                                                          "alert_timeout_s"};
  static constexpr KeyOrder order{names};
  JobDefinition d;
  Seen seen;
  KeyOrder<names.size()>::Lookup keys(order);
  r.object([&](std::string_view key) {
    const int i = keys.find(key);
    if (i < 0) {
      r.unknown_value();
      return;
    }
    seen.mark(static_cast<unsigned>(i));
    // null: the default for the optional fields read with a fallback; damage for the others
    // (required ones, durations, max_restarts).
    const bool defaults_on_null =
        (i >= 3 && i <= 7) || i == 9 || i == 14 || (i >= 17 && i <= 20) || i == 23 || i == 25;
    if (r.null()) {
      if (!defaults_on_null) {
        throw Unsure{};
      }
      return;
    }
    switch (i) {
    case 0:
      d.argv = r.strings();
      break;
    case 1:
      d.command = r.string();
      break;
    case 2:
      d.cwd = r.string();
      break;
    case 3:
      d.umask = r.integer<unsigned>();
      if (d.umask > 0777) {
        throw Unsure{};
      }
      break;
    case 4:
      d.path = r.string();
      break;
    case 5:
      for (const auto& kv : r.strings()) {
        auto eq = kv.find('=');
        if (eq == std::string::npos) {
          throw Unsure{};
        }
        d.env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
      }
      break;
    case 6:
      d.env_file = r.string();
      break;
    case 7:
      d.oneshot = r.boolean();
      break;
    case 8:
      d.duration = r.millis();
      break;
    case 9: {
      auto p = restart_policy_from(r.string());
      if (!p) {
        throw Unsure{};
      }
      d.restart = *p;
      break;
    }
    case 10:
      if (r.peek() == '"') {
        if (r.string() != "unlimited") {
          throw Unsure{};
        }
        d.max_restarts = std::nullopt;
      } else {
        d.max_restarts = r.integer<unsigned>();
      }
      break;
    case 11:
      d.restart_window = r.millis();
      break;
    case 12:
      d.restart_delay = r.millis();
      break;
    case 13:
      d.restart_delay_max = r.millis();
      break;
    case 14: {
      auto sig = parse_signal(r.string());
      if (!sig) {
        throw Unsure{};
      }
      d.stop_signal = *sig;
      break;
    }
    case 15:
      d.stop_timeout = r.millis();
      break;
    case 16:
      d.log = r.string();
      break;
    case 17:
      d.log_max_size = r.integer<uint64_t>();
      break;
    case 18:
      d.log_keep = r.integer<unsigned>();
      break;
    case 19:
      d.log_timestamps = r.boolean();
      break;
    case 20:
      d.notify = r.boolean();
      break;
    case 21:
      d.watchdog = r.millis();
      break;
    case 22:
      d.stall = r.millis();
      break;
    case 23:
      d.max_memory = r.integer<uint64_t>();
      break;
    case 24:
      d.restart_every = r.millis();
      break;
    case 25:
      d.on_failure = r.string();
      break;
    case 26:
      d.alert_cooldown = r.millis();
      break;
    default:
      d.alert_timeout = r.millis();
      break;
    }
  });
  seen.require(bit(0) | bit(1) | bit(2) | bit(16));
  if (d.argv.empty()) {
    throw Unsure{};
  }
  return d;
}

JobState read_state(Reader& r)
{
  static constexpr std::array<std::string_view, 22> names{"schema_version",
                                                          "name",
                                                          "state",
                                                          "supervisor",
                                                          "pid",
                                                          "run_id",
                                                          "started_at",
                                                          "run_started_at",
                                                          "run_started_boot_ns",
                                                          "deadline_at",
                                                          "next_start_at",
                                                          "restarts",
                                                          "status_text",
                                                          "memory_rss",
                                                          "last_exit",
                                                          "end_cause",
                                                          "log_dropped_bytes",
                                                          "log_drop_error",
                                                          "definition",
                                                          "updated_at",
                                                          "run",
                                                          "tree"};
  static constexpr KeyOrder order{names};
  JobState s;
  Seen seen;
  KeyOrder<names.size()>::Lookup keys(order);
  r.object([&](std::string_view key) {
    const int i = keys.find(key);
    if (i < 0) {
      r.unknown_value();
      return;
    }
    seen.mark(static_cast<unsigned>(i));
    // null: absence for the optional fields; damage for the required ones.
    const bool required = i <= 3 || i == 18 || i == 19;
    if (r.null()) {
      if (required) {
        throw Unsure{};
      }
      return;
    }
    switch (i) {
    case 0:
      if (r.integer<int>() > k_schema_version) {
        throw Unsure{};
      }
      break;
    case 1:
      s.name = r.string();
      break;
    case 2: {
      auto st = run_state_from(r.string());
      if (!st) {
        throw Unsure{};
      }
      s.state = *st;
      break;
    }
    case 3:
      read_supervisor(r, s.supervisor);
      break;
    case 4:
      s.pid = r.integer<pid_t>();
      break;
    case 5:
      s.run_id = r.string();
      break;
    case 6:
      s.started_at = r.time();
      break;
    case 7:
      s.run_started_at = r.time();
      break;
    case 8:
      s.run_started_boot_ns = r.integer<int64_t>();
      break;
    case 9:
      s.deadline_at = r.time();
      break;
    case 10:
      s.next_start_at = r.time();
      break;
    case 11:
      s.restarts = r.integer<unsigned>();
      break;
    case 12:
      s.status_text = r.string();
      break;
    case 13:
      s.memory_rss = r.integer<uint64_t>();
      break;
    case 14:
      s.last_exit = read_exit(r);
      break;
    case 15:
      s.end_cause = r.string();
      break;
    case 16:
      s.log_dropped_bytes = r.integer<uint64_t>();
      break;
    case 17:
      s.log_drop_error = r.string();
      break;
    case 18:
      s.definition = read_definition(r);
      break;
    case 19:
      s.updated_at = r.time();
      break;
    case 20:
      s.run = r.integer<unsigned>();
      break;
    default:
      s.tree = read_tree(r);
      break;
    }
  });
  seen.require(bit(0) | bit(1) | bit(2) | bit(3) | bit(18) | bit(19));
  return s;
}

} // namespace

std::optional<JobState> fast_job_state(std::string_view text)
{
  try {
    Reader r(text);
    if (r.peek() != '{') {
      return std::nullopt;
    }
    JobState s = read_state(r);
    if (!r.at_end()) {
      return std::nullopt;
    }
    return s;
  } catch (const Unsure&) {
    return std::nullopt;
  }
}

} // namespace pg
