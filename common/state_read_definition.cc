// state.json's reader, its definition object: what runs, how it restarts and stops, what is
// watched. Each field checked as state_read.cc checks the others; see there for the rules.
#include "signals.h"
#include "state_read.h"

#include <array>
#include <string>
#include <vector>

namespace pg {

namespace {

// Durations are never negative, nor longer than k_max_duration (what parse_duration()
// accepts); anything else (a huge double) is damage that would overflow a deadline.
Millis millis_field(JsonValue& v, std::string_view key)
{
  const double ms = real_field(v, key) * 1000.0;
  if (!(ms >= 0 && ms <= static_cast<double>(k_max_duration.count()))) {
    field_fail(field_message(key, "is out of range"));
  }
  return Millis(static_cast<int64_t>(ms + 0.5));
}

constexpr std::array<std::string_view, 35> k_definition_keys{
    // 0 to 6: command_field()
    "command", "resolved", "cwd", "umask", "path", "env", "env_file",
    // 7 to 15: policy_field()
    "oneshot", "duration_s", "restart_policy", "max_restarts", "restart_window_s",
    "restart_delay_s", "restart_delay_max_s", "stop_signal", "stop_timeout_s",
    // 16 to 28: watch_field()
    "log", "log_max_size", "log_keep", "log_timestamps", "notify", "watchdog_s", "stall_s",
    "max_memory", "restart_every_s", "on_failure", "alert_cooldown_s", "alert_timeout_s",
    "jobs_file",
    // 29 to 32: limits_field()
    "limits", "memory_cap", "tasks_cap", "cpu_quota_pct",
    // 33 and 34: schema_version 1's names of 0 (its "command" was 1) and 9
    "argv", "restart"};
constexpr size_t k_v1_argv = 33;
constexpr size_t k_v1_restart = 34;

void argv_field(JobDefinition& d, std::string_view k, JsonValue& x)
{
  d.argv = strings_field(x, k);
  if (d.argv.empty()) {
    field_fail(field_message(k, "is empty"));
  }
}

// The definition's fields 0 to 6: what runs, where, with what environment.
void command_field(JobDefinition& d, size_t i, std::string_view k, JsonValue& x)
{
  switch (i) {
  case 0:
    argv_field(d, k, x);
    break;
  case 1:
    d.resolved = text_field(x, k);
    break;
  case 2:
    d.cwd = text_field(x, k);
    break;
  case 3:
    d.umask = x.null() ? 022 : integer_field<unsigned>(x, k);
    if (d.umask > 0777) {
      field_fail(field_message(k, "is out of range"));
    }
    break;
  case 4:
    d.path = x.null() ? std::string() : text_field(x, k);
    break;
  case 5:
    d.env.clear();
    for (const auto& kv : x.null() ? std::vector<std::string>() : strings_field(x, k)) {
      auto eq = kv.find('=');
      if (eq == std::string::npos) {
        field_fail(field_message(k, "holds an entry without '='"));
      }
      d.env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    break;
  default:
    d.env_file = x.null() ? std::string() : text_field(x, k);
    break;
  }
}

// The definition's fields 7 to 15: how long it runs, when it restarts, how it stops.
void policy_field(JobDefinition& d, size_t i, std::string_view k, JsonValue& x)
{
  switch (i) {
  case 7:
    d.oneshot = !x.null() && bool_field(x, k);
    break;
  case 8:
    d.duration = millis_field(x, k);
    break;
  case 9: {
    auto p = restart_policy_from(x.null() ? std::string_view("on-failure") : string_field(x, k));
    if (!p) {
      field_fail(field_message(k, "is not a restart policy"));
    }
    d.restart = *p;
    break;
  }
  case 10:
    if (x.kind() == JsonKind::String) {
      if (x.string() != "unlimited") {
        field_fail(field_message(k, "is neither a number nor \"unlimited\""));
      }
      d.max_restarts = std::nullopt;
    } else {
      d.max_restarts = integer_field<unsigned>(x, k);
    }
    break;
  case 11:
    d.restart_window = millis_field(x, k);
    break;
  case 12:
    d.restart_delay = millis_field(x, k);
    break;
  case 13:
    d.restart_delay_max = millis_field(x, k);
    break;
  case 14: {
    auto sig = parse_signal(x.null() ? std::string_view("SIGTERM") : string_field(x, k));
    if (!sig) {
      field_fail(field_message(k, "is not a signal"));
    }
    d.stop_signal = *sig;
    break;
  }
  default:
    d.stop_timeout = millis_field(x, k);
    break;
  }
}

// The definition's fields 16 to 28: its log, and what pg-run watches and alerts about.
void watch_field(JobDefinition& d, size_t i, std::string_view k, JsonValue& x)
{
  switch (i) {
  case 16:
    d.log = text_field(x, k);
    break;
  case 17:
    d.log_max_size = x.null() ? JobDefinition{}.log_max_size : integer_field<uint64_t>(x, k);
    break;
  case 18:
    d.log_keep = x.null() ? JobDefinition{}.log_keep : integer_field<unsigned>(x, k);
    break;
  case 19:
    d.log_timestamps = !x.null() && bool_field(x, k);
    break;
  case 20:
    d.notify = !x.null() && bool_field(x, k);
    break;
  case 21:
    d.watchdog = millis_field(x, k);
    break;
  case 22:
    d.stall = millis_field(x, k);
    break;
  case 23:
    d.max_memory = x.null() ? 0 : integer_field<uint64_t>(x, k);
    break;
  case 24:
    d.restart_every = millis_field(x, k);
    break;
  case 25:
    d.on_failure = x.null() ? std::string() : text_field(x, k);
    break;
  case 26:
    d.alert_cooldown = millis_field(x, k);
    break;
  case 27:
    d.alert_timeout = millis_field(x, k);
    break;
  default: // absent from older files: launched by hand
    d.jobs_file = x.null() ? std::string() : text_field(x, k);
    break;
  }
}

// Runs f, keeping the first FieldError it throws in damage: a member's damage must not stop
// the reading of its object (every value is consumed before the object's damage is thrown).
template <typename F> void keep_damage(std::string& damage, F f)
{
  try {
    f();
  } catch (FieldError& e) {
    if (damage.empty()) {
      damage = std::move(e.what);
    }
  }
}

// One member of "limits": "nofile": {"soft": 64, "hard": null}, null for unlimited.
Limit limit_of(const std::string& name, JsonValue& v)
{
  if (v.kind() != JsonKind::Object) {
    v.skip();
    field_fail(field_message(name, "has the wrong type"));
  }
  Limit l{name, std::nullopt, std::nullopt};
  unsigned seen = 0;
  std::string damage;
  v.members([&](std::string_view key, JsonValue& x) {
    const bool soft = key == "soft";
    if (!soft && key != "hard") {
      x.skip();
      return;
    }
    keep_damage(damage, [&] {
      (soft ? l.soft : l.hard) = x.null() ? LimitValue() : integer_field<uint64_t>(x, key);
      seen |= soft ? 1U : 2U;
    });
  });
  if (damage.empty() && seen != 3) {
    damage = (seen & 1U) == 0 ? "missing field 'soft'" : "missing field 'hard'";
  }
  if (damage.empty() && limit_resource(name) == nullptr) {
    field_fail(field_message(name, "is not a resource --limit takes"));
  }
  if (damage.empty() && !limit_order_problem(l).empty()) {
    damage = "field 'soft' is above field 'hard'";
  }
  if (!damage.empty()) {
    field_fail("field '" + name + "': " + damage);
  }
  return l;
}

// The definition's fields 29 to 32: the job's resource limits and caps. Absent from older
// files: none.
void limits_field(JobDefinition& d, size_t i, std::string_view k, JsonValue& x)
{
  switch (i) {
  case 29: {
    d.limits.clear();
    if (x.null()) {
      break;
    }
    if (x.kind() != JsonKind::Object) {
      x.skip();
      field_fail(field_message(k, "has the wrong type"));
    }
    std::string damage;
    x.members([&](std::string_view name, JsonValue& v) {
      keep_damage(damage, [&] {
        Limit l = limit_of(std::string(name), v);
        if (!add_limit(d.limits, l)) {
          field_fail(field_message(l.name, "is there twice"));
        }
      });
    });
    if (!damage.empty()) {
      field_fail("field '" + std::string(k) + "': " + damage);
    }
    break;
  }
  case 30:
    d.memory_cap = x.null() ? 0 : integer_field<uint64_t>(x, k);
    break;
  case 31:
    d.tasks_cap = x.null() ? 0 : integer_field<uint64_t>(x, k);
    break;
  default:
    d.cpu_quota_pct = x.null() ? 0 : integer_field<unsigned>(x, k);
    break;
  }
}

} // namespace

JobDefinition definition_of(JsonValue& v)
{
  static constexpr KeyOrder order{k_definition_keys};
  JobDefinition d;
  JsonFields f(k_definition_keys, order);
  // schema_version 1 had argv, and command the resolved path: a definition with argv, or with
  // a command that is text and no resolved, is one.
  bool argv_seen = false;
  bool command_text = false;
  bool resolved_seen = false;
  f.read(v, [&](size_t i, std::string_view k, JsonValue& x) {
    resolved_seen = resolved_seen || i == 1;
    if (i == k_v1_argv) {
      argv_seen = true;
      argv_field(d, k, x);
    } else if (i == 0 && x.kind() == JsonKind::String) {
      command_text = true;
      d.resolved = text_field(x, k);
    } else if (i <= 6) {
      command_field(d, i, k, x);
    } else if (i == k_v1_restart) {
      policy_field(d, 9, k, x);
    } else if (i <= 15) {
      policy_field(d, i, k, x);
    } else if (i <= 28) {
      watch_field(d, i, k, x);
    } else {
      limits_field(d, i, k, x);
    }
  });
  const bool v1 = argv_seen || (command_text && !resolved_seen);
  const uint64_t what_runs = v1 ? field_bit(k_v1_argv) | field_bit(0) : field_bit(0) | field_bit(1);
  f.check(what_runs | field_bit(2) | field_bit(16));
  if (command_text && !v1) { // text where schema_version 2 has the argv
    field_fail(field_message(k_definition_keys[0], "has the wrong type"));
  }
  return d;
}

} // namespace pg
