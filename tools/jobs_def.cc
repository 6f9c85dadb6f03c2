// Definitions compared in a jobs file's words.
#include "jobs_file.h"

#include "parse.h"
#include "signals.h"

#include <fmt/format.h>

#include <charconv>
#include <sstream>

#define TOML_HEADER_ONLY 1
#include <toml++/toml.h>

namespace pg {

namespace {

// The options of a definition that differ from pg-run's defaults, as (key, value) in a jobs
// file's words; a flag's value is "".
std::vector<std::pair<std::string, std::string>>
options_of(const std::string& name, const JobDefinition& d, const std::string& state_dir)
{
  const JobDefinition z;
  std::vector<std::pair<std::string, std::string>> out;
  auto dur = [&out](Millis v, Millis def, const char* key) {
    if (v != def) {
      out.emplace_back(key, format_duration(v));
    }
  };
  auto flag = [&out](bool v, const char* key) {
    if (v) {
      out.emplace_back(key, "");
    }
  };
  flag(d.oneshot, "oneshot");
  dur(d.duration, z.duration, "duration");
  if (d.restart != (d.oneshot ? RestartPolicy::Never : RestartPolicy::OnFailure)) {
    out.emplace_back("restart", to_string(d.restart));
  }
  if (d.max_restarts != z.max_restarts) {
    out.emplace_back("max_restarts",
                     d.max_restarts ? std::to_string(*d.max_restarts) : "unlimited");
  }
  dur(d.restart_window, z.restart_window, "restart_window");
  dur(d.restart_delay, z.restart_delay, "restart_delay");
  dur(d.restart_delay_max, std::max(z.restart_delay_max, d.restart_delay), "restart_delay_max");
  if (d.stop_signal != z.stop_signal) {
    out.emplace_back("stop_signal", signal_name(d.stop_signal));
  }
  dur(d.stop_timeout, z.stop_timeout, "stop_timeout");
  out.emplace_back("cwd", d.cwd);
  if (!d.env_file.empty()) {
    out.emplace_back("env_file", d.env_file);
  }
  if (d.log != state_dir + "/" + name + "/output.log") {
    out.emplace_back("log", d.log);
  }
  if (d.log_max_size != z.log_max_size) {
    out.emplace_back("log_max_size", std::to_string(d.log_max_size));
  }
  if (d.log_keep != z.log_keep) {
    out.emplace_back("log_keep", std::to_string(d.log_keep));
  }
  flag(d.log_timestamps, "log_timestamps");
  flag(d.notify, "notify");
  dur(d.watchdog, z.watchdog, "watchdog");
  dur(d.stall, z.stall, "stall");
  if (d.max_memory != z.max_memory) {
    out.emplace_back("max_memory", std::to_string(d.max_memory));
  }
  dur(d.restart_every, z.restart_every, "restart_every");
  if (!d.on_failure.empty()) {
    out.emplace_back("on_failure", d.on_failure);
  }
  dur(d.alert_cooldown, z.alert_cooldown, "alert_cooldown");
  dur(d.alert_timeout, z.alert_timeout, "alert_timeout");
  if (d.memory_cap > 0) {
    out.emplace_back("memory_cap", format_size(d.memory_cap));
  }
  if (d.tasks_cap > 0) {
    out.emplace_back("tasks_cap", std::to_string(d.tasks_cap));
  }
  if (d.cpu_quota_pct > 0) {
    out.emplace_back("cpu_quota", std::to_string(d.cpu_quota_pct) + "%");
  }
  return out;
}

// limit = { core = 0, nofile = "64:128" }: a number where one value says it, else its text.
toml::table limits_table(const std::vector<Limit>& limits)
{
  toml::table t;
  for (const Limit& l : limits) {
    const std::string v = limit_values_text(l);
    int64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec == std::errc() && p == v.data() + v.size()) {
      t.insert(l.name, n);
    } else {
      t.insert(l.name, v);
    }
  }
  t.is_inline(true);
  return t;
}

std::string shell_quote(const std::string& s)
{
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789@%+=:,./_-") == std::string::npos) {
    return s;
  }
  std::string out = "'";
  for (char ch : s) {
    out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  }
  return out + "'";
}

bool shell_string(const std::vector<std::string>& argv)
{
  return argv.size() == 3 && argv[0] == "/bin/sh" && argv[1] == "-c";
}

} // namespace

std::string definition_toml(const std::string& name, const JobDefinition& d,
                            const std::string& state_dir)
{
  toml::table job;
  if (shell_string(d.argv)) {
    job.insert("command", d.argv[2]);
  } else {
    toml::array argv;
    for (const auto& a : d.argv) {
      argv.push_back(a);
    }
    job.insert("command", std::move(argv));
  }
  for (const auto& [k, v] : options_of(name, d, state_dir)) {
    if (v.empty() && k != "on_failure") {
      job.insert(k, true);
    } else {
      job.insert(k, v);
    }
  }
  if (!d.env.empty()) {
    toml::table env;
    for (const auto& [k, v] : d.env) {
      env.insert_or_assign(k, v);
    }
    env.is_inline(true); // env = { K = 'V' }, as a jobs file writes it
    job.insert("env", std::move(env));
  }
  if (!d.limits.empty()) {
    job.insert("limit", limits_table(d.limits));
  }
  toml::table jobs;
  jobs.insert(name, std::move(job));
  toml::table root;
  root.insert("jobs", std::move(jobs));
  std::ostringstream out;
  out << root << "\n";
  return out.str();
}

std::string definition_command_line(const std::string& name, const JobDefinition& d,
                                    const std::string& state_dir)
{
  std::string out = "pg-run --name " + shell_quote(name);
  for (const auto& [k, v] : options_of(name, d, state_dir)) {
    std::string opt = "--" + k;
    std::replace(opt.begin(), opt.end(), '_', '-');
    out += " " + opt + (v.empty() ? "" : " " + shell_quote(v));
  }
  for (const auto& [k, v] : d.env) {
    out += " --env " + shell_quote(k + "=" + v);
  }
  for (const Limit& l : d.limits) {
    out += " --limit " + shell_quote(limit_text(l));
  }
  out += " --";
  for (const auto& a : d.argv) {
    out += ' '; // (not " " + quoted: GCC 12's -O3 warns of an overlap there that cannot be)
    out += shell_quote(a);
  }
  return out;
}

std::vector<std::string> changed_keys(const JobDefinition& a, const JobDefinition& b)
{
  std::vector<std::string> out;
  auto diff = [&out](bool differs, const char* key) {
    if (differs) {
      out.emplace_back(key);
    }
  };
  diff(a.argv != b.argv, "command");
  diff(a.cwd != b.cwd, "cwd");
  diff(a.env != b.env, "env");
  diff(a.env_file != b.env_file, "env_file");
  diff(a.oneshot != b.oneshot, "oneshot");
  diff(a.duration != b.duration, "duration");
  diff(a.restart != b.restart, "restart");
  diff(a.max_restarts != b.max_restarts, "max_restarts");
  diff(a.restart_window != b.restart_window, "restart_window");
  diff(a.restart_delay != b.restart_delay, "restart_delay");
  diff(a.restart_delay_max != b.restart_delay_max, "restart_delay_max");
  diff(a.stop_signal != b.stop_signal, "stop_signal");
  diff(a.stop_timeout != b.stop_timeout, "stop_timeout");
  diff(a.log != b.log, "log");
  diff(a.log_max_size != b.log_max_size, "log_max_size");
  diff(a.log_keep != b.log_keep, "log_keep");
  diff(a.log_timestamps != b.log_timestamps, "log_timestamps");
  diff(a.notify != b.notify, "notify");
  diff(a.watchdog != b.watchdog, "watchdog");
  diff(a.stall != b.stall, "stall");
  diff(a.max_memory != b.max_memory, "max_memory");
  diff(a.restart_every != b.restart_every, "restart_every");
  diff(a.on_failure != b.on_failure, "on_failure");
  diff(a.alert_cooldown != b.alert_cooldown, "alert_cooldown");
  diff(a.alert_timeout != b.alert_timeout, "alert_timeout");
  diff(a.limits != b.limits, "limit");
  diff(a.memory_cap != b.memory_cap, "memory_cap");
  diff(a.tasks_cap != b.tasks_cap, "tasks_cap");
  diff(a.cpu_quota_pct != b.cpu_quota_pct, "cpu_quota");
  return out;
}

} // namespace pg
