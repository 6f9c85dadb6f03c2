#include "state.h"

#include "signals.h"

#include <array>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace pg {

using nlohmann::json;

namespace {

constexpr std::array<const char*, 8> k_states{"starting", "running",   "backoff", "stopping",
                                              "stopped",  "completed", "failed",  "lost"};
constexpr std::array<const char*, 4> k_outcomes{"completed", "failed", "restarted", "stopped"};
constexpr std::array<const char*, 3> k_policies{"on-failure", "always", "never"};

template <typename E, size_t N>
std::optional<E> from_names(const std::array<const char*, N>& names, std::string_view s)
{
  for (size_t i = 0; i < N; ++i) {
    if (s == names[i]) {
      return static_cast<E>(i);
    }
  }
  return std::nullopt;
}

json opt_time(const std::optional<WallTime>& t)
{
  return t ? json(format_rfc3339(*t)) : json(nullptr);
}

std::runtime_error field_error(const char* key, const std::string& what)
{
  return std::runtime_error(std::string("field '") + key + "' " + what);
}

// Field access that names the field when it is missing or of the wrong type.
template <typename T> T get(const json& j, const char* key)
{
  auto it = j.find(key);
  if (it == j.end()) {
    throw std::runtime_error(std::string("missing field '") + key + "'");
  }
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // nlohmann would read 1.5 as 1 and true as 1, and wrap -1 into a huge unsigned.
    if (!it->is_number_integer()) {
      throw field_error(key, "has the wrong type");
    }
    if (it->is_number_unsigned() ? !std::in_range<T>(it->template get<uint64_t>())
                                 : !std::in_range<T>(it->template get<int64_t>())) {
      throw field_error(key, "is out of range");
    }
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!it->is_number()) {
      throw field_error(key, "has the wrong type"); // nlohmann would read true as 1.0
    }
  }
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw field_error(key, "has the wrong type");
  }
}

// A field that must hold an object.
const json& object_field(const json& j, const char* key)
{
  auto it = j.find(key);
  if (it == j.end()) {
    throw std::runtime_error(std::string("missing field '") + key + "'");
  }
  if (!it->is_object()) {
    throw field_error(key, "is not an object");
  }
  return *it;
}

// Runs f, prefixing what it throws with the object it was reading: "field 'supervisor': ...".
template <typename F> auto nested(const char* key, F f)
{
  try {
    return f();
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string("field '") + key + "': " + e.what());
  }
}

template <typename T> T get_or(const json& j, const char* key, T fallback)
{
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return fallback;
  }
  return get<T>(j, key);
}

WallTime time_field(const json& j, const char* key)
{
  auto t = parse_rfc3339(get<std::string>(j, key));
  if (!t) {
    throw std::runtime_error(std::string("field '") + key + "' is not an RFC 3339 time");
  }
  return *t;
}

std::optional<WallTime> opt_time_field(const json& j, const char* key)
{
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return std::nullopt;
  }
  return time_field(j, key);
}

Millis millis_field(const json& j, const char* key, Millis fallback)
{
  auto it = j.find(key);
  if (it == j.end()) {
    return fallback;
  }
  // Durations are never negative, nor longer than k_max_duration (what parse_duration()
  // accepts); anything else (NaN, a huge double) is damage that would overflow a deadline.
  // state_fast.cc's millis() declines the same values, so both readers give this error.
  const double ms = get<double>(j, key) * 1000.0;
  if (!(ms >= 0 && ms <= static_cast<double>(k_max_duration.count()))) {
    throw field_error(key, "is out of range");
  }
  return Millis(static_cast<int64_t>(ms + 0.5));
}

double seconds(Millis m)
{
  return static_cast<double>(m.count()) / 1000.0;
}

} // namespace

std::string to_string(RunState s)
{
  return k_states.at(static_cast<size_t>(s));
}
std::string to_string(Outcome o)
{
  return k_outcomes.at(static_cast<size_t>(o));
}
std::string to_string(RestartPolicy p)
{
  return k_policies.at(static_cast<size_t>(p));
}
std::optional<RunState> run_state_from(std::string_view s)
{
  return from_names<RunState>(k_states, s);
}
std::optional<Outcome> outcome_from(std::string_view s)
{
  return from_names<Outcome>(k_outcomes, s);
}
std::optional<RestartPolicy> restart_policy_from(std::string_view s)
{
  return from_names<RestartPolicy>(k_policies, s);
}

bool is_live(RunState s)
{
  return s == RunState::Starting || s == RunState::Running || s == RunState::Backoff ||
         s == RunState::Stopping;
}

json to_json(const JobDefinition& d)
{
  json env = json::array();
  for (const auto& [k, v] : d.env) {
    env.push_back(k + "=" + v);
  }
  return json{
      {"argv", d.argv},
      {"command", d.command},
      {"cwd", d.cwd},
      {"umask", d.umask},
      {"path", d.path},
      {"env", env},
      {"env_file", d.env_file.empty() ? json(nullptr) : json(d.env_file)},
      {"oneshot", d.oneshot},
      {"duration_s", seconds(d.duration)},
      {"restart", to_string(d.restart)},
      {"max_restarts", d.max_restarts ? json(*d.max_restarts) : json("unlimited")},
      {"restart_window_s", seconds(d.restart_window)},
      {"restart_delay_s", seconds(d.restart_delay)},
      {"restart_delay_max_s", seconds(d.restart_delay_max)},
      {"stop_signal", signal_name(d.stop_signal)},
      {"stop_timeout_s", seconds(d.stop_timeout)},
      {"log", d.log},
      {"log_max_size", d.log_max_size},
      {"log_keep", d.log_keep},
      {"log_timestamps", d.log_timestamps},
      {"notify", d.notify},
      {"watchdog_s", seconds(d.watchdog)},
      {"stall_s", seconds(d.stall)},
      {"max_memory", d.max_memory},
      {"restart_every_s", seconds(d.restart_every)},
      {"on_failure", d.on_failure.empty() ? json(nullptr) : json(d.on_failure)},
      {"alert_cooldown_s", seconds(d.alert_cooldown)},
      {"alert_timeout_s", seconds(d.alert_timeout)},
  };
}

JobDefinition definition_from_json(const json& j)
{
  if (!j.is_object()) {
    throw std::runtime_error("definition is not an object");
  }
  JobDefinition d;
  d.argv = get<std::vector<std::string>>(j, "argv");
  if (d.argv.empty()) {
    throw std::runtime_error("field 'argv' is empty");
  }
  d.command = get<std::string>(j, "command");
  d.cwd = get<std::string>(j, "cwd");
  d.umask = get_or<unsigned>(j, "umask", 022);
  if (d.umask > 0777) {
    throw field_error("umask", "is out of range");
  }
  d.path = get_or<std::string>(j, "path", "");
  for (const auto& kv : get_or<std::vector<std::string>>(j, "env", {})) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) {
      throw std::runtime_error("field 'env' holds an entry without '='");
    }
    d.env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  d.env_file = get_or<std::string>(j, "env_file", "");
  d.oneshot = get_or<bool>(j, "oneshot", false);
  d.duration = millis_field(j, "duration_s", Millis(0));
  auto policy = restart_policy_from(get_or<std::string>(j, "restart", "on-failure"));
  if (!policy) {
    throw std::runtime_error("field 'restart' is not a restart policy");
  }
  d.restart = *policy;
  auto mr = j.find("max_restarts");
  if (mr != j.end() && mr->is_string()) {
    if (*mr != "unlimited") {
      throw field_error("max_restarts", "is neither a number nor \"unlimited\"");
    }
    d.max_restarts = std::nullopt;
  } else if (mr != j.end()) {
    d.max_restarts = get<unsigned>(j, "max_restarts");
  }
  d.restart_window = millis_field(j, "restart_window_s", d.restart_window);
  d.restart_delay = millis_field(j, "restart_delay_s", d.restart_delay);
  d.restart_delay_max = millis_field(j, "restart_delay_max_s", d.restart_delay_max);
  auto sig = parse_signal(get_or<std::string>(j, "stop_signal", "SIGTERM"));
  if (!sig) {
    throw std::runtime_error("field 'stop_signal' is not a signal");
  }
  d.stop_signal = *sig;
  d.stop_timeout = millis_field(j, "stop_timeout_s", d.stop_timeout);
  d.log = get<std::string>(j, "log");
  d.log_max_size = get_or<uint64_t>(j, "log_max_size", d.log_max_size);
  d.log_keep = get_or<unsigned>(j, "log_keep", d.log_keep);
  d.log_timestamps = get_or<bool>(j, "log_timestamps", false);
  d.notify = get_or<bool>(j, "notify", false);
  d.watchdog = millis_field(j, "watchdog_s", Millis(0));
  d.stall = millis_field(j, "stall_s", Millis(0));
  d.max_memory = get_or<uint64_t>(j, "max_memory", 0);
  d.restart_every = millis_field(j, "restart_every_s", Millis(0));
  d.on_failure = get_or<std::string>(j, "on_failure", "");
  d.alert_cooldown = millis_field(j, "alert_cooldown_s", d.alert_cooldown);
  d.alert_timeout = millis_field(j, "alert_timeout_s", d.alert_timeout);
  return d;
}

json to_json(const ExitRecord& e)
{
  return json{
      {"pid", e.pid},
      {"code", e.code ? json(*e.code) : json(nullptr)},
      {"signal", e.signal ? json(signal_name(*e.signal)) : json(nullptr)},
      {"core_dumped", e.core_dumped},
      {"runtime_s", e.runtime_s},
      {"outcome", to_string(e.outcome)},
      {"cause", e.cause},
      {"at", format_rfc3339(e.at)},
      {"max_rss_kb", e.max_rss_kb ? json(*e.max_rss_kb) : json(nullptr)},
      {"user_cpu_s", e.user_cpu_s ? json(*e.user_cpu_s) : json(nullptr)},
      {"sys_cpu_s", e.sys_cpu_s ? json(*e.sys_cpu_s) : json(nullptr)},
  };
}

ExitRecord exit_record_from_json(const json& j)
{
  if (!j.is_object()) {
    throw std::runtime_error("exit record is not an object");
  }
  ExitRecord e;
  e.pid = get_or<pid_t>(j, "pid", 0);
  if (auto it = j.find("code"); it != j.end() && !it->is_null()) {
    e.code = get<int>(j, "code");
  }
  if (auto it = j.find("signal"); it != j.end() && !it->is_null()) {
    e.signal = parse_signal(get<std::string>(j, "signal"));
    if (!e.signal) {
      throw std::runtime_error("field 'signal' is not a signal name");
    }
  }
  e.core_dumped = get_or<bool>(j, "core_dumped", false);
  e.runtime_s = get_or<double>(j, "runtime_s", 0.0);
  auto outcome = outcome_from(get<std::string>(j, "outcome"));
  if (!outcome) {
    throw std::runtime_error("field 'outcome' is not an outcome");
  }
  e.outcome = *outcome;
  e.cause = get_or<std::string>(j, "cause", "");
  e.at = time_field(j, "at");
  if (auto it = j.find("max_rss_kb"); it != j.end() && !it->is_null()) {
    e.max_rss_kb = get<uint64_t>(j, "max_rss_kb");
  }
  if (auto it = j.find("user_cpu_s"); it != j.end() && !it->is_null()) {
    e.user_cpu_s = get<double>(j, "user_cpu_s");
  }
  if (auto it = j.find("sys_cpu_s"); it != j.end() && !it->is_null()) {
    e.sys_cpu_s = get<double>(j, "sys_cpu_s");
  }
  return e;
}

json to_json(const StorageFault& f)
{
  return json{
      {"error", f.error},
      {"since", format_rfc3339(f.since)},
      {"until", opt_time(f.until)},
      {"events_queued", f.events_queued},
      {"events_dropped", f.events_dropped},
      {"state_writes_failed", f.state_writes_failed},
  };
}

StorageFault storage_fault_from_json(const json& j)
{
  if (!j.is_object()) {
    throw std::runtime_error("not an object");
  }
  StorageFault f;
  f.error = get_or<std::string>(j, "error", "");
  f.since = time_field(j, "since");
  f.until = opt_time_field(j, "until");
  f.events_queued = get_or<uint64_t>(j, "events_queued", 0);
  f.events_dropped = get_or<uint64_t>(j, "events_dropped", 0);
  f.state_writes_failed = get_or<uint64_t>(j, "state_writes_failed", 0);
  return f;
}

json to_json(const Handover& h)
{
  return json{{"from_pid", h.from_pid}, {"pid", h.pid}, {"at", format_rfc3339(h.at)}};
}

json to_json(const JobState& s)
{
  json tree = json::array();
  for (const TreeProcess& p : s.tree) {
    tree.push_back({{"pid", p.pid}, {"start_time", p.start_time}});
  }
  return json{
      {"schema_version", k_schema_version},
      {"name", s.name},
      {"state", to_string(s.state)},
      {"supervisor",
       {{"pid", s.supervisor.pid},
        {"start_time", s.supervisor.start_time},
        {"boot_id", s.supervisor.boot_id},
        {"parent_pid", s.supervisor.parent_pid},
        {"parent_command", s.supervisor.parent_command},
        {"cgroup", s.supervisor.cgroup},
        {"pid_namespace",
         s.supervisor.pid_namespace != 0 ? json(s.supervisor.pid_namespace) : json(nullptr)}}},
      {"pid", s.pid ? json(*s.pid) : json(nullptr)},
      {"run_id", s.run_id},
      {"started_at", opt_time(s.started_at)},
      {"run_started_at", opt_time(s.run_started_at)},
      {"run_started_boot_ns", s.run_started_boot_ns},
      {"deadline_at", opt_time(s.deadline_at)},
      {"next_start_at", opt_time(s.next_start_at)},
      {"restarts", s.restarts},
      {"run", s.run},
      {"status_text", s.status_text},
      {"memory_rss", s.memory_rss ? json(*s.memory_rss) : json(nullptr)},
      {"last_exit", s.last_exit ? to_json(*s.last_exit) : json(nullptr)},
      {"handover", s.handover ? to_json(*s.handover) : json(nullptr)},
      {"end_cause", s.end_cause},
      {"log_dropped_bytes", s.log_dropped_bytes},
      {"log_drop_error", s.log_drop_error},
      {"storage_error", s.storage_error ? to_json(*s.storage_error) : json(nullptr)},
      {"tree", tree},
      {"definition", to_json(s.definition)},
      {"updated_at", format_rfc3339(s.updated_at)},
  };
}

JobState job_state_from_json(const json& j)
{
  if (!j.is_object()) {
    throw std::runtime_error("state is not a JSON object");
  }
  int version = get<int>(j, "schema_version");
  if (version > k_schema_version) {
    throw std::runtime_error("schema_version " + std::to_string(version) +
                             " is newer than this pg understands");
  }
  JobState s;
  s.name = get<std::string>(j, "name");
  auto st = run_state_from(get<std::string>(j, "state"));
  if (!st) {
    throw std::runtime_error("field 'state' is not a state");
  }
  s.state = *st;
  const json& sup = object_field(j, "supervisor");
  nested("supervisor", [&] {
    s.supervisor.pid = get<pid_t>(sup, "pid");
    s.supervisor.start_time = get<uint64_t>(sup, "start_time");
    s.supervisor.boot_id = get<std::string>(sup, "boot_id");
    s.supervisor.parent_pid = get_or<pid_t>(sup, "parent_pid", 0);
    s.supervisor.parent_command = get_or<std::string>(sup, "parent_command", "");
    s.supervisor.cgroup = get_or<std::string>(sup, "cgroup", "");
    s.supervisor.pid_namespace = get_or<uint64_t>(sup, "pid_namespace", 0);
  });
  if (auto it = j.find("pid"); it != j.end() && !it->is_null()) {
    s.pid = get<pid_t>(j, "pid");
  }
  s.run_id = get_or<std::string>(j, "run_id", "");
  s.started_at = opt_time_field(j, "started_at");
  s.run_started_at = opt_time_field(j, "run_started_at");
  s.run_started_boot_ns = get_or<int64_t>(j, "run_started_boot_ns", 0);
  s.deadline_at = opt_time_field(j, "deadline_at");
  s.next_start_at = opt_time_field(j, "next_start_at");
  s.restarts = get_or<unsigned>(j, "restarts", 0);
  s.run = get_or<unsigned>(j, "run", 0);
  s.status_text = get_or<std::string>(j, "status_text", "");
  if (auto it = j.find("memory_rss"); it != j.end() && !it->is_null()) {
    s.memory_rss = get<uint64_t>(j, "memory_rss");
  }
  if (auto it = j.find("last_exit"); it != j.end() && !it->is_null()) {
    s.last_exit = nested("last_exit", [&] { return exit_record_from_json(*it); });
  }
  if (auto it = j.find("handover"); it != j.end() && !it->is_null()) {
    s.handover = nested("handover", [&] {
      Handover h;
      h.from_pid = get<pid_t>(*it, "from_pid");
      h.pid = get<pid_t>(*it, "pid");
      h.at = time_field(*it, "at");
      return h;
    });
  }
  s.end_cause = get_or<std::string>(j, "end_cause", "");
  s.log_dropped_bytes = get_or<uint64_t>(j, "log_dropped_bytes", 0);
  s.log_drop_error = get_or<std::string>(j, "log_drop_error", "");
  if (auto it = j.find("storage_error"); it != j.end() && !it->is_null()) {
    s.storage_error = nested("storage_error", [&] { return storage_fault_from_json(*it); });
  }
  if (auto it = j.find("tree"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) {
      throw field_error("tree", "is not an array");
    }
    nested("tree", [&] {
      for (const json& p : *it) {
        if (!p.is_object()) {
          throw std::runtime_error("an entry is not an object");
        }
        s.tree.push_back({get<pid_t>(p, "pid"), get<uint64_t>(p, "start_time")});
      }
    });
  }
  const json& def = object_field(j, "definition");
  s.definition = nested("definition", [&] { return definition_from_json(def); });
  s.updated_at = time_field(j, "updated_at");
  return s;
}

std::string dump_line(const json& j)
{
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace pg
