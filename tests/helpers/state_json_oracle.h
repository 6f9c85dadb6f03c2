// The oracle of state.json's text: the writer it had before it was streamed (f75d8c4, a
// nlohmann value for each object, dumped with dump(-1, ' ', false, replace)), kept here as the
// reference the streaming writer (state.h's write_json) must match byte for byte.
#pragma once

#include "signals.h"
#include "state.h"

#include <nlohmann/json.hpp>

#include <string>

namespace pg::oracle {

using nlohmann::json;

inline json opt_time(const std::optional<WallTime>& t)
{
  return t ? json(format_rfc3339(*t)) : json(nullptr);
}

inline double seconds(Millis m)
{
  return static_cast<double>(m.count()) / 1000.0;
}

inline json limit_value(LimitValue v)
{
  return v ? json(*v) : json(nullptr);
}

inline json limits_value(const std::vector<Limit>& limits)
{
  json out = json::object();
  for (const Limit& l : limits) {
    out[l.name] = {{"soft", limit_value(l.soft)}, {"hard", limit_value(l.hard)}};
  }
  return out;
}

inline json definition_value(const JobDefinition& d)
{
  json env = json::array();
  for (const auto& [k, v] : d.env) {
    env.push_back(k + "=" + v);
  }
  return json{
      {"command", d.argv},
      {"resolved", d.resolved},
      {"cwd", d.cwd},
      {"umask", d.umask},
      {"path", d.path},
      {"env", env},
      {"env_file", d.env_file.empty() ? json(nullptr) : json(d.env_file)},
      {"oneshot", d.oneshot},
      {"duration_s", seconds(d.duration)},
      {"restart_policy", to_string(d.restart)},
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
      {"jobs_file", d.jobs_file.empty() ? json(nullptr) : json(d.jobs_file)},
      {"limits", limits_value(d.limits)},
      {"memory_cap", d.memory_cap},
      {"tasks_cap", d.tasks_cap},
      {"cpu_quota_pct", d.cpu_quota_pct},
  };
}

inline json exit_value(const ExitRecord& e)
{
  const std::optional<int> code = e.exit_code();
  const std::optional<int> sig = e.exit_signal();
  return json{
      {"pid", e.pid > 0 ? json(e.pid) : json(nullptr)},
      {"code", code ? json(*code) : json(nullptr)},
      {"signal", sig ? json(signal_name(*sig)) : json(nullptr)},
      {"core_dumped", e.status && e.status->core_dumped},
      {"runtime_s", e.runtime_s},
      {"outcome", to_string(e.outcome)},
      {"cause", e.cause},
      {"at", format_rfc3339(e.at)},
      {"max_rss_kb", e.max_rss_kb ? json(*e.max_rss_kb) : json(nullptr)},
      {"user_cpu_s", e.user_cpu_s ? json(*e.user_cpu_s) : json(nullptr)},
      {"sys_cpu_s", e.sys_cpu_s ? json(*e.sys_cpu_s) : json(nullptr)},
  };
}

inline json fault_value(const StorageFault& f)
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

inline json handover_value(const Handover& h)
{
  return json{{"from_pid", h.from_pid}, {"pid", h.pid}, {"at", format_rfc3339(h.at)}};
}

inline json state_value(const JobState& s)
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
        {"cgroup", s.supervisor.cgroup},
        {"pid_namespace",
         s.supervisor.pid_namespace != 0 ? json(s.supervisor.pid_namespace) : json(nullptr)}}},
      {"supervisor_parent",
       {{"pid", s.supervisor.parent_pid}, {"command", s.supervisor.parent_command}}},
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
      {"memory_rss_bytes", s.memory_rss ? json(*s.memory_rss) : json(nullptr)},
      {"last_exit", s.last_exit ? exit_value(*s.last_exit) : json(nullptr)},
      {"handover", s.handover ? handover_value(*s.handover) : json(nullptr)},
      {"end_cause", s.end_cause},
      {"log_dropped_bytes", s.log_dropped_bytes},
      {"log_drop_error", s.log_drop_error},
      {"storage_error", s.storage_error ? fault_value(*s.storage_error) : json(nullptr)},
      {"tree", tree},
      {"job_cgroup", s.job_cgroup},
      {"definition", definition_value(s.definition)},
      {"updated_at", format_rfc3339(s.updated_at)},
      {"failures_since_ack", s.failures_since_ack},
      {"last_ack_at", opt_time(s.last_ack_at)},
      {"failures", s.failures ? json(*s.failures) : json(nullptr)},
  };
}

// state.json's text as the oracle writes it.
inline std::string state_line(const JobState& s)
{
  return state_value(s).dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

} // namespace pg::oracle
