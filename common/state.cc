#include "state.h"

#include "json_value_writer.h"
#include "signals.h"

#include <algorithm>
#include <array>
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

namespace {

template <typename W> void write_limits(W& w, const std::vector<Limit>& limits)
{
  // By name, the last of a repeated one, as a JSON object keeps its keys.
  std::vector<const Limit*> sorted;
  sorted.reserve(limits.size());
  for (const Limit& l : limits) {
    sorted.push_back(&l);
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Limit* a, const Limit* b) { return a->name < b->name; });
  w.begin_object();
  for (size_t i = 0; i < sorted.size(); ++i) {
    const Limit& l = *sorted[i];
    if (i + 1 < sorted.size() && sorted[i + 1]->name == l.name) {
      continue;
    }
    w.key(l.name).begin_object();
    w.key("hard").opt_integer(l.hard);
    w.key("soft").opt_integer(l.soft);
    w.end_object();
  }
  w.end_object();
}

template <typename W> void write_opt_text(W& w, const std::string& s)
{
  s.empty() ? w.null() : w.string(s);
}

template <typename W> void write_strings(W& w, const std::vector<std::string>& items)
{
  w.begin_array();
  for (const std::string& s : items) {
    w.string(s);
  }
  w.end_array();
}

template <typename W> void write_supervisor(W& w, const SupervisorRecord& s)
{
  w.begin_object();
  w.key("boot_id").string(s.boot_id);
  w.key("cgroup").string(s.cgroup);
  w.key("pid").integer(s.pid);
  w.key("pid_namespace")
      .opt_integer(s.pid_namespace != 0 ? std::optional(s.pid_namespace) : std::nullopt);
  w.key("start_time").integer(s.start_time);
  w.end_object();
  w.key("supervisor_parent").begin_object();
  w.key("command").string(s.parent_command);
  w.key("pid").integer(s.parent_pid);
  w.end_object();
}

template <typename W> void write_tree(W& w, const std::vector<TreeProcess>& tree)
{
  w.begin_array();
  for (const TreeProcess& p : tree) {
    w.begin_object();
    w.key("pid").integer(p.pid);
    w.key("start_time").integer(p.start_time);
    w.end_object();
  }
  w.end_array();
}

} // namespace

// Every object's keys in their byte order, as a JSON object (std::map) kept them.
template <typename W> void write_json(W& w, const JobDefinition& d)
{
  w.begin_object();
  w.key("alert_cooldown_s").real(seconds(d.alert_cooldown));
  w.key("alert_timeout_s").real(seconds(d.alert_timeout));
  w.key("command");
  write_strings(w, d.argv);
  w.key("cpu_quota_pct").integer(d.cpu_quota_pct);
  w.key("cwd").string(d.cwd);
  w.key("duration_s").real(seconds(d.duration));
  w.key("env").begin_array();
  std::string pair;
  for (const auto& [k, v] : d.env) {
    pair.assign(k).append(1, '=').append(v);
    w.string(pair);
  }
  w.end_array();
  w.key("env_file");
  write_opt_text(w, d.env_file);
  w.key("jobs_file");
  write_opt_text(w, d.jobs_file);
  w.key("limits");
  write_limits(w, d.limits);
  w.key("log").string(d.log);
  w.key("log_keep").integer(d.log_keep);
  w.key("log_max_size").integer(d.log_max_size);
  w.key("log_timestamps").boolean(d.log_timestamps);
  w.key("max_memory").integer(d.max_memory);
  w.key("max_restarts");
  d.max_restarts ? w.integer(*d.max_restarts) : w.string("unlimited");
  w.key("memory_cap").integer(d.memory_cap);
  w.key("notify").boolean(d.notify);
  w.key("on_failure");
  write_opt_text(w, d.on_failure);
  w.key("oneshot").boolean(d.oneshot);
  w.key("path").string(d.path);
  w.key("resolved").string(d.resolved);
  w.key("restart_delay_max_s").real(seconds(d.restart_delay_max));
  w.key("restart_delay_s").real(seconds(d.restart_delay));
  w.key("restart_every_s").real(seconds(d.restart_every));
  w.key("restart_policy").string(to_string(d.restart));
  w.key("restart_window_s").real(seconds(d.restart_window));
  w.key("stall_s").real(seconds(d.stall));
  w.key("stop_signal").string(signal_name(d.stop_signal));
  w.key("stop_timeout_s").real(seconds(d.stop_timeout));
  w.key("tasks_cap").integer(d.tasks_cap);
  w.key("umask").integer(d.umask);
  w.key("watchdog_s").real(seconds(d.watchdog));
  w.end_object();
}

template <typename W> void write_json(W& w, const ExitRecord& e)
{
  const std::optional<int> sig = e.exit_signal();
  w.begin_object();
  w.key("at").time(e.at);
  w.key("cause").string(e.cause);
  w.key("code").opt_integer(e.exit_code());
  w.key("core_dumped").boolean(e.status && e.status->core_dumped);
  w.key("max_rss_kb").opt_integer(e.max_rss_kb);
  w.key("outcome").string(to_string(e.outcome));
  w.key("pid").opt_integer(e.pid > 0 ? std::optional(e.pid) : std::nullopt);
  w.key("runtime_s").real(e.runtime_s);
  w.key("signal").opt_string(sig ? std::optional(signal_name(*sig)) : std::nullopt);
  w.key("sys_cpu_s").opt_real(e.sys_cpu_s);
  w.key("user_cpu_s").opt_real(e.user_cpu_s);
  w.end_object();
}

template <typename W> void write_json(W& w, const StorageFault& f)
{
  w.begin_object();
  w.key("error").string(f.error);
  w.key("events_dropped").integer(f.events_dropped);
  w.key("events_queued").integer(f.events_queued);
  w.key("since").time(f.since);
  w.key("state_writes_failed").integer(f.state_writes_failed);
  w.key("until").opt_time(f.until);
  w.end_object();
}

template <typename W> void write_json(W& w, const Handover& h)
{
  w.begin_object();
  w.key("at").time(h.at);
  w.key("from_pid").integer(h.from_pid);
  w.key("pid").integer(h.pid);
  w.end_object();
}

template <typename W, typename T> void write_opt(W& w, const std::optional<T>& v)
{
  v ? write_json(w, *v) : w.null();
}

template <typename W> void write_json(W& w, const JobState& s)
{
  w.begin_object();
  w.key("deadline_at").opt_time(s.deadline_at);
  w.key("definition");
  write_json(w, s.definition);
  w.key("end_cause").string(s.end_cause);
  w.key("failures").opt_integer(s.failures);
  w.key("failures_since_ack").integer(s.failures_since_ack);
  w.key("handover");
  write_opt(w, s.handover);
  w.key("job_cgroup");
  write_strings(w, s.job_cgroup);
  w.key("last_ack_at").opt_time(s.last_ack_at);
  w.key("last_exit");
  write_opt(w, s.last_exit);
  w.key("log_drop_error").string(s.log_drop_error);
  w.key("log_dropped_bytes").integer(s.log_dropped_bytes);
  w.key("memory_rss_bytes").opt_integer(s.memory_rss);
  w.key("name").string(s.name);
  w.key("next_start_at").opt_time(s.next_start_at);
  w.key("pid").opt_integer(s.pid);
  w.key("restarts").integer(s.restarts);
  w.key("run").integer(s.run);
  w.key("run_id").string(s.run_id);
  w.key("run_started_at").opt_time(s.run_started_at);
  w.key("run_started_boot_ns").integer(s.run_started_boot_ns);
  w.key("schema_version").integer(k_schema_version);
  w.key("started_at").opt_time(s.started_at);
  w.key("state").string(to_string(s.state));
  w.key("status_text").string(s.status_text);
  w.key("storage_error");
  write_opt(w, s.storage_error);
  w.key("supervisor");
  write_supervisor(w, s.supervisor); // and supervisor_parent, which follows it
  w.key("tree");
  write_tree(w, s.tree);
  w.key("updated_at").time(s.updated_at);
  w.end_object();
}

void append_state_line(std::string& out, const JobState& s)
{
  JsonWriter w(out);
  write_json(w, s);
  out += '\n';
}

// The writers' two forms: text (JsonWriter) and a value (JsonValueWriter).
#define PG_WRITE_JSON(T)                                                                           \
  template void write_json(JsonWriter&, const T&);                                                 \
  template void write_json(JsonValueWriter&, const T&);
PG_WRITE_JSON(JobDefinition)
PG_WRITE_JSON(ExitRecord)
PG_WRITE_JSON(StorageFault)
PG_WRITE_JSON(Handover)
PG_WRITE_JSON(JobState)
#undef PG_WRITE_JSON

json supervisor_parent_json(const SupervisorRecord& s)
{
  return json{{"pid", s.parent_pid}, {"command", s.parent_command}};
}

std::string dump_line(const json& j)
{
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace pg
