#include "supervisor.h"

#include "clock.h"
#include "control.h"
#include "output.h"
#include "signals.h"
#include "syscalls.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>

extern char** environ;

namespace pg {

namespace {

constexpr std::array<int, 8> k_handled{SIGTERM, SIGINT,  SIGQUIT,  SIGHUP,
                                       SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD};

enum Tag : uint64_t { TagSignals = 1, TagBootTimer, TagMonoTimer, TagOutput0 };

sigset_t handled_set()
{
  sigset_t set;
  ::sigemptyset(&set);
  for (int s : k_handled) {
    ::sigaddset(&set, s);
  }
  ::sigaddset(&set, control_signal());
  return set;
}

std::string random_run_id()
{
  uint64_t v[2] = {0, 0};
  if (::getrandom(v, sizeof v, 0) != static_cast<ssize_t>(sizeof v)) {
    v[0] = static_cast<uint64_t>(monotonic_now().count()) ^ static_cast<uint64_t>(::getpid());
  }
  return fmt::format("{:016x}{:08x}", v[0], static_cast<uint32_t>(v[1]));
}

std::string read_cgroup()
{
  std::string text;
  read_file("/proc/self/cgroup", text);
  // cgroup v2: "0::/user.slice/..."; keep the path of the unified hierarchy when present.
  size_t pos = text.find("0::");
  std::string line = pos == std::string::npos ? text : text.substr(pos + 3);
  line = line.substr(0, line.find('\n'));
  return line;
}

double seconds(Nanos n)
{
  return static_cast<double>(n.count()) / 1e9;
}

void arm(int fd, Nanos at)
{
  itimerspec its{};
  if (at.count() > 0) {
    its.it_value.tv_sec = static_cast<time_t>(at.count() / 1'000'000'000);
    its.it_value.tv_nsec = static_cast<long>(at.count() % 1'000'000'000);
  }
  // The raw syscall: a preloaded libfaketime (`faketime` run on pg-run to fake the job's date)
  // wraps timerfd_settime and shifts every absolute expiry by its wall-clock offset, whatever
  // the timer's clock, so a duration would never end and a stop timeout would fire at once.
  ::syscall(SYS_timerfd_settime, fd, TFD_TIMER_ABSTIME, &its, nullptr);
}

} // namespace

Supervisor::Supervisor(Options opt, JobDir job, UniqueFd lock, UniqueFd log, bool foreground)
    : m_opt(std::move(opt)), m_job(std::move(job)), m_lock(std::move(lock)),
      m_log(m_opt.def.log, std::move(log),
            log_open_flags(m_opt.def.log == m_job.path() + "/output.log"), m_opt.def.log_max_size,
            m_opt.def.log_keep, m_opt.def.log_timestamps),
      m_foreground(foreground), m_events(m_job.fd()),
      m_alerts(m_opt.def, m_opt.name, [this](nlohmann::json ev) { event(std::move(ev)); })
{
}

void Supervisor::setup()
{
  sigset_t set = handled_set();
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) < 0) {
    throw_errno("sigprocmask");
  }
  // Under nohup or a shell's &, HUP, INT and QUIT arrive ignored, and an ignored signal is
  // discarded even while blocked: back to the default (never run: they stay blocked), so the
  // signalfd sees them. An inherited SIGCHLD SIG_IGN would even make the kernel reap for us.
  for (int s : k_handled) {
    ::signal(s, SIG_DFL);
  }
  ::signal(control_signal(), SIG_DFL);
  ::signal(SIGPIPE, SIG_IGN); // a closed mirror (pg-run -f | head) must not kill us
  m_sigfd.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  m_epoll.reset(::epoll_create1(EPOLL_CLOEXEC));
  m_boot_timer.reset(::timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC));
  m_mono_timer.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!m_sigfd || !m_epoll || !m_boot_timer || !m_mono_timer) {
    throw_errno("creating the event loop");
  }
  auto watch = [&](int fd, uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    if (::epoll_ctl(m_epoll.get(), EPOLL_CTL_ADD, fd, &ev) < 0) {
      throw_errno("epoll_ctl");
    }
  };
  watch(m_sigfd.get(), TagSignals);
  watch(m_boot_timer.get(), TagBootTimer);
  watch(m_mono_timer.get(), TagMonoTimer);

  // One pipe for stdout and stderr (order kept) when detached; two in the foreground, so each
  // stream is mirrored to our own. We keep the write ends: one pipe serves every run.
  const int streams = m_foreground ? 2 : 1;
  for (int i = 0; i < streams; ++i) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) {
      throw_errno("pipe");
    }
    ::fcntl(p[0], F_SETPIPE_SZ, 1 << 20); // fewer wake-ups for chatty jobs; best effort
    Output out{UniqueFd(p[0]), UniqueFd(p[1]), m_foreground ? 1 + i : -1};
    set_nonblock(out.read.get());
    m_outputs.push_back(std::move(out));
  }
  for (size_t i = 0; i < m_outputs.size(); ++i) {
    watch(m_outputs[i].read.get(), TagOutput0 + i);
  }

  // The job's environment: ours, less what must not leak, plus the definition's.
  const JobDefinition& def = m_opt.def;
  auto overridden = [&](std::string_view entry) {
    return reserved_env_key(entry.substr(0, entry.find('=')));
  };
  for (char** e = environ; *e != nullptr; ++e) {
    if (!overridden(*e)) {
      m_base_env.emplace_back(*e);
    }
  }
  // Later settings win: PATH, then --env-file, then --env; one entry per key.
  auto set_var = [&](const std::string& key, const std::string& value) {
    if (reserved_env_key(key)) {
      return; // refused at launch; an --env-file edited since (revive) cannot set them either
    }
    const std::string prefix = key + "=";
    auto it = std::find_if(m_base_env.begin(), m_base_env.end(),
                           [&](const std::string& e) { return e.starts_with(prefix); });
    if (it != m_base_env.end()) {
      *it = prefix + value;
    } else {
      m_base_env.push_back(prefix + value);
    }
  };
  set_var("PATH", def.path);
  for (const auto& [k, v] : m_opt.file_env) {
    set_var(k, v);
  }
  for (const auto& [k, v] : def.env) {
    set_var(k, v);
  }
  m_base_env.push_back("PG_NAME=" + m_opt.name);
  // The --on-failure helper, started while we are no subreaper yet: it must not be ours. Its
  // hooks get the job's environment but not the job's notify socket.
  m_alerts.start(m_base_env, m_job.fd());
  setup_notify();
  // Adopted orphans of the job become our children, so the whole tree is ours to reap.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
    throw_errno("prctl PR_SET_CHILD_SUBREAPER");
  }

  // Who we are, and what could still kill us (our parent, our cgroup).
  ProcessIdentity self = ProcessIdentity::self();
  m_pub.name = m_opt.name;
  m_pub.definition = def;
  m_pub.supervisor.pid = self.pid;
  m_pub.supervisor.start_time = self.start_time;
  m_pub.supervisor.boot_id = self.boot_id;
  m_pub.supervisor.parent_pid = ::getppid();
  m_pub.supervisor.parent_command = process_command(m_pub.supervisor.parent_pid);
  m_pub.supervisor.cgroup = read_cgroup();
  m_pub.supervisor.pid_namespace = own_pid_namespace();
  m_pub.restarts = m_opt.keep_restarts;
}

std::optional<std::pair<int, std::string>> Supervisor::start()
{
  setup();
  adopt_history();
  event({{"event", "launch"},
         {"supervisor_pid", m_pub.supervisor.pid},
         {"supervisor_parent", m_pub.supervisor.parent_pid},
         {"supervisor_parent_command", m_pub.supervisor.parent_command},
         {"cgroup", m_pub.supervisor.cgroup},
         {"command", m_opt.def.argv},
         {"revived", m_opt.keep_started_at.has_value()}});
  // Before the first run is forked, state.json names this supervisor and the id its first run
  // will carry, so a revive after our death finds every process we started (see start_run).
  m_run_family = random_run_id().substr(0, k_run_family_chars);
  m_pub.run_id = fmt::format("{}{:08x}", m_run_family, m_runs + 1);
  publish(); // the first write is never deferred
  const bool started = start_run(true);
  flush_state_if_due(true); // the launcher returns with state.json written
  if (!started) {
    return std::make_pair(m_last_status, m_pub.last_exit ? m_pub.last_exit->cause : "");
  }
  return std::nullopt;
}

nlohmann::json Supervisor::receipt() const
{
  return {
      {"name", m_pub.name},
      {"state", to_string(m_pub.state)},
      {"pid", m_pub.pid ? nlohmann::json(*m_pub.pid) : nlohmann::json(nullptr)},
      {"supervisor_pid", m_pub.supervisor.pid},
      {"log", m_pub.definition.log},
      {"supervisor_parent",
       {{"pid", m_pub.supervisor.parent_pid}, {"command", m_pub.supervisor.parent_command}}},
      {"cgroup", m_pub.supervisor.cgroup},
      {"state_dir", m_opt.state_dir},
  };
}

bool Supervisor::start_run(bool first)
{
  m_restart_now = false;
  m_restart_at_boot = Nanos(0);
  m_pub.next_start_at.reset();
  const JobDefinition& def = m_opt.def;
  // This supervisor's random prefix and the run's number: a run that state.json has not named
  // yet is still found (through the run it does name) if we die before naming it.
  std::string run_id = fmt::format("{}{:08x}", m_run_family, m_runs + 1);
  std::vector<std::string> env = m_base_env;
  env.push_back("PG_RUN_ID=" + run_id);
  SpawnRequest req{def.command,
                   def.argv,
                   std::move(env),
                   def.cwd,
                   def.umask,
                   m_outputs.front().write.get(),
                   m_outputs.back().write.get(),
                   def.stop_signal,
                   {}};
  notify_spawn_env(req);
  // The run starts before the fork: a run's runtime is never shorter than the job's own life.
  const Nanos now_boot = boottime_now();
  const WallTime now_wall = wall_now();
  SpawnResult r = spawn(req);
  if (first) {
    m_first_start_boot = now_boot;
    m_pub.started_at = m_opt.keep_started_at.value_or(now_wall);
    m_prior_job_time = std::chrono::duration_cast<Millis>(now_wall - *m_pub.started_at);
    if (m_prior_job_time.count() < 0) {
      m_prior_job_time = Millis(0);
    }
    if (m_opt.keep_deadline_at) {
      m_pub.deadline_at = m_opt.keep_deadline_at;
      // At most k_max_duration ahead, as any deadline pg-run set: a hostile or misdated
      // deadline_at must not overflow the BOOTTIME arithmetic.
      m_deadline_boot =
          now_boot + std::min<Nanos>(*m_opt.keep_deadline_at - now_wall, k_max_duration);
      if (m_deadline_boot.count() <= 0) {
        m_deadline_boot = Nanos(1);
      }
    } else if (def.duration.count() > 0) {
      m_deadline_boot = now_boot + def.duration;
      m_pub.deadline_at = now_wall + def.duration;
    }
  } else {
    ++m_pub.restarts;
  }
  m_pub.run_id = run_id;
  m_run_start_boot = now_boot;
  m_pub.run_started_at = now_wall;
  m_pub.run_started_boot_ns = now_boot.count();
  ++m_runs;
  m_pub.run = m_run_base + m_runs;
  on_run_start(r.pid > 0);
  if (r.pid < 0) {
    m_last_status = r.shell_status();
    m_main_pid = 0;
    m_pgid = 0;
    m_run_active = true;
    m_main_exited = true;
    m_classify_status = ExitStatus::exited(r.shell_status());
    m_classify_pid = 0;
    if (first) {
      // Nothing ran: the launcher reports 126/127 and the job ends failed.
      ExitRecord rec;
      rec.code = r.shell_status();
      rec.outcome = Outcome::Failed;
      rec.cause = "exec: " + r.message();
      rec.at = now_wall;
      m_pub.last_exit = rec;
      nlohmann::json ev = to_json(*m_pub.last_exit);
      ev["event"] = "exit";
      event(std::move(ev));
      finish(RunState::Failed, m_pub.last_exit->cause);
      return false;
    }
    end_run(r.message());
    return true;
  }
  m_run_active = true;
  m_last_reaped_pid = 0;
  m_main_pid = r.pid;
  m_pgid = r.pid;
  m_main_exited = false;
  m_classify_status = ExitStatus{};
  m_classify_pid = r.pid;
  m_forwarded_signal = 0;
  m_forwarded_at_mono = Nanos(0);
  m_pub.pid = r.pid;
  m_pub.handover.reset();
  tree_run_started(r.pid);
  m_pub.state = def.notify ? RunState::Starting : RunState::Running; // --notify: until READY=1
  notify_run_started();
  event({{"event", "start"},
         {"pid", r.pid},
         {"run_id", run_id},
         {"run", m_pub.run},
         {"command", def.argv}});
  publish();
  return true;
}

int Supervisor::loop()
{
  std::array<epoll_event, 8> evs{};
  while (!m_done) {
    rearm_timers();
    int n = ::epoll_wait(m_epoll.get(), evs.data(), static_cast<int>(evs.size()),
                         m_restart_now ? 0 : state_wait_ms());
    if (n == 0 && !m_restart_now) {
      flush_state_if_due(true); // nothing came within the idle grace
    }
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("epoll_wait");
    }
    bool signals = false;
    bool timers = false;
    for (int i = 0; i < n; ++i) {
      uint64_t tag = evs[static_cast<size_t>(i)].data.u64;
      if (tag == TagSignals) {
        signals = true;
      } else if (tag == TagBootTimer || tag == TagMonoTimer) {
        timers = true;
      } else if (tag == k_notify_tag) {
        on_notify();
      } else {
        pump(m_outputs[tag - TagOutput0]);
      }
    }
    // Signals first: a stop request and the job's exit often arrive in the same wake-up.
    if (signals) {
      on_signals();
    }
    if (timers) {
      on_timers();
    }
    if (m_restart_now && !m_done) {
      start_run(false);
    }
  }
  flush_state_if_due(true);
  storage_final_flush();
  return m_last_status;
}

void Supervisor::on_signals()
{
  bool child = false;
  signalfd_siginfo si{};
  while (::read(m_sigfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    const int sig = static_cast<int>(si.ssi_signo);
    if (sig == SIGCHLD) {
      child = true;
    } else if (sig == control_signal()) {
      on_control(si);
    } else if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) {
      if (!duplicate_delivery(sig)) {
        begin_stop(StopKind::Outside, sender(si), m_opt.def.stop_timeout);
      }
    } else if (sig == SIGHUP) {
      if (!duplicate_delivery(sig)) {
        planned_restart(sender(si));
      }
    } else {
      forward(sig, sender(si));
    }
  }
  // SIGCHLD coalesces: one notice may stand for many exits, so reap until none is left.
  if (child) {
    reap();
  }
}

void Supervisor::on_control(const signalfd_siginfo& si)
{
  auto req = si.ssi_code == SI_QUEUE ? decode_request(si.ssi_int) : std::nullopt;
  if (!req) {
    return; // not a request of pg-ctl's: ignore rather than guess
  }
  // The requester's own command line says who it was: "pg-ctl stop bot", "pg-run --replace ...".
  std::string cmd = process_command(static_cast<pid_t>(si.ssi_pid));
  std::string who = fmt::format("{} (pid {})", cmd.empty() ? "pg-ctl" : cmd, si.ssi_pid);
  switch (req->verb) {
  case Verb::Stop:
    begin_stop(StopKind::Requested, "stop by " + who,
               req->arg == 0 ? m_opt.def.stop_timeout : Millis(req->arg - 1));
    break;
  case Verb::Restart:
    planned_restart("restart by " + who);
    break;
  case Verb::Signal:
    forward(static_cast<int>(req->arg), "signal by " + who);
    break;
  }
}

bool Supervisor::duplicate_delivery(int sig)
{
  // Only in the foreground (and as PID 1), where pg-run shares a process group with whoever
  // started it: GNU timeout signals its child and then its own group, a terminal's Ctrl-C
  // reaches every process of the foreground group, `unshare --fork` forwards what it gets.
  // A detached supervisor is a session of its own: a second stop there is a second request.
  if (!m_foreground) {
    return false;
  }
  const Nanos now = monotonic_now();
  const bool duplicate = sig == m_last_stop_signal && m_last_stop_signal_mono.count() > 0 &&
                         now - m_last_stop_signal_mono < k_duplicate_signal;
  m_last_stop_signal = sig;
  m_last_stop_signal_mono = now;
  if (duplicate) {
    spdlog::info("{}: {} again within {}: one request, delivered twice", m_opt.name,
                 signal_name(sig),
                 format_duration(std::chrono::duration_cast<Millis>(k_duplicate_signal)));
  }
  return duplicate;
}

std::string Supervisor::sender(const signalfd_siginfo& si) const
{
  const std::string name = signal_name(static_cast<int>(si.ssi_signo));
  if (si.ssi_code == SI_KERNEL || si.ssi_pid == 0) {
    return name + " from the kernel or terminal";
  }
  std::string cmd = process_command(static_cast<pid_t>(si.ssi_pid));
  return fmt::format("{} from pid {} ({}, uid {})", name, si.ssi_pid,
                     cmd.empty() ? "already gone" : cmd, si.ssi_uid);
}

void Supervisor::on_timers()
{
  uint64_t ticks = 0;
  ssize_t ignored = ::read(m_boot_timer.get(), &ticks, sizeof ticks);
  ignored = ::read(m_mono_timer.get(), &ticks, sizeof ticks);
  (void)ignored;
  const Nanos boot = boottime_now();
  if (m_report && m_run_active && monotonic_now() >= m_wait_until_mono) {
    send_report("ok\t" + dump_line(receipt()) + "\n"); // it stayed up for the whole --wait
  }
  if (m_kill_at_mono.count() > 0 && monotonic_now() >= m_kill_at_mono) {
    m_kill_at_mono = Nanos(0);
    if (m_run_active) {
      m_stop.killed = true;
      event({{"event", "kill"},
             {"reason", "stop timeout " + format_duration(m_stop.timeout) + " passed"}});
      signal_tree(SIGKILL);
    }
  }
  check_hung();
  if (m_deadline_boot.count() > 0 && boot >= m_deadline_boot && m_stop.kind != StopKind::Duration) {
    if (m_run_active) {
      begin_stop(StopKind::Duration, "duration", m_opt.def.stop_timeout);
    } else if (!m_done) {
      finish(m_opt.def.oneshot ? RunState::Failed : RunState::Completed,
             "timeout: planned duration " + format_duration(m_opt.def.duration) +
                 " reached between runs");
    }
  }
  if (!m_done && !m_run_active && m_restart_at_boot.count() > 0 && boot >= m_restart_at_boot) {
    m_restart_now = true;
  }
  check_limits();
  if (!m_done) {
    m_alerts.on_timer(boot); // failures the cooldown held back, once it has ended
  }
  if (m_fault.active && monotonic_now() >= m_fault.retry_at_mono) {
    storage_retry();
  }
}

void Supervisor::reap()
{
  for (;;) {
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    // The raw syscall also reports the reaped process's rusage (glibc's waitid does not).
    struct rusage ru {};
    if (::syscall(SYS_waitid, P_ALL, 0, &info, WEXITED | WNOHANG, &ru) < 0) {
      if (errno == EINTR) {
        continue;
      }
      m_children_left = false; // ECHILD: nothing of the tree is left
      break;
    }
    if (info.si_pid == 0) {
      m_children_left = true;
      break;
    }
    if (m_run_active) {
      m_usage.add(ru);
    }
    m_tree_reaped =
        m_tree_reaped || std::any_of(m_pub.tree.begin(), m_pub.tree.end(),
                                     [&](const auto& t) { return t.pid == info.si_pid; });
    on_reaped(info.si_pid, ExitStatus::from_siginfo(info));
  }
  tree_after_reap();
  if (!m_run_active) {
    return;
  }
  if (!m_main_exited && !m_children_left && m_last_reaped_pid != 0) {
    // Nothing of the tree is left, yet its main process was never ours to reap: a MAINPID=
    // that its own parent waited for. The run is over, classified by the last end we saw.
    event({{"event", "mainpid-gone"},
           {"pid", m_main_pid},
           {"detail", fmt::format("pid {} was reaped by its own parent; the run is classified by "
                                  "the last process pg-run reaped (pid {})",
                                  m_main_pid, m_last_reaped_pid)}});
    m_main_exited = true;
    m_main_pid = 0;
    m_classify_status = m_last_reaped_status;
    m_classify_pid = m_last_reaped_pid;
  }
  if (!m_main_exited) {
    return;
  }
  if (!m_children_left) {
    end_run();
    return;
  }
  if (m_stop.killed) {
    signal_tree(SIGKILL); // orphans that were reparented to us since the last round
  } else if (m_stop.kind == StopKind::None && !m_classify_status.success()) {
    // The main process failed: what it left behind goes down with it.
    m_stop.kind = StopKind::Cleanup;
    m_stop.timeout = m_opt.def.stop_timeout;
    m_pub.state = RunState::Stopping;
    stop_tree();
    m_kill_at_mono = monotonic_now() + m_stop.timeout;
    publish();
  } else if (m_stop.kind == StopKind::None) {
    // Exit 0 with descendants alive (a start script that backgrounded a daemon): the run goes on.
    hand_over();
  }
}

void Supervisor::set_main(pid_t pid)
{
  m_main_pid = pid;
  m_main_exited = false;
  m_classify_status = ExitStatus{};
  m_classify_pid = pid;
  m_pub.pid = pid;
}

void Supervisor::hand_over()
{
  // The oldest live descendant: its parent is dead (an older descendant would be older still),
  // so it was reparented to us and its end is ours to see.
  std::optional<pid_t> next;
  for (const ProcStat& p : descendant_stats(::getpid())) {
    if (p.state != 'Z' && p.state != 'X') {
      next = p.pid;
      break;
    }
  }
  if (!next) {
    return; // what is left is exiting: the next reap ends the run
  }
  const pid_t from = m_classify_pid;
  event({{"event", "handover"}, {"from_pid", from}, {"pid", *next}});
  set_main(*next);
  m_pub.handover = Handover{from, *next, wall_now()};
  publish();
}

void Supervisor::on_reaped(pid_t pid, const ExitStatus& status)
{
  if (pid == m_hung_pid) {
    hung_process_gone();
  }
  if (!m_run_active) {
    return;
  }
  m_last_reaped_pid = pid;
  m_last_reaped_status = status;
  if (pid == m_main_pid) {
    m_main_pid = 0;
    m_main_exited = true;
    m_classify_status = status;
    m_classify_pid = pid;
  } else if (m_main_exited && m_classify_status.success() && m_classify_pid != 0 &&
             m_stop.kind == StopKind::None) {
    // The main process exited 0 and, before it could hand over, a descendant ended too (a
    // daemon that failed at once): that end classifies the run. Never during a stop: then the
    // main process's own end is the record, whatever the stop did to the rest.
    m_classify_status = status;
    m_classify_pid = pid;
  }
}

void Supervisor::end_run(const std::string& exec_error)
{
  drain_outputs();
  report_dropped(true);
  const Nanos now_boot = boottime_now();
  RunEnd end;
  end.status = m_classify_status;
  end.runtime = std::chrono::duration_cast<Millis>(now_boot - m_run_start_boot);
  end.job_time = job_time();
  end.stop = m_stop.kind;
  end.stop_detail = m_stop.detail;
  end.forwarded_signal = m_forwarded_signal;
  end.forwarded_detail = m_forwarded_detail;
  end.forwarded_age =
      m_forwarded_signal != 0
          ? std::chrono::duration_cast<Millis>(monotonic_now() - m_forwarded_at_mono)
          : Millis(0);
  end.exec_error = exec_error;
  Classification c = classify(end, m_opt.def);
  const bool deadline_passed = m_deadline_boot.count() > 0 && now_boot >= m_deadline_boot;
  Next next = decide(c, end, m_opt.def, m_budget, now_boot, deadline_passed);
  if (m_stop.restart_after && !deadline_passed) {
    // A planned restart was asked for while pg-run was ending a failed run: the failure stays
    // recorded as it was, and the restart happens now.
    next = Next{true, Millis(0), RunState::Failed, false};
  }
  if (!m_stop.stop_after.empty()) {
    next = Next{false, Millis(0), RunState::Stopped, false};
  }
  // A run that ended within --wait is not restarted, so the name is free to launch again once
  // fixed (a planned restart is no end: the wait goes on with the new run).
  const bool ended_in_wait = m_report && c.outcome != Outcome::Restarted;
  if (ended_in_wait) {
    next.restart = false;
    next.gave_up = false;
    next.final_state = c.outcome == Outcome::Completed ? RunState::Completed
                       : c.outcome == Outcome::Stopped ? RunState::Stopped
                                                       : RunState::Failed;
  }
  if (next.gave_up) {
    c.cause = gave_up_cause(c.cause, m_opt.def);
  }
  ExitRecord rec;
  rec.pid = m_classify_pid;
  if (end.status.signal != 0) {
    rec.signal = end.status.signal;
  } else {
    rec.code = end.status.code;
  }
  rec.core_dumped = end.status.core_dumped;
  rec.runtime_s = seconds(now_boot - m_run_start_boot);
  rec.outcome = c.outcome;
  rec.cause = c.cause;
  rec.at = wall_now();
  m_usage.fill(rec);
  m_pub.memory_rss.reset();
  m_pub.last_exit = rec;
  m_last_status = end.status.shell_status();
  nlohmann::json ev = to_json(rec);
  ev["event"] = "exit";
  event(std::move(ev));
  if (m_foreground) {
    spdlog::info("{}: run ended: {} ({})", m_opt.name, to_string(c.outcome), c.cause);
  }

  const std::string stop_after = m_stop.stop_after;
  m_run_active = false;
  m_main_pid = 0;
  m_pgid = 0;
  m_stop = Stop{};
  m_kill_at_mono = Nanos(0);
  m_pub.pid.reset();

  if (ended_in_wait) {
    // The launcher prints this end and the last output lines.
    nlohmann::json ended = to_json(rec);
    ended["state"] = to_string(next.final_state);
    send_report("ended\t" + dump_line(ended) + "\n");
  }
  if (next.gave_up) {
    event({{"event", "gave-up"}, {"cause", c.cause}});
  }
  if (next.gave_up || c.outcome == Outcome::Failed ||
      (c.outcome == Outcome::Stopped && end.stop == StopKind::Outside)) {
    raise_alert(next.gave_up                   ? AlertKind::GaveUp
                : c.outcome == Outcome::Failed ? AlertKind::Failed
                                               : AlertKind::StoppedOutside,
                &rec, end.stop_detail,
                next.restart ? std::optional<Millis>(next.delay) : std::nullopt);
  }
  if (!next.restart) {
    finish(next.final_state, stop_after.empty() ? c.cause : stop_after + "; " + c.cause);
    return;
  }
  const char* reason = c.outcome == Outcome::Restarted ? "planned"
                       : c.outcome == Outcome::Failed  ? "failure"
                                                       : "always";
  event({{"event", "restart"},
         {"reason", reason},
         {"delay_s", static_cast<double>(next.delay.count()) / 1000.0}});
  if (next.delay.count() == 0) {
    m_restart_now = true; // through the loop once, so signals are seen between runs
    return;
  }
  m_pub.state = RunState::Backoff;
  m_restart_at_boot = now_boot + next.delay;
  m_pub.next_start_at = wall_now() + next.delay;
  publish();
}

void Supervisor::begin_stop(StopKind kind, const std::string& detail, Millis timeout)
{
  const bool request = kind == StopKind::Requested || kind == StopKind::Outside;
  const std::string why =
      (kind == StopKind::Requested ? "requested: " : "outside-signal: ") + detail;
  auto record = [&] { event({{"event", "stop"}, {"kind", stop_kind_name(kind)}, {"by", detail}}); };
  if (!m_run_active) {
    // Between runs (backoff): the stop takes effect at once.
    record();
    if (kind == StopKind::Planned) {
      m_restart_now = true;
      return;
    }
    if (kind == StopKind::Duration) {
      finish(m_opt.def.oneshot ? RunState::Failed : RunState::Completed,
             "timeout: planned duration " + format_duration(m_opt.def.duration) +
                 " reached between runs");
    } else {
      if (kind == StopKind::Outside) {
        raise_alert(AlertKind::StoppedOutside, nullptr, detail, std::nullopt);
      }
      finish(RunState::Stopped, why + " (between runs)");
    }
    return;
  }
  if (m_stop.kind == StopKind::None) {
    record();
    m_stop.kind = kind;
    m_stop.detail = detail;
    m_stop.timeout = timeout;
    m_pub.state = RunState::Stopping;
    stop_tree();
    m_kill_at_mono = monotonic_now() + timeout;
    publish();
    return;
  }
  // A stop is in progress already.
  const StopKind now = m_stop.kind;
  const bool was_request =
      now == StopKind::Requested || now == StopKind::Outside || !m_stop.stop_after.empty();
  const bool failing = now == StopKind::Cleanup || now == StopKind::Watchdog ||
                       now == StopKind::Stall || now == StopKind::Memory;
  if (request && was_request) {
    // A second stop request: no more patience.
    record();
    m_stop.killed = true;
    signal_tree(SIGKILL);
    return;
  }
  if (request) {
    record();
    if (failing) {
      // pg-run was ending a failed or hung run: that stays the run's story, and the job then
      // ends stopped. A hung main got SIGABRT alone: the rest of the tree is stopped now.
      m_stop.stop_after = why;
      if ((now == StopKind::Watchdog || now == StopKind::Stall) && !m_stop.killed) {
        stop_tree();
      }
    } else {
      // A stop takes over a planned restart or a duration end.
      m_stop.kind = kind;
      m_stop.detail = detail;
    }
    // The request's timeout, when it is the shorter one.
    const Nanos kill_at = monotonic_now() + timeout;
    if (!m_stop.killed && kill_at < m_kill_at_mono) {
      m_kill_at_mono = kill_at;
      m_stop.timeout = timeout;
    }
    publish();
    return;
  }
  if (kind == StopKind::Planned && failing && m_stop.stop_after.empty()) {
    record();
    m_stop.restart_after = true; // honoured once the failed run is over
  }
  // Anything else (a duration end or a liveness kill during another stop) changes nothing.
}

void Supervisor::planned_restart(const std::string& detail)
{
  begin_stop(StopKind::Planned, detail, m_opt.def.stop_timeout);
}

void Supervisor::forward(int sig, const std::string& detail)
{
  pid_t target = m_main_pid != 0 ? m_main_pid : m_pub.pid.value_or(0);
  event({{"event", "signal"}, {"signal", signal_name(sig)}, {"pid", target}, {"by", detail}});
  if (!m_run_active || target == 0) {
    return;
  }
  m_forwarded_signal = sig;
  m_forwarded_detail = detail;
  m_forwarded_at_mono = monotonic_now();
  ::kill(target, sig);
}

void Supervisor::finish(RunState final_state, const std::string& why)
{
  m_done = true;
  m_pub.state = final_state;
  m_pub.end_cause = why;
  m_pub.pid.reset();
  m_pub.next_start_at.reset();
  event({{"event", "end"}, {"state", to_string(final_state)}, {"why", why}});
  publish();
  m_alerts.finish(); // held-back alerts go now; the helper finishes its hooks without us
  if (m_foreground) {
    spdlog::info("{}: {} ({})", m_opt.name, to_string(final_state), why);
  }
}

void Supervisor::signal_tree(int sig)
{
  const bool group = m_pgid > 0 && ::kill(-m_pgid, sig) == 0;
  // Processes that left the job's process group are still ours: we are their subreaper. Those
  // the group signal reached are not signalled again: a second SIGTERM cuts a handler short.
  for (const ProcStat& p : descendant_stats(::getpid())) {
    if (!(group && p.pgid == m_pgid) && p.state != 'Z') {
      ::kill(p.pid, sig);
    }
  }
}

void Supervisor::stop_tree()
{
  if (!m_stop.signalled) {
    m_stop.signalled = true;
    signal_tree(m_opt.def.stop_signal);
  }
}

void Supervisor::pump(Output& out)
{
  static char buf[1 << 16];
  for (int i = 0; i < 64; ++i) { // bounded, so signals get their turn with a chatty job
    ssize_t n = ::read(out.read.get(), buf, sizeof buf);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) {
        continue;
      }
      return;
    }
    std::string_view data(buf, static_cast<size_t>(n));
    if (m_stall.active()) {
      m_stall.feed(monotonic_now());
    }
    // Never blocks on a failed write: a job blocked on a full pipe would look hung.
    m_log.write(data);
    if (m_log.dropped() != m_pub.log_dropped_bytes) {
      report_dropped(false);
    }
    if (out.mirror >= 0 && !write_all(out.mirror, data)) {
      out.mirror = -1; // our own stdout went away (pg-run -f | head): keep the log going
    }
  }
}

void Supervisor::report_dropped(bool now)
{
  // Said at once the first time, then at most once a minute (and at each run's end), so a
  // full disk is on record without an event per write.
  const Nanos mono = monotonic_now();
  if (!now && m_dropped_said_mono.count() > 0 && mono - m_dropped_said_mono < k_dropped_every) {
    return;
  }
  const uint64_t total = m_log.dropped();
  if (total == m_pub.log_dropped_bytes) {
    return;
  }
  m_dropped_said_mono = mono;
  const uint64_t fresh = total - m_pub.log_dropped_bytes;
  m_pub.log_dropped_bytes = total;
  m_pub.log_drop_error = m_log.drop_error();
  // The same disk, most likely: then it waits with the other events (supervisor_storage.cc).
  event({{"event", "log-dropped"},
         {"bytes", fresh},
         {"total", total},
         {"error", m_log.drop_error()}});
  publish();
}

void Supervisor::drain_outputs()
{
  for (auto& out : m_outputs) {
    pump(out);
  }
}

void Supervisor::rearm_timers()
{
  Nanos boot{0};
  auto consider = [&](Nanos t) {
    if (t.count() > 0 && (boot.count() == 0 || t < boot)) {
      boot = t;
    }
  };
  if (!m_done) {
    if (!m_run_active) {
      consider(m_restart_at_boot);
    }
    if (m_stop.kind != StopKind::Duration) {
      consider(m_deadline_boot);
    }
    if (m_run_active && m_stop.kind == StopKind::None) {
      consider(m_planned_at_boot);
    }
    consider(m_alerts.deadline());
  }
  if (boot != m_armed_boot) {
    arm(m_boot_timer.get(), boot);
    m_armed_boot = boot;
  }
  Nanos mono = m_kill_at_mono;
  if (m_report && (mono.count() == 0 || m_wait_until_mono < mono)) {
    mono = m_wait_until_mono;
  }
  if (m_run_active && m_memory_at_mono.count() > 0 &&
      (mono.count() == 0 || m_memory_at_mono < mono)) {
    mono = m_memory_at_mono;
  }
  if (Nanos hung = hung_check(); hung.count() > 0 && (mono.count() == 0 || hung < mono)) {
    mono = hung;
  }
  if (m_fault.active && (mono.count() == 0 || m_fault.retry_at_mono < mono)) {
    mono = m_fault.retry_at_mono; // a storage fault: retry the writes (none armed without one)
  }
  if (mono != m_armed_mono) {
    arm(m_mono_timer.get(), mono);
    m_armed_mono = mono;
  }
}

void Supervisor::report_after_wait(UniqueFd report, Millis wait)
{
  m_report = std::move(report);
  m_wait_until_mono = monotonic_now() + wait;
}

void Supervisor::send_report(const std::string& line)
{
  if (m_report) {
    flush_state_if_due(true); // the launcher returns with state.json current
    write_all(m_report.get(), line);
    m_report.reset();
  }
}

void Supervisor::flush_state()
{
  tree_refresh();
  m_state_dirty = false;
  m_state_written_mono = monotonic_now();
  m_pub.updated_at = wall_now();
  try {
    m_job.write_state(to_json(m_pub));
  } catch (const std::exception& e) {
    // The job matters more than our bookkeeping: keep supervising (supervisor_storage.cc).
    storage_failed(e, true);
  }
}

void Supervisor::event(nlohmann::json ev)
{
  nlohmann::json line = {{"event", ev["event"]}, {"at", m_event_time.format(wall_now())}};
  line.update(ev);
  if (std::string text = log_line(line); !text.empty()) {
    m_log.mark(text);
  }
  record_event(dump_line(line) + "\n");
}

std::string Supervisor::log_line(const nlohmann::json& ev)
{
  // The log tells the story too: a human line for each event a reader of the log needs.
  const std::string kind = ev.value("event", "");
  auto str = [&](const char* key) {
    auto it = ev.find(key);
    return it != ev.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (kind == "start") {
    return fmt::format("start: run {}, pid {}", ev.value("run", 0u), ev.value("pid", 0));
  }
  if (kind == "exit") {
    std::string status =
        ev["signal"].is_string()
            ? "signal " + str("signal") + (ev.value("core_dumped", false) ? " (core dumped)" : "")
        : ev["code"].is_number() ? fmt::format("exit code {}", ev["code"].get<int>())
                                 : std::string("no exit status known"); // a lost run
    std::string usage = usage_text(exit_record_usage(ev));
    return fmt::format("exit: pid {}, {} after {:.3f}s: {} ({}){}", ev.value("pid", 0), status,
                       ev.value("runtime_s", 0.0), str("outcome"), str("cause"),
                       usage.empty() ? "" : "; " + usage);
  }
  if (kind == "handover") {
    return fmt::format("handover: pid {} exited 0 leaving pid {} running; pid {} is now the "
                       "main process",
                       ev.value("from_pid", 0), ev.value("pid", 0), ev.value("pid", 0));
  }
  if (kind == "restart") {
    return fmt::format("restart ({}) in {}s", str("reason"), ev.value("delay_s", 0.0));
  }
  if (kind == "stop") {
    return fmt::format("stop ({}): {}", str("kind"), str("by"));
  }
  if (kind == "kill") {
    return "kill: SIGKILL to what is left of the job: " + str("reason");
  }
  if (kind == "signal") {
    return fmt::format("signal: {} to pid {} ({})", str("signal"), ev.value("pid", 0), str("by"));
  }
  if (kind == "ready" || kind == "watchdog" || kind == "stall" || kind == "stopping" ||
      kind == "mainpid") {
    return kind + ": " + str("detail");
  }
  if (kind == "end") {
    return fmt::format("end: the job is {}: {}", str("state"), str("why"));
  }
  if (kind == "alert") {
    return fmt::format("alert ({}): running the --on-failure hook: {}", str("alert"),
                       str("message"));
  }
  if (kind == "storage-fault" || kind == "storage-recovered") {
    return storage_log_line(ev);
  }
  if (kind == "alert-held") {
    return fmt::format("alert ({}) held back by the --alert-cooldown ({} held)", str("alert"),
                       ev.value("held", 0u));
  }
  return {};
}

void Supervisor::raise_alert(AlertKind kind, const ExitRecord* exit, const std::string& stop_by,
                             std::optional<Millis> restart_in)
{
  if (!m_alerts.enabled()) {
    return;
  }
  AlertFacts f;
  f.name = m_opt.name;
  f.kind = kind;
  if (exit != nullptr) {
    f.exit = *exit;
  }
  f.stop_by = stop_by;
  f.restart_in = restart_in;
  f.restarts = m_pub.restarts;
  f.last_output = m_log.last_line();
  f.at = wall_now();
  m_alerts.raise(make_alert(f), boottime_now());
}

Millis Supervisor::job_time() const
{
  return m_prior_job_time + std::chrono::duration_cast<Millis>(boottime_now() - m_first_start_boot);
}

} // namespace pg
