#include "ls_json.h"

#include "json_writer.h"
#include "ls_text.h"
#include "proc.h"
#include "signals.h"

#include <array>
#include <optional>

namespace pg {

using nlohmann::ordered_json;

namespace {

// The supervisor's pid namespace for --json (the inode of /proc/PID/ns/pid, as state.json has
// it) when it is not pg-ls's own, else null.
std::optional<uint64_t> json_pid_namespace(const JobView& v)
{
  if (!v.other_pid_namespace || !v.state) {
    return std::nullopt;
  }
  return v.state->supervisor.pid_namespace;
}

void write_exit(JsonWriter& w, const ExitRecord& e)
{
  w.begin_object();
  w.key("code");
  w.opt_integer(e.exit_code());
  const std::optional<int> sig = e.exit_signal();
  w.key("signal").opt_string(sig ? std::optional(signal_name(*sig)) : std::nullopt);
  w.key("core_dumped").boolean(e.status && e.status->core_dumped);
  w.key("runtime_s").real(e.runtime_s);
  w.key("outcome").string(to_string(e.outcome));
  w.key("cause").string(e.cause);
  w.key("at").string(format_rfc3339(e.at));
  w.key("pid");
  w.opt_integer(e.pid > 0 ? std::optional<pid_t>(e.pid) : std::nullopt);
  w.key("max_rss_kb");
  w.opt_integer(e.max_rss_kb);
  w.key("user_cpu_s");
  e.user_cpu_s ? w.real(*e.user_cpu_s) : w.null();
  w.key("sys_cpu_s");
  e.sys_cpu_s ? w.real(*e.sys_cpu_s) : w.null();
  w.end_object();
}

// The job's name and state as shown, why it is lost or unreadable, and its live pids.
void write_shown(JsonWriter& w, const ListedJob& job)
{
  const JobView& v = job.view;
  const JobState* st = v.state ? &*v.state : nullptr;
  w.key("schema_version").integer(k_schema_version);
  w.key("name").string(v.name);
  w.key("state").string(to_string(v.shown));
  w.key("lost_reason")
      .opt_string(v.shown == RunState::Lost ? std::optional(lost_why(v)) : std::nullopt);
  w.key("leftovers");
  v.shown == RunState::Lost ? w.integer(v.leftovers.size()) : w.null();
  w.key("error").opt_string(v.error.empty() ? std::nullopt : std::optional(v.error));
  w.key("supervisor_pid");
  w.opt_integer(st && v.supervisor_alive && !v.other_pid_namespace
                    ? std::optional<pid_t>(st->supervisor.pid)
                    : std::nullopt);
  w.key("pid");
  w.opt_integer(st ? live_pid(job) : std::nullopt);
}

// What runs and how: the definition, the run's times and counts (null without a state).
void write_run(JsonWriter& w, const ListedJob& job)
{
  const JobView& v = job.view;
  const JobState* st = v.state ? &*v.state : nullptr;
  const JobDefinition* d = st ? &st->definition : nullptr;
  w.key("command");
  if (d) {
    w.begin_array();
    for (const auto& a : d->argv) {
      w.string(a);
    }
    w.end_array();
  } else {
    w.null();
  }
  w.key("resolved").opt_string(d ? std::optional(d->resolved) : std::nullopt);
  w.key("cwd").opt_string(d ? std::optional(d->cwd) : std::nullopt);
  w.key("started_at").opt_time(st ? st->started_at : std::nullopt);
  w.key("run_started_at").opt_time(st && job.uptime ? st->run_started_at : std::nullopt);
  w.key("uptime_s");
  job.uptime ? w.integer(job.uptime->count()) : w.null();
  w.key("duration_s");
  d ? w.real(static_cast<double>(d->duration.count()) / 1000.0) : w.null();
  w.key("duration_done");
  job.duration_done ? w.real(*job.duration_done) : w.null();
  w.key("deadline_at").opt_time(st ? st->deadline_at : std::nullopt);
  w.key("next_start_at")
      .opt_time(st && v.shown == RunState::Backoff ? st->next_start_at : std::nullopt);
  w.key("restarts");
  st ? w.integer(st->restarts) : w.null();
  w.key("restart_policy").opt_string(d ? std::optional(to_string(d->restart)) : std::nullopt);
  w.key("max_restarts");
  if (!d) {
    w.null();
  } else if (d->max_restarts) {
    w.integer(*d->max_restarts);
  } else {
    w.string("unlimited");
  }
  w.key("oneshot");
  d ? w.boolean(d->oneshot) : w.null();
  w.key("status_text").opt_string(st ? std::optional(st->status_text) : std::nullopt);
  w.key("log").opt_string(d ? std::optional(d->log) : std::nullopt);
}

// The failures heard since the last acknowledgement, and when that was (failures.h); null
// without a state.
void write_ack(JsonWriter& w, const JobState* st)
{
  w.key("failures_since_ack");
  st ? w.integer(st->failures_since_ack) : w.null();
  w.key("last_ack_at").opt_time(st ? st->last_ack_at : std::nullopt);
}

// The last exit, the supervisor, the state's age and the storage trouble. The keys after
// storage_fault came later than the others (and only with a state), so they come last, and
// the acknowledgement's after them.
void write_record(JsonWriter& w, const ListedJob& job)
{
  const JobView& v = job.view;
  const JobState* st = v.state ? &*v.state : nullptr;
  w.key("last_exit");
  st && st->last_exit ? write_exit(w, *st->last_exit) : w.null();
  w.key("supervisor");
  if (st) {
    w.begin_object();
    w.key("pid").integer(st->supervisor.pid);
    w.key("alive").boolean(v.supervisor_alive);
    w.key("cgroup").string(st->supervisor.cgroup);
    w.end_object();
  } else {
    w.null();
  }
  w.key("supervisor_parent");
  if (st) {
    w.begin_object();
    w.key("pid").integer(st->supervisor.parent_pid);
    w.key("command").string(st->supervisor.parent_command);
    w.end_object();
  } else {
    w.null();
  }
  w.key("updated_at").opt_time(st ? std::optional(st->updated_at) : std::nullopt);
  w.key("storage_fault")
      .opt_string(v.storage_fault.empty() ? std::nullopt : std::optional(v.storage_fault));
  if (!st) {
    write_ack(w, st);
    return;
  }
  w.key("end_cause")
      .opt_string(st->end_cause.empty() ? std::nullopt : std::optional(st->end_cause));
  w.key("log_dropped_bytes").integer(st->log_dropped_bytes);
  w.key("storage_error");
  if (st->storage_error) {
    const StorageFault& f = *st->storage_error;
    w.begin_object();
    w.key("error").string(f.error);
    w.key("since").time(f.since);
    w.key("until").opt_time(f.until);
    w.key("events_queued").integer(f.events_queued);
    w.key("events_dropped").integer(f.events_dropped);
    w.key("state_writes_failed").integer(f.state_writes_failed);
    w.end_object();
  } else {
    w.null();
  }
  w.key("pid_namespace");
  w.opt_integer(json_pid_namespace(v));
  write_ack(w, st);
}

// The definition's limits and caps, as state.json has them (null without a state): limits
// {"nofile": {"soft": 64, "hard": 128}} (null for unlimited); caps in bytes, tasks and percent
// of one CPU, 0 when not set. Came after the acknowledgement's keys, so they follow them.
void write_limits(JsonWriter& w, const JobState* st)
{
  w.key("limits");
  if (st) {
    w.begin_object();
    for (const Limit& l : st->definition.limits) {
      w.key(l.name).begin_object();
      w.key("soft");
      l.soft ? w.integer(*l.soft) : w.null();
      w.key("hard");
      l.hard ? w.integer(*l.hard) : w.null();
      w.end_object();
    }
    w.end_object();
  } else {
    w.null();
  }
  w.key("memory_cap");
  st ? w.integer(st->definition.memory_cap) : w.null();
  w.key("tasks_cap");
  st ? w.integer(st->definition.tasks_cap) : w.null();
  w.key("cpu_quota_pct");
  st ? w.integer(st->definition.cpu_quota_pct) : w.null();
}

// The job's cgroup (recorded paths; [] without one) and its live use: memory in bytes and
// the task count, null when not known (not live, no cgroup to count tasks).
void write_usage(JsonWriter& w, const ListedJob& job)
{
  const JobState* st = job.view.state ? &*job.view.state : nullptr;
  w.key("job_cgroup");
  if (st) {
    w.begin_array();
    for (const std::string& p : st->job_cgroup) {
      w.string(p);
    }
    w.end_array();
  } else {
    w.null();
  }
  std::optional<uint64_t> memory = job.memory_bytes;
  std::optional<uint64_t> tasks = job.tasks;
  if (!job.tasks_measured) {
    const LiveUsage u = live_usage(job);
    memory = memory ? memory : u.memory_rss_bytes;
    tasks = u.tasks;
  }
  w.key("memory_rss_bytes");
  memory ? w.integer(*memory) : w.null();
  w.key("tasks");
  tasks ? w.integer(*tasks) : w.null();
}

void seconds(JsonWriter& w, Millis m)
{
  w.real(static_cast<double>(m.count()) / 1000.0);
}

std::optional<std::string> text_or_null(const std::string& s)
{
  return s.empty() ? std::nullopt : std::optional(s);
}

// A member of the rest of the definition: its key, and how its value is written from a state.
struct DefinitionMember {
  std::string_view key;
  void (*write)(JsonWriter& w, const JobState& st);
};

// The rest of the recorded definition, in state.json's names (of --env, only the names: the
// values may be secrets), and the failures ever recorded.
constexpr std::array<DefinitionMember, 22> k_definition{{
    {"umask", [](JsonWriter& w, const JobState& st) { w.integer(st.definition.umask); }},
    {"path", [](JsonWriter& w, const JobState& st) { w.string(st.definition.path); }},
    {"env_names",
     [](JsonWriter& w, const JobState& st) {
       w.begin_array();
       for (const auto& [name, value] : st.definition.env) {
         w.string(name);
       }
       w.end_array();
     }},
    {"env_file",
     [](JsonWriter& w, const JobState& st) { w.opt_string(text_or_null(st.definition.env_file)); }},
    {"restart_window_s",
     [](JsonWriter& w, const JobState& st) { seconds(w, st.definition.restart_window); }},
    {"restart_delay_s",
     [](JsonWriter& w, const JobState& st) { seconds(w, st.definition.restart_delay); }},
    {"restart_delay_max_s",
     [](JsonWriter& w, const JobState& st) { seconds(w, st.definition.restart_delay_max); }},
    {"stop_signal",
     [](JsonWriter& w, const JobState& st) { w.string(signal_name(st.definition.stop_signal)); }},
    {"stop_timeout_s",
     [](JsonWriter& w, const JobState& st) { seconds(w, st.definition.stop_timeout); }},
    {"log_max_size",
     [](JsonWriter& w, const JobState& st) { w.integer(st.definition.log_max_size); }},
    {"log_keep", [](JsonWriter& w, const JobState& st) { w.integer(st.definition.log_keep); }},
    {"log_timestamps",
     [](JsonWriter& w, const JobState& st) { w.boolean(st.definition.log_timestamps); }},
    {"notify", [](JsonWriter& w, const JobState& st) { w.boolean(st.definition.notify); }},
    {"watchdog_s", [](JsonWriter& w, const JobState& st) { seconds(w, st.definition.watchdog); }},
    {"stall_s", [](JsonWriter& w, const JobState& st) { seconds(w, st.definition.stall); }},
    {"max_memory", [](JsonWriter& w, const JobState& st) { w.integer(st.definition.max_memory); }},
    {"restart_every_s",
     [](JsonWriter& w, const JobState& st) { seconds(w, st.definition.restart_every); }},
    {"on_failure",
     [](JsonWriter& w, const JobState& st) {
       w.opt_string(text_or_null(st.definition.on_failure));
     }},
    {"alert_cooldown_s",
     [](JsonWriter& w, const JobState& st) { seconds(w, st.definition.alert_cooldown); }},
    {"alert_timeout_s",
     [](JsonWriter& w, const JobState& st) { seconds(w, st.definition.alert_timeout); }},
    {"jobs_file", [](JsonWriter& w,
                     const JobState& st) { w.opt_string(text_or_null(st.definition.jobs_file)); }},
    {"failures", [](JsonWriter& w, const JobState& st) { w.opt_integer(st.failures); }},
}};

// The members of k_definition, each null without a state.
void write_definition(JsonWriter& w, const JobState* st)
{
  for (const DefinitionMember& m : k_definition) {
    w.key(m.key);
    st ? m.write(w, *st) : w.null();
  }
}

void write_job(JsonWriter& w, const ListedJob& job)
{
  w.begin_object();
  write_shown(w, job);
  write_run(w, job);
  write_record(w, job);
  write_limits(w, job.view.state ? &*job.view.state : nullptr);
  write_usage(w, job);
  write_definition(w, job.view.state ? &*job.view.state : nullptr);
  w.end_object();
}

} // namespace

void append_job_json(std::string& out, const ListedJob& job, size_t index)
{
  if (index == 0) {
    out += '[';
  }
  JsonWriter w(out, 2, index == 0 ? 0 : 1);
  write_job(w, job);
}

void append_jobs_json_end(std::string& out, size_t count)
{
  out += count == 0 ? "[]" : "\n]";
}

std::string jobs_json_text(const std::vector<ListedJob>& jobs)
{
  std::string out;
  out.reserve(jobs.size() * 1536 + 2);
  for (size_t i = 0; i < jobs.size(); ++i) {
    append_job_json(out, jobs[i], i);
  }
  append_jobs_json_end(out, jobs.size());
  return out;
}

ordered_json job_json(const ListedJob& job)
{
  std::string text;
  JsonWriter w(text, 2);
  write_job(w, job);
  return ordered_json::parse(text);
}

ordered_json exit_json(const ExitRecord& e)
{
  std::string text;
  JsonWriter w(text, 2);
  write_exit(w, e);
  return ordered_json::parse(text);
}

} // namespace pg
