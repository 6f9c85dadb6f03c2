#include "supervise_plan.h"

#include "syscalls.h"

#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <type_traits>

namespace pg {

namespace {

// One record's writer: key=value, then a NUL.
class Out {
public:
  explicit Out(std::string& text) : m_text(text) {}
  void key(std::string_view k) { m_key = k; }
  void str(std::string_view v)
  {
    if (v.find('\0') != std::string_view::npos) {
      throw PlanError(fmt::format("its {} holds a NUL byte", m_key));
    }
    m_text += m_key;
    m_text += '=';
    m_text += v;
    m_text += '\0';
  }
  template <typename T> void num(T v) { str(fmt::format("{}", v)); }
  template <typename T> void opt(const std::optional<T>& v) { v ? num(*v) : str(""); }
  void ms(Millis v) { num(v.count()); }
  void time(WallTime t) { num(t.time_since_epoch().count()); }
  void opt_time(const std::optional<WallTime>& t) { t ? time(*t) : str(""); }
  void list(const std::vector<std::string>& v)
  {
    for (const std::string& s : v) {
      str(s);
    }
  }
  void pairs(const std::vector<std::pair<std::string, std::string>>& v)
  {
    for (const auto& [k, val] : v) {
      str(k + "=" + val);
    }
  }

private:
  std::string& m_text;
  std::string_view m_key;
};

// One record's reader.
class In {
public:
  In(std::string_view key, std::string_view value) : m_key(key), m_value(value) {}
  std::string str() const { return std::string(m_value); }
  template <typename T> T num() const
  {
    T v{};
    if constexpr (std::is_floating_point_v<T>) {
      // strtod: the floating from_chars would link a parser of its own into pg-supervise.
      const std::string text(m_value);
      char* end = nullptr;
      v = std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v)) {
        bad();
      }
    } else {
      const char* end = m_value.data() + m_value.size();
      auto [p, ec] = std::from_chars(m_value.data(), end, v);
      if (ec != std::errc() || p != end || m_value.empty()) {
        bad();
      }
    }
    return v;
  }
  bool flag() const
  {
    if (m_value != "0" && m_value != "1") {
      bad();
    }
    return m_value == "1";
  }
  template <typename T> std::optional<T> opt() const
  {
    return m_value.empty() ? std::nullopt : std::optional<T>(num<T>());
  }
  Millis ms() const { return Millis(num<Millis::rep>()); }
  WallTime time() const { return WallTime(WallTime::duration(num<WallTime::rep>())); }
  std::optional<WallTime> opt_time() const
  {
    return m_value.empty() ? std::nullopt : std::optional<WallTime>(time());
  }
  std::pair<std::string, std::string> pair() const
  {
    const size_t eq = m_value.find('=');
    if (eq == std::string_view::npos) {
      bad();
    }
    return {std::string(m_value.substr(0, eq)), std::string(m_value.substr(eq + 1))};
  }
  [[noreturn]] void bad() const
  {
    throw PlanError(fmt::format("supervise plan: bad value for {}", m_key));
  }

private:
  std::string_view m_key;
  std::string_view m_value;
};

ExitRecord& lost(SupervisePlan& p)
{
  if (!p.prior.lost) {
    p.prior.lost.emplace();
  }
  return *p.prior.lost;
}

void lost_code(ExitRecord& r, std::optional<int> code)
{
  if (code && (!r.status || r.status->signal == 0)) {
    r.status = ExitStatus::exited(*code);
  }
}

void lost_signal(ExitRecord& r, std::optional<int> sig)
{
  if (sig) {
    r.status = ExitStatus::killed(*sig);
  }
}

void lost_core(ExitRecord& r, bool core)
{
  if (r.status && r.status->signal != 0) {
    r.status->core_dumped = core;
  }
}

struct Field {
  std::string_view key;
  void (*write)(Out&, const SupervisePlan&);
  void (*read)(const In&, SupervisePlan&);
  bool lost = false; // written only when the plan has a lost run
};

// Every record of the plan, in the order written.
const std::array k_fields{
    // Options
    Field{"name", [](Out& o, const SupervisePlan& p) { o.str(p.opt.name); },
          [](const In& i, SupervisePlan& p) { p.opt.name = i.str(); }},
    Field{"state_dir", [](Out& o, const SupervisePlan& p) { o.str(p.opt.state_dir); },
          [](const In& i, SupervisePlan& p) { p.opt.state_dir = i.str(); }},
    Field{"foreground", [](Out& o, const SupervisePlan& p) { o.num(int(p.opt.foreground)); },
          [](const In& i, SupervisePlan& p) { p.opt.foreground = i.flag(); }},
    Field{"quiet", [](Out& o, const SupervisePlan& p) { o.num(int(p.opt.quiet)); },
          [](const In& i, SupervisePlan& p) { p.opt.quiet = i.flag(); }},
    Field{"json", [](Out& o, const SupervisePlan& p) { o.num(int(p.opt.json)); },
          [](const In& i, SupervisePlan& p) { p.opt.json = i.flag(); }},
    Field{"replace", [](Out& o, const SupervisePlan& p) { o.num(int(p.opt.replace)); },
          [](const In& i, SupervisePlan& p) { p.opt.replace = i.flag(); }},
    Field{"wait", [](Out& o, const SupervisePlan& p) { o.ms(p.opt.wait); },
          [](const In& i, SupervisePlan& p) { p.opt.wait = i.ms(); }},
    Field{"file_env", [](Out& o, const SupervisePlan& p) { o.pairs(p.opt.file_env); },
          [](const In& i, SupervisePlan& p) { p.opt.file_env.push_back(i.pair()); }},
    Field{"launch_env_given",
          [](Out& o, const SupervisePlan& p) { o.num(int(p.opt.launch_env.has_value())); },
          [](const In& i, SupervisePlan& p) {
            if (i.flag() && !p.opt.launch_env) {
              p.opt.launch_env.emplace();
            }
          }},
    Field{"launch_env",
          [](Out& o, const SupervisePlan& p) {
            if (p.opt.launch_env) {
              o.list(*p.opt.launch_env);
            }
          },
          [](const In& i, SupervisePlan& p) {
            if (!p.opt.launch_env) {
              p.opt.launch_env.emplace();
            }
            p.opt.launch_env->push_back(i.str());
          }},
    Field{"keep_started_at",
          [](Out& o, const SupervisePlan& p) { o.opt_time(p.opt.keep_started_at); },
          [](const In& i, SupervisePlan& p) { p.opt.keep_started_at = i.opt_time(); }},
    Field{"keep_deadline_at",
          [](Out& o, const SupervisePlan& p) { o.opt_time(p.opt.keep_deadline_at); },
          [](const In& i, SupervisePlan& p) { p.opt.keep_deadline_at = i.opt_time(); }},
    Field{"keep_restarts", [](Out& o, const SupervisePlan& p) { o.num(p.opt.keep_restarts); },
          [](const In& i, SupervisePlan& p) { p.opt.keep_restarts = i.num<unsigned>(); }},
    Field{"keep_ack", [](Out& o, const SupervisePlan& p) { o.num(int(p.opt.keep_ack)); },
          [](const In& i, SupervisePlan& p) { p.opt.keep_ack = i.flag(); }},
    // JobDefinition
    Field{"command", [](Out& o, const SupervisePlan& p) { o.list(p.opt.def.argv); },
          [](const In& i, SupervisePlan& p) { p.opt.def.argv.push_back(i.str()); }},
    Field{"resolved", [](Out& o, const SupervisePlan& p) { o.str(p.opt.def.resolved); },
          [](const In& i, SupervisePlan& p) { p.opt.def.resolved = i.str(); }},
    Field{"cwd", [](Out& o, const SupervisePlan& p) { o.str(p.opt.def.cwd); },
          [](const In& i, SupervisePlan& p) { p.opt.def.cwd = i.str(); }},
    Field{"umask", [](Out& o, const SupervisePlan& p) { o.num(p.opt.def.umask); },
          [](const In& i, SupervisePlan& p) { p.opt.def.umask = i.num<unsigned>(); }},
    Field{"path", [](Out& o, const SupervisePlan& p) { o.str(p.opt.def.path); },
          [](const In& i, SupervisePlan& p) { p.opt.def.path = i.str(); }},
    Field{"env", [](Out& o, const SupervisePlan& p) { o.pairs(p.opt.def.env); },
          [](const In& i, SupervisePlan& p) { p.opt.def.env.push_back(i.pair()); }},
    Field{"env_file", [](Out& o, const SupervisePlan& p) { o.str(p.opt.def.env_file); },
          [](const In& i, SupervisePlan& p) { p.opt.def.env_file = i.str(); }},
    Field{"oneshot", [](Out& o, const SupervisePlan& p) { o.num(int(p.opt.def.oneshot)); },
          [](const In& i, SupervisePlan& p) { p.opt.def.oneshot = i.flag(); }},
    Field{"duration", [](Out& o, const SupervisePlan& p) { o.ms(p.opt.def.duration); },
          [](const In& i, SupervisePlan& p) { p.opt.def.duration = i.ms(); }},
    Field{"restart_policy",
          [](Out& o, const SupervisePlan& p) { o.str(to_string(p.opt.def.restart)); },
          [](const In& i, SupervisePlan& p) {
            auto r = restart_policy_from(i.str());
            if (!r) {
              i.bad();
            }
            p.opt.def.restart = *r;
          }},
    Field{"max_restarts", [](Out& o, const SupervisePlan& p) { o.opt(p.opt.def.max_restarts); },
          [](const In& i, SupervisePlan& p) { p.opt.def.max_restarts = i.opt<unsigned>(); }},
    Field{"restart_window", [](Out& o, const SupervisePlan& p) { o.ms(p.opt.def.restart_window); },
          [](const In& i, SupervisePlan& p) { p.opt.def.restart_window = i.ms(); }},
    Field{"restart_delay", [](Out& o, const SupervisePlan& p) { o.ms(p.opt.def.restart_delay); },
          [](const In& i, SupervisePlan& p) { p.opt.def.restart_delay = i.ms(); }},
    Field{"restart_delay_max",
          [](Out& o, const SupervisePlan& p) { o.ms(p.opt.def.restart_delay_max); },
          [](const In& i, SupervisePlan& p) { p.opt.def.restart_delay_max = i.ms(); }},
    Field{"stop_signal", [](Out& o, const SupervisePlan& p) { o.num(p.opt.def.stop_signal); },
          [](const In& i, SupervisePlan& p) { p.opt.def.stop_signal = i.num<int>(); }},
    Field{"stop_timeout", [](Out& o, const SupervisePlan& p) { o.ms(p.opt.def.stop_timeout); },
          [](const In& i, SupervisePlan& p) { p.opt.def.stop_timeout = i.ms(); }},
    Field{"log", [](Out& o, const SupervisePlan& p) { o.str(p.opt.def.log); },
          [](const In& i, SupervisePlan& p) { p.opt.def.log = i.str(); }},
    Field{"log_max_size", [](Out& o, const SupervisePlan& p) { o.num(p.opt.def.log_max_size); },
          [](const In& i, SupervisePlan& p) { p.opt.def.log_max_size = i.num<uint64_t>(); }},
    Field{"log_keep", [](Out& o, const SupervisePlan& p) { o.num(p.opt.def.log_keep); },
          [](const In& i, SupervisePlan& p) { p.opt.def.log_keep = i.num<unsigned>(); }},
    Field{"log_timestamps",
          [](Out& o, const SupervisePlan& p) { o.num(int(p.opt.def.log_timestamps)); },
          [](const In& i, SupervisePlan& p) { p.opt.def.log_timestamps = i.flag(); }},
    Field{"notify", [](Out& o, const SupervisePlan& p) { o.num(int(p.opt.def.notify)); },
          [](const In& i, SupervisePlan& p) { p.opt.def.notify = i.flag(); }},
    Field{"watchdog", [](Out& o, const SupervisePlan& p) { o.ms(p.opt.def.watchdog); },
          [](const In& i, SupervisePlan& p) { p.opt.def.watchdog = i.ms(); }},
    Field{"stall", [](Out& o, const SupervisePlan& p) { o.ms(p.opt.def.stall); },
          [](const In& i, SupervisePlan& p) { p.opt.def.stall = i.ms(); }},
    Field{"max_memory", [](Out& o, const SupervisePlan& p) { o.num(p.opt.def.max_memory); },
          [](const In& i, SupervisePlan& p) { p.opt.def.max_memory = i.num<uint64_t>(); }},
    Field{"restart_every", [](Out& o, const SupervisePlan& p) { o.ms(p.opt.def.restart_every); },
          [](const In& i, SupervisePlan& p) { p.opt.def.restart_every = i.ms(); }},
    Field{"on_failure", [](Out& o, const SupervisePlan& p) { o.str(p.opt.def.on_failure); },
          [](const In& i, SupervisePlan& p) { p.opt.def.on_failure = i.str(); }},
    Field{"alert_cooldown", [](Out& o, const SupervisePlan& p) { o.ms(p.opt.def.alert_cooldown); },
          [](const In& i, SupervisePlan& p) { p.opt.def.alert_cooldown = i.ms(); }},
    Field{"alert_timeout", [](Out& o, const SupervisePlan& p) { o.ms(p.opt.def.alert_timeout); },
          [](const In& i, SupervisePlan& p) { p.opt.def.alert_timeout = i.ms(); }},
    Field{"jobs_file", [](Out& o, const SupervisePlan& p) { o.str(p.opt.def.jobs_file); },
          [](const In& i, SupervisePlan& p) { p.opt.def.jobs_file = i.str(); }},
    Field{"limit",
          [](Out& o, const SupervisePlan& p) {
            for (const Limit& l : p.opt.def.limits) {
              o.str(limit_text(l));
            }
          },
          [](const In& i, SupervisePlan& p) {
            LimitParse l = parse_limit(i.str());
            if (!l.limit) {
              i.bad();
            }
            p.opt.def.limits.push_back(std::move(*l.limit));
          }},
    Field{"memory_cap", [](Out& o, const SupervisePlan& p) { o.num(p.opt.def.memory_cap); },
          [](const In& i, SupervisePlan& p) { p.opt.def.memory_cap = i.num<uint64_t>(); }},
    Field{"tasks_cap", [](Out& o, const SupervisePlan& p) { o.num(p.opt.def.tasks_cap); },
          [](const In& i, SupervisePlan& p) { p.opt.def.tasks_cap = i.num<uint64_t>(); }},
    Field{"cpu_quota_pct", [](Out& o, const SupervisePlan& p) { o.num(p.opt.def.cpu_quota_pct); },
          [](const In& i, SupervisePlan& p) { p.opt.def.cpu_quota_pct = i.num<unsigned>(); }},
    // PriorRuns
    Field{"run_base", [](Out& o, const SupervisePlan& p) { o.num(p.prior.run_base); },
          [](const In& i, SupervisePlan& p) { p.prior.run_base = i.num<unsigned>(); }},
    Field{"failures", [](Out& o, const SupervisePlan& p) { o.num(p.prior.failures); },
          [](const In& i, SupervisePlan& p) { p.prior.failures = i.num<unsigned>(); }},
    Field{"failures_since_ack",
          [](Out& o, const SupervisePlan& p) { o.num(p.prior.failures_since_ack); },
          [](const In& i, SupervisePlan& p) { p.prior.failures_since_ack = i.num<unsigned>(); }},
    Field{"last_ack_at", [](Out& o, const SupervisePlan& p) { o.opt_time(p.prior.last_ack_at); },
          [](const In& i, SupervisePlan& p) { p.prior.last_ack_at = i.opt_time(); }},
    Field{"lost_heard", [](Out& o, const SupervisePlan& p) { o.num(int(p.prior.lost_heard)); },
          [](const In& i, SupervisePlan& p) { p.prior.lost_heard = i.flag(); }},
    Field{"lost.pid", [](Out& o, const SupervisePlan& p) { o.num(p.prior.lost->pid); },
          [](const In& i, SupervisePlan& p) { lost(p).pid = i.num<pid_t>(); }, true},
    // The lost run's status as three records, written in this order: a code, a signal (it wins
    // over a code), and whether the signal dumped core.
    Field{"lost.code", [](Out& o, const SupervisePlan& p) { o.opt(p.prior.lost->exit_code()); },
          [](const In& i, SupervisePlan& p) { lost_code(lost(p), i.opt<int>()); }, true},
    Field{"lost.signal", [](Out& o, const SupervisePlan& p) { o.opt(p.prior.lost->exit_signal()); },
          [](const In& i, SupervisePlan& p) { lost_signal(lost(p), i.opt<int>()); }, true},
    Field{"lost.core_dumped",
          [](Out& o, const SupervisePlan& p) {
            o.num(int(p.prior.lost->status && p.prior.lost->status->core_dumped));
          },
          [](const In& i, SupervisePlan& p) { lost_core(lost(p), i.flag()); }, true},
    Field{"lost.runtime_s", [](Out& o, const SupervisePlan& p) { o.num(p.prior.lost->runtime_s); },
          [](const In& i, SupervisePlan& p) { lost(p).runtime_s = i.num<double>(); }, true},
    Field{"lost.outcome",
          [](Out& o, const SupervisePlan& p) { o.str(to_string(p.prior.lost->outcome)); },
          [](const In& i, SupervisePlan& p) {
            auto out = outcome_from(i.str());
            if (!out) {
              i.bad();
            }
            lost(p).outcome = *out;
          },
          true},
    Field{"lost.cause", [](Out& o, const SupervisePlan& p) { o.str(p.prior.lost->cause); },
          [](const In& i, SupervisePlan& p) { lost(p).cause = i.str(); }, true},
    Field{"lost.at", [](Out& o, const SupervisePlan& p) { o.time(p.prior.lost->at); },
          [](const In& i, SupervisePlan& p) { lost(p).at = i.time(); }, true},
    Field{"lost.max_rss_kb",
          [](Out& o, const SupervisePlan& p) { o.opt(p.prior.lost->max_rss_kb); },
          [](const In& i, SupervisePlan& p) { lost(p).max_rss_kb = i.opt<uint64_t>(); }, true},
    Field{"lost.user_cpu_s",
          [](Out& o, const SupervisePlan& p) { o.opt(p.prior.lost->user_cpu_s); },
          [](const In& i, SupervisePlan& p) { lost(p).user_cpu_s = i.opt<double>(); }, true},
    Field{"lost.sys_cpu_s", [](Out& o, const SupervisePlan& p) { o.opt(p.prior.lost->sys_cpu_s); },
          [](const In& i, SupervisePlan& p) { lost(p).sys_cpu_s = i.opt<double>(); }, true},
    // The descriptors
    Field{"job_fd", [](Out& o, const SupervisePlan& p) { o.num(p.job_fd); },
          [](const In& i, SupervisePlan& p) { p.job_fd = i.num<int>(); }},
    Field{"job_path", [](Out& o, const SupervisePlan& p) { o.str(p.job_path); },
          [](const In& i, SupervisePlan& p) { p.job_path = i.str(); }},
    Field{"job_mount_id", [](Out& o, const SupervisePlan& p) { o.num(p.job_mount_id); },
          [](const In& i, SupervisePlan& p) { p.job_mount_id = i.num<uint64_t>(); }},
    Field{"lock_fd", [](Out& o, const SupervisePlan& p) { o.num(p.lock_fd); },
          [](const In& i, SupervisePlan& p) { p.lock_fd = i.num<int>(); }},
    Field{"log_fd", [](Out& o, const SupervisePlan& p) { o.num(p.log_fd); },
          [](const In& i, SupervisePlan& p) { p.log_fd = i.num<int>(); }},
    Field{"report_fd", [](Out& o, const SupervisePlan& p) { o.num(p.report_fd); },
          [](const In& i, SupervisePlan& p) { p.report_fd = i.num<int>(); }},
    Field{"replaced", [](Out& o, const SupervisePlan& p) { o.num(int(p.replaced)); },
          [](const In& i, SupervisePlan& p) { p.replaced = i.flag(); }},
};

} // namespace

std::string after_replace(bool replaced, const std::string& why)
{
  return replaced ? why + " (the job it replaced was stopped: nothing of it runs now)" : why;
}

std::string write_plan(const SupervisePlan& plan)
{
  std::string text;
  Out out(text);
  for (const Field& f : k_fields) {
    if (!f.lost || plan.prior.lost) {
      out.key(f.key);
      f.write(out, plan);
    }
  }
  return text;
}

std::optional<std::string> write_plan_fd(const SupervisePlan& plan, UniqueFd& memfd)
{
  std::string text;
  try {
    text = write_plan(plan);
  } catch (const PlanError& e) {
    return fmt::format("the supervise plan: {}", e.what());
  }
  memfd = UniqueFd(static_cast<int>(::syscall(SYS_memfd_create, "pg-supervise-plan", MFD_CLOEXEC)));
  if (!memfd || !write_all(memfd.get(), text) || ::lseek(memfd.get(), 0, SEEK_SET) != 0) {
    const int err = errno;
    memfd.reset();
    return fmt::format("the supervise plan: {}", std::strerror(err));
  }
  return std::nullopt;
}

SupervisePlan read_plan(std::string_view text)
{
  SupervisePlan plan;
  while (!text.empty()) {
    const size_t end = text.find('\0');
    if (end == std::string_view::npos) {
      throw PlanError("supervise plan: its last record is cut short");
    }
    const std::string_view record = text.substr(0, end);
    text.remove_prefix(end + 1);
    const size_t eq = record.find('=');
    const std::string_view key = record.substr(0, eq);
    const Field* field = nullptr;
    for (const Field& f : k_fields) {
      if (f.key == key) {
        field = &f;
        break;
      }
    }
    if (eq == std::string_view::npos || field == nullptr) {
      throw PlanError(fmt::format("supervise plan: unknown record '{}'", escape_control(key)));
    }
    field->read(In(key, record.substr(eq + 1)), plan);
  }
  return plan;
}

} // namespace pg
