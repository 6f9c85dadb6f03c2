#include "ctl_unit.h"

#include "ls_format.h"
#include "signals.h"

#include <fmt/format.h>

namespace pg {

namespace {

// Escapes what systemd's unquoting would interpret; percent is a specifier everywhere.
std::string escape(std::string_view text, bool dollar)
{
  std::string out;
  for (char ch : text) {
    auto b = static_cast<unsigned char>(ch);
    switch (ch) {
    case '\\':
      out += "\\\\";
      break;
    case '"':
      out += "\\\"";
      break;
    case '%':
      out += "%%";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (ch == '$' && dollar) {
        out += "$$";
      } else if (b < 0x20 || b == 0x7f) {
        out += fmt::format("\\x{:02x}", b);
      } else {
        out += ch;
      }
    }
  }
  return out;
}

bool needs_quotes(std::string_view word)
{
  if (word.empty()) {
    return true;
  }
  for (char c : word) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '"' || c == '\'' || c == '\\' || c == ';' ||
        static_cast<unsigned char>(c) < 0x20) {
      return true;
    }
  }
  return false;
}

std::string span(Millis d)
{
  return format_duration(d);
}

} // namespace

std::string systemd_exec_word(std::string_view word)
{
  std::string e = escape(word, true);
  return needs_quotes(word) ? "\"" + e + "\"" : e;
}

std::string systemd_env_assignment(std::string_view key, std::string_view value)
{
  return "\"" + escape(std::string(key) + "=" + std::string(value), false) + "\"";
}

namespace {

// The comment on top and [Unit].
std::string unit_section(const JobState& st, std::string_view source)
{
  const JobDefinition& d = st.definition;
  std::string u;
  u += fmt::format("# The systemd user unit closest to process-guardian job '{}',\n", st.name);
  u += fmt::format("# from {}. Save as ~/.config/systemd/user/{}.service, then\n", source, st.name);
  u += fmt::format("# systemctl --user daemon-reload && systemctl --user enable --now {}\n",
                   st.name);
  u += "\n[Unit]\n";
  u += fmt::format("Description=pg job {}: {}\n", st.name, escape(shell_join(d.argv), false));
  u += "Documentation=man:pg-run(1)\n";
  if (d.restart != RestartPolicy::Never) {
    if (d.max_restarts) {
      // pg allows N restarts after failures in the window; systemd counts starts.
      u += fmt::format("StartLimitIntervalSec={}\n", span(d.restart_window));
      u += fmt::format("StartLimitBurst={}\n", *d.max_restarts + 1);
    } else {
      u += "StartLimitIntervalSec=0\n";
    }
  }
  return u;
}

// [Service]: how it starts, what it runs, where, with what environment and log.
std::string service_start(const JobState& st)
{
  const JobDefinition& d = st.definition;
  std::string u;
  u += "\n[Service]\n";
  if (d.oneshot) {
    u += "Type=oneshot\n";
  } else if (d.notify) {
    u += "Type=notify\nNotifyAccess=all\n";
  } else if (st.handover) {
    // Type=exec would end the daemon with the script: systemd kills what is left once the
    // main process of an exec service exits.
    u += fmt::format("# forking: the command exited 0 (pid {}) leaving pid {} as the job's main\n"
                     "# process. Where the program writes a pid file, name it so systemd knows "
                     "the daemon:\n# PIDFile=/run/NAME.pid\nType=forking\n",
                     st.handover->from_pid, st.handover->pid);
  } else {
    u += "# exec: started once the command is executed, as pg-run reports it\nType=exec\n";
  }
  std::string exec = systemd_exec_word(d.resolved.empty() ? d.argv.front() : d.resolved);
  for (size_t i = 1; i < d.argv.size(); ++i) {
    exec += " " + systemd_exec_word(d.argv[i]);
  }
  u += "ExecStart=" + exec + "\n";
  u += "WorkingDirectory=" + escape(d.cwd, false) + "\n";
  u += fmt::format("UMask={:04o}\n", d.umask);
  u += "Environment=" + systemd_env_assignment("PATH", d.path) + "\n";
  for (const auto& [k, v] : d.env) {
    u += "Environment=" + systemd_env_assignment(k, v) + "\n";
  }
  if (!d.env_file.empty()) {
    u += "EnvironmentFile=" + escape(d.env_file, false) + "\n";
  }
  u += fmt::format("StandardOutput=append:{}\nStandardError=inherit\n", escape(d.log, false));
  return u;
}

// The restart policy, the stop, and the limits, with what systemd cannot express in comments.
std::string service_limits(const JobDefinition& d)
{
  std::string u;
  const char* restart = d.restart == RestartPolicy::Always      ? "always"
                        : d.restart == RestartPolicy::OnFailure ? "on-failure"
                                                                : "no";
  u += fmt::format("Restart={}\n", restart);
  if (d.restart != RestartPolicy::Never) {
    u += fmt::format("RestartSec={}\n", span(d.restart_delay));
    u += fmt::format("# pg doubles the delay per consecutive failure up to {}; systemd 254 and "
                     "later can too:\n# RestartSteps=8\n# RestartMaxDelaySec={}\n",
                     span(d.restart_delay_max), span(d.restart_delay_max));
  }
  if (d.restart == RestartPolicy::OnFailure && !d.oneshot) {
    u += "# pg counts a service's exit 0 before 80% of its --duration (or at all, without one)\n"
         "# as a failure (premature); systemd does not restart on exit 0 with on-failure.\n";
  }
  u += fmt::format("KillSignal={}\n", signal_name(d.stop_signal));
  u += fmt::format("TimeoutStopSec={}\n", span(d.stop_timeout));
  if (d.duration.count() > 0) {
    if (d.oneshot) {
      u += fmt::format("TimeoutStartSec={}\n", span(d.duration));
    } else {
      u += "# pg records reaching --duration as completed; systemd records a timeout failure.\n";
      u += fmt::format("RuntimeMaxSec={}\n", span(d.duration));
    }
  }
  if (d.watchdog.count() > 0) {
    u += fmt::format("WatchdogSec={}\n", span(d.watchdog));
  }
  if (d.max_memory > 0 && d.memory_cap == 0) {
    u += "# pg restarts the job gracefully above --max-memory; systemd's limit OOM-kills in "
         "the cgroup.\n";
    u += fmt::format("MemoryMax={}\n", d.max_memory);
  } else if (d.max_memory > 0) {
    u += fmt::format("# --max-memory {}: a graceful restart, no equivalent; MemoryMax= below "
                     "is --memory-cap.\n",
                     d.max_memory);
  }
  if (d.stall.count() > 0) {
    u += fmt::format("# --stall {}: systemd has no equivalent (no output means nothing to it).\n",
                     span(d.stall));
  }
  if (d.restart_every.count() > 0) {
    u += fmt::format("# --restart-every {}: no equivalent; a timer unit running systemctl "
                     "--user restart comes closest.\n",
                     span(d.restart_every));
  }
  if (!d.on_failure.empty()) {
    u += "# --on-failure: systemd runs a unit instead: OnFailure=NAME-alert.service, whose\n"
         "# ExecStart runs the command.\n";
  }
  return u;
}

// --memory-cap, --tasks-cap, --cpu-quota and --limit: systemd's own settings for them.
std::string service_resources(const JobDefinition& d)
{
  std::string u;
  if (d.memory_cap > 0) {
    u += fmt::format("MemoryMax={}\nMemorySwapMax=0\n", d.memory_cap); // swap included
  }
  if (d.tasks_cap > 0) {
    u += fmt::format("TasksMax={}\n", d.tasks_cap);
  }
  if (d.cpu_quota_pct > 0) {
    u += fmt::format("CPUQuota={}%\n", d.cpu_quota_pct);
  }
  for (const Limit& l : d.limits) {
    u += systemd_limit(l) + "\n";
  }
  return u;
}

} // namespace

std::string systemd_unit(const JobState& st, std::string_view source)
{
  return unit_section(st, source) + service_start(st) + service_limits(st.definition) +
         service_resources(st.definition) + "\n[Install]\nWantedBy=default.target\n";
}

} // namespace pg
