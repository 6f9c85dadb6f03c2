#include "ls_history.h"

#include "events.h"
#include "ls_text.h"
#include "signals.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>

namespace pg {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

std::string str(const json& ev, const char* key)
{
  auto it = ev.find(key);
  if (it == ev.end() || it->is_null()) {
    return {};
  }
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// One line for a terminal: control characters escaped.
std::string one_line(std::string_view text)
{
  std::string out;
  for (char ch : text) {
    auto b = static_cast<unsigned char>(ch);
    if (b < 0x20 || b == 0x7f) {
      out += fmt::format("\\x{:02x}", b);
    } else {
      out += ch;
    }
  }
  return out;
}

std::string label_value(std::string_view v)
{
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

double epoch_seconds(WallTime t)
{
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

} // namespace

std::vector<JobEvent> parse_events(std::string_view text, const std::string& job,
                                   std::optional<WallTime> since, const EventText& how)
{
  std::vector<JobEvent> out;
  size_t pos = 0;
  if (how.starts_mid_line) {
    pos = text.find('\n');
    pos = pos == std::string_view::npos ? text.size() : pos + 1;
  }
  const std::string quoted_kind =
      how.kind.empty() ? std::string() : fmt::format("\"{}\"", how.kind);
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) {
      if (!how.unended_last_line) {
        break; // a line still being written
      }
      end = text.size();
    }
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() > k_max_event_line ||
        (!quoted_kind.empty() && line.find(quoted_kind) == std::string_view::npos)) {
      continue;
    }
    json ev = json::parse(line, nullptr, false);
    if (!ev.is_object() || !ev.contains("event") || !ev["event"].is_string() ||
        (!how.kind.empty() && ev["event"].get_ref<const std::string&>() != how.kind)) {
      continue;
    }
    auto at_it = ev.find("at");
    if (at_it == ev.end() || !at_it->is_string()) {
      continue;
    }
    auto at = parse_rfc3339(at_it->get<std::string>());
    if (!at || (since && *at < *since)) {
      continue;
    }
    upgrade_event(ev);
    std::optional<ExitRecord> exit;
    if (ev["event"] == "exit") {
      try {
        exit = exit_record_from_json(ev);
      } catch (const std::exception&) {
        // a damaged exit line says nothing reliable: an event without its record
      }
    }
    out.push_back({job, *at, std::move(ev), std::move(exit)});
  }
  return out;
}

void merge_events(std::vector<JobEvent>& events)
{
  std::stable_sort(events.begin(), events.end(),
                   [](const JobEvent& a, const JobEvent& b) { return a.at < b.at; });
}

std::string render_events(const std::vector<JobEvent>& events)
{
  size_t name_w = 4;
  size_t kind_w = 5;
  for (const auto& e : events) {
    name_w = std::max(name_w, e.job.size());
    kind_w = std::max(kind_w, str(e.event, "event").size());
  }
  std::string out = fmt::format("{:<19}  {:<{}}  {:<{}}  {}\n", "TIME", "NAME", name_w, "EVENT",
                                kind_w, "DETAIL");
  for (const auto& e : events) {
    std::string line =
        fmt::format("{:<19}  {:<{}}  {:<{}}  {}", format_local(e.at), e.job, name_w,
                    one_line(str(e.event, "event")), kind_w, one_line(describe(e.event)));
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    out += line + "\n";
  }
  return out;
}

ordered_json events_json(const std::vector<JobEvent>& events)
{
  ordered_json out = ordered_json::array();
  for (const auto& e : events) {
    ordered_json j = {{"schema_version", k_schema_version},
                      {"name", e.job},
                      {"event", e.event["event"]},
                      {"at", e.event["at"]}};
    for (const auto& [key, value] : e.event.items()) {
      if (key != "name" && key != "schema_version") {
        j[key] = value; // the first four keep their place in front
      }
    }
    out.push_back(std::move(j));
  }
  return out;
}

namespace {

using Sample = std::optional<double>;

// One Prometheus family: a sample per job that has a value.
struct Family {
  const char* metric;
  const char* type;
  const char* help;
  Sample (*value)(const ListedJob&);
};

const ExitRecord* last_exit_of(const ListedJob& j)
{
  return j.view.state && j.view.state->last_exit ? &*j.view.state->last_exit : nullptr;
}

Sample unix_time(const std::optional<WallTime>& t)
{
  return t ? Sample(epoch_seconds(*t)) : std::nullopt;
}

// The families after pg_job_state. Counters: state.json keeps both across supervisors (the run
// numbers go on, the failures are carried over), so they only go back when pg-ctl forget
// removes the job. Times as timestamps only: an age written to a textfile goes stale between
// two writes.
constexpr std::array<Family, 14> k_families{{
    {"pg_job_up", "gauge", "1 while the job runs (its supervisor alive, its process started).",
     [](const ListedJob& j) -> Sample {
       return j.view.shown == RunState::Running || j.view.shown == RunState::Starting ? 1 : 0;
     }},
    {"pg_job_runs_total", "counter", "Runs ever started in the job's history.",
     [](const ListedJob& j) -> Sample {
       return j.view.state && j.view.state->run > 0 ? Sample(j.view.state->run) : std::nullopt;
     }},
    {"pg_job_failures_total", "counter",
     "Failed runs ever recorded in the job's history (premature and lost ones included).",
     [](const ListedJob& j) -> Sample {
       return j.view.state && j.view.state->failures ? Sample(*j.view.state->failures)
                                                     : std::nullopt;
     }},
    // A gauge: the count starts again at each launch (pg-ctl restart and revive keep it).
    {"pg_job_restarts", "gauge",
     "Runs started after the first since the job's launch, planned ones included.",
     [](const ListedJob& j) -> Sample {
       return j.view.state ? Sample(j.view.state->restarts) : std::nullopt;
     }},
    {"pg_job_memory_rss_bytes", "gauge",
     "The live job's current memory: its cgroup's, else the --max-memory sample.",
     [](const ListedJob& j) -> Sample {
       const auto m = live_usage(j).memory_rss_bytes;
       return m ? Sample(static_cast<double>(*m)) : std::nullopt;
     }},
    {"pg_job_tasks", "gauge", "The live job's processes and threads, counted by its cgroup.",
     [](const ListedJob& j) -> Sample {
       const auto t = live_usage(j).tasks;
       return t ? Sample(static_cast<double>(*t)) : std::nullopt;
     }},
    {"pg_job_started_timestamp_seconds", "gauge", "The job's first start, Unix time.",
     [](const ListedJob& j) -> Sample {
       return j.view.state ? unix_time(j.view.state->started_at) : std::nullopt;
     }},
    {"pg_job_run_started_timestamp_seconds", "gauge",
     "The live job's current run's start, Unix time.",
     [](const ListedJob& j) -> Sample {
       return j.uptime && j.view.state ? unix_time(j.view.state->run_started_at) : std::nullopt;
     }},
    {"pg_job_deadline_timestamp_seconds", "gauge",
     "When the job's --duration ends (its first start plus the duration), Unix time.",
     [](const ListedJob& j) -> Sample {
       return j.view.state ? unix_time(j.view.state->deadline_at) : std::nullopt;
     }},
    {"pg_job_last_exit_code", "gauge", "Exit code of the last run; -1 when a signal ended it.",
     [](const ListedJob& j) -> Sample {
       const ExitRecord* e = last_exit_of(j);
       return e == nullptr ? std::nullopt : Sample(e->exit_code().value_or(-1));
     }},
    {"pg_job_last_exit_signal", "gauge", "Number of the signal that ended the last run; 0 if none.",
     [](const ListedJob& j) -> Sample {
       const ExitRecord* e = last_exit_of(j);
       return e == nullptr ? std::nullopt : Sample(e->exit_signal().value_or(0));
     }},
    {"pg_job_last_exit_failed", "gauge", "1 when the last run's outcome was failed.",
     [](const ListedJob& j) -> Sample {
       const ExitRecord* e = last_exit_of(j);
       return e == nullptr ? std::nullopt : Sample(e->outcome == Outcome::Failed ? 1 : 0);
     }},
    {"pg_job_last_exit_runtime_seconds", "gauge", "How long the last run ran.",
     [](const ListedJob& j) -> Sample {
       const ExitRecord* e = last_exit_of(j);
       return e == nullptr ? std::nullopt : Sample(e->runtime_s);
     }},
    {"pg_job_last_exit_timestamp_seconds", "gauge", "When the last run ended, Unix time.",
     [](const ListedJob& j) -> Sample {
       const ExitRecord* e = last_exit_of(j);
       return e == nullptr ? std::nullopt : Sample(epoch_seconds(e->at));
     }},
}};

} // namespace

std::string render_prometheus(const std::vector<ListedJob>& jobs, const std::string& state_dir)
{
  std::string out;
  // name and state_dir on every series: two state directories' jobs of one name (two users',
  // or one user's two) are two series, not duplicates node_exporter refuses.
  auto labels = [&](const ListedJob& j) {
    return fmt::format("name=\"{}\",state_dir=\"{}\"", label_value(j.view.name),
                       label_value(state_dir));
  };
  constexpr std::array<RunState, 8> k_states{
      RunState::Starting, RunState::Running,   RunState::Backoff, RunState::Stopping,
      RunState::Stopped,  RunState::Completed, RunState::Failed,  RunState::Lost};
  out += "# HELP pg_job_state The job's state: 1 for the state it is in, 0 for the others.\n"
         "# TYPE pg_job_state gauge\n";
  for (const auto& j : jobs) {
    for (RunState s : k_states) {
      out += fmt::format("pg_job_state{{{},state=\"{}\"}} {}\n", labels(j), to_string(s),
                         j.view.shown == s ? 1 : 0);
    }
  }
  for (const Family& f : k_families) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.metric, f.help, f.metric, f.type);
    for (const auto& j : jobs) {
      if (const Sample v = f.value(j)) {
        out += fmt::format("{}{{{}}} {}\n", f.metric, labels(j), *v);
      }
    }
  }
  return out;
}

} // namespace pg
