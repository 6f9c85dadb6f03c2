#include "supervisor.h"

#include "clock.h"
#include "control.h"
#include "environ.h"
#include "failures.h"
#include "output.h"
#include "signals.h"
#include "syscalls.h"

#include "say.h"
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
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

Supervisor::Supervisor(Options opt, PriorRuns prior, JobDir job, UniqueFd lock, UniqueFd log,
                       bool foreground)
    : m_opt(std::move(opt)), m_prior(std::move(prior)), m_job(std::move(job)),
      m_lock(std::move(lock)),
      m_log(m_opt.def.log, std::move(log),
            log_open_flags(m_opt.def.log == m_job.path() + "/output.log"), m_opt.def.log_max_size,
            m_opt.def.log_keep, m_opt.def.log_timestamps),
      m_foreground(foreground), m_events(m_job.fd()),
      m_alerts(m_opt.def, m_opt.name, [this](nlohmann::json ev) { event(std::move(ev)); }),
      m_life(m_opt.def)
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
  // Our dispositions are final now: every run's child resets only these.
  m_spawn_reset = non_default_signals();
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
  watch_oom();

  // One pipe for stdout and stderr (order kept) when detached; two in the foreground, so each
  // stream is mirrored to our own. We keep the write ends: one pipe serves every run.
  const int streams = m_foreground ? 2 : 1;
  for (int i = 0; i < streams; ++i) {
    std::optional<Pipe> p = make_pipe(O_CLOEXEC);
    if (!p) {
      throw_errno("pipe");
    }
    ::fcntl(p->read.get(), F_SETPIPE_SZ, 1 << 20); // fewer wake-ups for chatty jobs; best effort
    Output out{std::move(p->read), std::move(p->write), m_foreground ? 1 + i : -1};
    set_nonblock(out.read.get());
    m_outputs.push_back(std::move(out));
  }
  for (size_t i = 0; i < m_outputs.size(); ++i) {
    watch(m_outputs[i].read.get(), TagOutput0 + i);
  }

  build_job_env();
  // The --on-failure helper, started while we are no subreaper yet: it must not be ours. Its
  // hooks get the job's environment but not the job's notify socket.
  m_alerts.start(m_base_env, m_job.fd());
  setup_notify();
  // Adopted orphans of the job become our children, so the whole tree is ours to reap.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
    throw_errno("prctl PR_SET_CHILD_SUBREAPER");
  }

  identify();
}

void Supervisor::build_job_env()
{
  // The job's environment: ours, less what must not leak, plus the definition's.
  const JobDefinition& def = m_opt.def;
  auto overridden = [&](std::string_view entry) {
    return reserved_env_key(entry.substr(0, entry.find('=')));
  };
  for (auto& e : m_opt.launch_env ? *m_opt.launch_env : current_environ()) {
    if (!overridden(e)) {
      m_base_env.push_back(std::move(e));
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
}

void Supervisor::identify()
{
  // Who we are, and what could still kill us (our parent, our cgroup).
  ProcessIdentity self = ProcessIdentity::self();
  m_pub.name = m_opt.name;
  m_pub.definition = m_opt.def;
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
  // The job's cgroup first: the alert helper (setup) must not be born in it, and a cap that
  // cannot be enforced refuses the launch before anything starts.
  if (auto refused = setup_cgroup()) {
    return std::make_pair(1, *refused);
  }
  setup();
  adopt_history();
  event(ev::Launch{m_pub.supervisor.pid, m_pub.supervisor.parent_pid,
                   m_pub.supervisor.parent_command, m_pub.supervisor.cgroup, m_opt.def.argv,
                   m_opt.keep_started_at.has_value()});
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
      {"schema_version", k_schema_version},
      {"name", m_pub.name},
      {"state", to_string(m_pub.state)},
      {"pid", m_pub.pid ? nlohmann::json(*m_pub.pid) : nlohmann::json(nullptr)},
      {"supervisor_pid", m_pub.supervisor.pid},
      {"log", m_pub.definition.log},
      {"supervisor_parent", supervisor_parent_json(m_pub.supervisor)},
      {"cgroup", m_pub.supervisor.cgroup},
      {"state_dir", m_opt.state_dir},
  };
}

int Supervisor::loop()
{
  std::array<epoll_event, 8> evs{};
  while (m_life.phase() != Phase::Done) {
    rearm_timers();
    const bool restart_now = m_life.phase() == Phase::Restarting;
    int n = ::epoll_wait(m_epoll.get(), evs.data(), static_cast<int>(evs.size()),
                         restart_now ? 0 : state_wait_ms());
    if (n == 0 && !restart_now) {
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
    bool oom = false;
    for (int i = 0; i < n; ++i) {
      uint64_t tag = evs[static_cast<size_t>(i)].data.u64;
      if (tag == TagSignals) {
        signals = true;
      } else if (tag == TagBootTimer || tag == TagMonoTimer) {
        timers = true;
      } else if (tag == k_notify_tag) {
        on_notify();
      } else if (tag == k_oom_tag) {
        oom = true;
      } else {
        pump(m_outputs[tag - TagOutput0]);
      }
    }
    // Signals first: a stop request and the job's exit often arrive in the same wake-up.
    if (signals) {
      on_signals();
    }
    if (oom) {
      on_oom();
    }
    if (timers) {
      on_timers();
    }
    if (m_life.phase() == Phase::Restarting) {
      start_run(false);
    }
  }
  cgroup_exit();
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
        request_stop(StopKind::Outside, sender(si), m_opt.def.stop_timeout);
      }
    } else if (sig == SIGHUP) {
      if (!duplicate_delivery(sig)) {
        request_stop(StopKind::Planned, sender(si), m_opt.def.stop_timeout);
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
    request_stop(StopKind::Requested, "stop by " + who,
                 req->arg == 0 ? m_opt.def.stop_timeout : Millis(req->arg - 1));
    break;
  case Verb::Restart:
    request_stop(StopKind::Planned, "restart by " + who, m_opt.def.stop_timeout);
    break;
  case Verb::Signal:
    forward(static_cast<int>(req->arg), "signal by " + who);
    break;
  case Verb::Ack:
    acknowledge(who);
    break;
  }
}

void Supervisor::acknowledge(const std::string& by)
{
  const WallTime now = wall_now();
  const unsigned failures = pg::acknowledge(m_pub, now);
  event(ev::Ack{now, failures, by});
  publish(); // pg-ctl waits until state.json shows it
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
    say("{}: {} again within {}: one request, delivered twice", m_opt.name, signal_name(sig),
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
  if (m_report && m_life.active() && m_life.due(Deadline::Wait, monotonic_now())) {
    send_report("ok\t" + dump_line(receipt()) + "\n"); // it stayed up for the whole --wait
  }
  if (m_life.due(Deadline::Kill, monotonic_now())) {
    apply(m_life.kill_due());
  }
  check_hung();
  if (m_life.due(Deadline::Duration, boot)) {
    apply(m_life.duration_due(monotonic_now()));
  }
  if (m_life.due(Deadline::Restart, boot)) {
    m_life.restart_due();
  }
  check_limits();
  if (m_life.phase() != Phase::Done) {
    m_alerts.on_timer(boot); // failures the cooldown held back, once it has ended
  }
  if (m_fault.active && monotonic_now() >= m_fault.retry_at_mono) {
    storage_retry();
  }
}

namespace {

// The relay's buffer, one for all of a supervisor's outputs: 64 kB, read into a page at a time
// as output comes. A burst (a traceback, a banner) fills more of it than the next hour's lines
// need; once the pipe is drained, give_back() returns what lies beyond the first page, so a
// supervisor does not keep, for the rest of its job's life, the memory of its largest burst.
struct RelayBuffer {
  static constexpr size_t k_size = 1 << 16;
  static constexpr size_t k_kept = 4096; // the first page: one line, one read
  // In .bss, page-aligned: the pages after the first are anonymous memory of their own.
  alignas(k_kept) char data[k_size]{};
  size_t touched = 0; // the most of data written since it was last given back

  void give_back()
  {
    if (touched > k_kept) { // they read as zeros when touched again
      ::madvise(data + k_kept, k_size - k_kept, MADV_DONTNEED);
    }
    touched = 0;
  }
};
constinit RelayBuffer g_relay; // zeros: in .bss, no page of it touched before output comes

} // namespace

void Supervisor::pump(Output& out)
{
  RelayBuffer& buf = g_relay;
  for (int i = 0; i < 64; ++i) { // bounded, so signals get their turn with a chatty job
    ssize_t n = ::read(out.read.get(), buf.data, sizeof buf.data);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) {
        continue;
      }
      buf.give_back(); // drained (or at its end)
      return;
    }
    buf.touched = std::max(buf.touched, static_cast<size_t>(n));
    std::string_view data(buf.data, static_cast<size_t>(n));
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
  event(ev::LogDropped{fresh, total, m_log.drop_error()});
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
  auto earliest = [](Nanos a, Nanos b) {
    return a.count() == 0 || (b.count() > 0 && b < a) ? b : a;
  };
  Nanos boot = m_life.next(Clock::Boot);
  if (m_life.phase() != Phase::Done) {
    boot = earliest(boot, m_alerts.deadline());
  }
  if (boot != m_armed_boot) {
    arm(m_boot_timer.get(), boot);
    m_armed_boot = boot;
  }
  Nanos mono = earliest(m_life.next(Clock::Mono), hung_check());
  if (m_fault.active) {
    mono = earliest(mono, m_fault.retry_at_mono); // a storage fault: retry the writes
  }
  if (mono != m_armed_mono) {
    arm(m_mono_timer.get(), mono);
    m_armed_mono = mono;
  }
}

void Supervisor::report_after_wait(UniqueFd report, Millis wait)
{
  m_report = std::move(report);
  m_life.deadline(Deadline::Wait) = monotonic_now() + wait;
}

void Supervisor::send_report(const std::string& line)
{
  if (m_report) {
    flush_state_if_due(true); // the launcher returns with state.json current
    write_all(m_report.get(), line);
    m_report.reset();
    m_life.deadline(Deadline::Wait) = Nanos(0);
  }
}

void Supervisor::flush_state()
{
  tree_refresh();
  m_state_dirty = false;
  m_state_written_mono = monotonic_now();
  // Never before our own last_ack_at: nothing we write reads as acknowledged after the fact.
  m_pub.updated_at = supervisor_time(m_pub, wall_now());
  try {
    m_job.write_state(m_pub);
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

} // namespace pg
