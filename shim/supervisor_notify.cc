// The supervisor's sd_notify side (--notify) and its liveness kills (--watchdog, --stall): the
// notify socket in the event loop, what each accepted message changes, and the hung-job kill
// shared by the watchdog and the stall check.
#include "clock.h"
#include "parse.h"
#include "signals.h"
#include "supervisor.h"
#include "syscalls.h"

#include <fmt/format.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <csignal>

namespace pg {

namespace {

Nanos usec(uint64_t n)
{
  // Clamped at the longest duration pg-run takes anywhere: a job's absurd value (up to 2^64 - 1
  // microseconds) must not overflow the clock arithmetic.
  constexpr auto k_max = static_cast<uint64_t>(std::chrono::microseconds(k_max_duration).count());
  return std::chrono::duration_cast<Nanos>(std::chrono::microseconds(std::min(n, k_max)));
}

std::string human(Nanos n)
{
  return format_duration(std::chrono::duration_cast<Millis>(n));
}

} // namespace

void Supervisor::setup_notify()
{
  if (!m_opt.def.notify) {
    return;
  }
  m_notify = NotifySocket::open();
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = k_notify_tag;
  if (::epoll_ctl(m_epoll.get(), EPOLL_CTL_ADD, m_notify.fd(), &ev) < 0) {
    throw_errno("epoll_ctl");
  }
  m_base_env.push_back("NOTIFY_SOCKET=" + m_notify.address());
}

void Supervisor::notify_spawn_env(SpawnRequest& req) const
{
  if (m_opt.def.watchdog.count() > 0) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(m_opt.def.watchdog);
    req.env.push_back(fmt::format("WATCHDOG_USEC={}", us.count()));
    req.self_pid_var = "WATCHDOG_PID"; // the main process's own pid, filled in by the child
  }
}

void Supervisor::notify_run_started()
{
  // A new run says anew where it stands; a previous run's STATUS= stays visible until then.
  m_ready = false;
  m_pub.status_text.clear();
  m_hung_pid = 0;
  const Nanos now = monotonic_now();
  m_watchdog.start(now, m_opt.def.watchdog);
  m_stall.start(now, m_opt.def.stall);
}

void Supervisor::on_notify()
{
  // Bounded, so a flooding job cannot starve signals; the socket stays readable for the next turn.
  for (int i = 0; i < 64; ++i) {
    auto d = m_notify.receive();
    if (!d) {
      return;
    }
    if (d->truncated) {
      notify_ignored(*d, "longer than 4096 bytes");
      continue;
    }
    const SenderVerdict v = judge_sender(d->cred, ::getpid(), ::geteuid(), proc_parent);
    if (!accepted(v)) {
      notify_ignored(*d, verdict_name(v));
      continue;
    }
    auto msg = parse_notify_message(d->text);
    if (!msg) {
      notify_ignored(*d, "embedded NUL byte");
      continue;
    }
    if (m_run_active) {
      apply_notify(*msg, d->cred->pid);
    }
  }
}

void Supervisor::notify_ignored(const NotifyDatagram& d, const std::string& why)
{
  // One event per supervisor, so a stranger (or a buggy job) cannot flood events.jsonl.
  if (m_notify_ignored) {
    return;
  }
  m_notify_ignored = true;
  nlohmann::json ev = {{"event", "notify-ignored"}, {"why", why}};
  if (d.cred) {
    ev["pid"] = d.cred->pid;
    ev["uid"] = d.cred->uid;
  }
  event(std::move(ev));
}

void Supervisor::apply_notify(const NotifyMessage& msg, pid_t sender)
{
  const Nanos now = monotonic_now();
  bool changed = false;
  if (msg.status && *msg.status != m_pub.status_text) {
    m_pub.status_text = *msg.status; // published, but no event: a chatty job would flood them
    changed = true;
  }
  if (msg.main_pid && *msg.main_pid != m_main_pid && m_stop.kind == StopKind::None &&
      (!m_main_exited || m_classify_status.success()) &&
      in_tree(*msg.main_pid, ::getpid(), proc_parent)) {
    const pid_t previous = m_main_pid;
    set_main(*msg.main_pid); // a main that exited 0 hands over to the new one
    changed = true;
    ++m_mainpid_changes;
    // Once per k_notify_event_every at most: a job flipping MAINPID cannot flood the events.
    if (m_mainpid_said.count() == 0 || now - m_mainpid_said >= k_notify_event_every) {
      m_mainpid_said = now;
      event({{"event", "mainpid"},
             {"changes", m_mainpid_changes},
             {"pid", m_main_pid},
             {"previous", previous},
             {"detail", fmt::format("the main process is now pid {} (MAINPID= from pid {})",
                                    m_main_pid, sender)}});
      m_mainpid_changes = 0;
    }
  }
  if (msg.watchdog_usec) {
    const auto before = m_watchdog.timeout();
    m_watchdog.start(now, usec(*msg.watchdog_usec)); // as systemd: the job may change it
    if (m_watchdog.timeout() != before) {            // a job repeating itself is no news
      event({{"event", "watchdog-timeout"},
             {"detail", "the job set its watchdog timeout to " + human(m_watchdog.timeout())}});
    }
  }
  if (msg.watchdog_ping) {
    m_watchdog.feed(now);
  }
  if (msg.extend_timeout_usec) {
    const Nanos until = now + usec(*msg.extend_timeout_usec);
    bool moved = false;
    if (m_report && !m_ready && m_wait_until_mono < until) {
      m_wait_until_mono = until; // --wait waits longer for READY=1
      moved = true;
    }
    if (m_kill_at_mono.count() > 0 && !m_stop.killed && m_kill_at_mono < until) {
      m_kill_at_mono = until; // the stop timeout before SIGKILL
      moved = true;
    }
    // Services repeat EXTEND_TIMEOUT_USEC through a long start or stop: on record only when
    // it moved a deadline, and then at most once per k_notify_event_every.
    if (moved && (m_extend_said.count() == 0 || now - m_extend_said >= k_notify_event_every)) {
      m_extend_said = now;
      event({{"event", "extend-timeout"},
             {"detail", "the job asked for " + human(usec(*msg.extend_timeout_usec)) + " more"}});
    }
  }
  if (msg.ready && !m_ready) {
    m_ready = true;
    if (m_pub.state == RunState::Starting) {
      m_pub.state = RunState::Running;
      changed = true;
    }
    event({{"event", "ready"},
           {"pid", sender},
           {"detail", fmt::format("READY=1 from pid {}", sender)}});
  }
  if (msg.stopping && (m_pub.state == RunState::Starting || m_pub.state == RunState::Running)) {
    m_pub.state = RunState::Stopping; // the run's classification stays that of its end
    changed = true;
    event({{"event", "stopping"},
           {"pid", sender},
           {"detail", fmt::format("STOPPING=1 from pid {}", sender)}});
  }
  if (changed) {
    publish();
  }
  if (msg.ready && m_report) {
    send_report("ok\t" + dump_line(receipt()) + "\n"); // --wait: READY=1 ends it at once
  }
  if (msg.watchdog_trigger && m_stop.kind == StopKind::None) {
    hung_kill(StopKind::Watchdog, fmt::format("WATCHDOG=trigger from pid {}", sender));
  }
}

Nanos Supervisor::hung_check()
{
  if (m_done || !m_run_active || m_stop.kind != StopKind::None) {
    return Nanos(0);
  }
  const Nanos a = m_watchdog.next_check();
  const Nanos b = m_stall.next_check();
  return a.count() == 0 ? b : b.count() == 0 ? a : std::min(a, b);
}

void Supervisor::check_hung()
{
  if (m_done || !m_run_active || m_stop.kind != StopKind::None) {
    return;
  }
  const Nanos now = monotonic_now();
  if (m_watchdog.expired(now)) {
    hung_kill(StopKind::Watchdog, "no WATCHDOG=1 for " + human(m_watchdog.timeout()));
  } else if (m_stall.expired(now)) {
    hung_kill(StopKind::Stall, "no output for " + human(m_stall.timeout()));
  }
}

void Supervisor::hung_kill(StopKind kind, const std::string& detail)
{
  // Once the main process has exited 0, the oldest survivor stands for it (pg-ls's pid).
  const pid_t target = m_main_pid != 0 ? m_main_pid : m_pub.pid.value_or(0);
  nlohmann::json ev = {{"event", stop_kind_name(kind)},
                       {"pid", target},
                       {"detail", fmt::format("{}: SIGABRT to pid {}", detail, target)}};
  if (!m_pub.status_text.empty()) {
    ev["status_text"] = m_pub.status_text;
  }
  event(std::move(ev));
  m_stop.kind = kind;
  m_stop.detail = detail;
  m_stop.timeout = m_opt.def.stop_timeout;
  m_pub.state = RunState::Stopping;
  m_kill_at_mono = monotonic_now() + m_stop.timeout;
  // SIGABRT first and alone, so it can dump core or print a trace of where it hangs (the stop
  // signal would race it); the rest of the tree is stopped once it is gone.
  // Only a child of ours is seen to end (a MAINPID's own parent may reap it): for any other,
  // the stop signal to the tree follows at once.
  const bool ours = target > 0 && read_proc_stat(target).value_or(ProcStat{}).ppid == ::getpid();
  if (target > 0 && ::kill(target, SIGABRT) == 0 && ours) {
    m_hung_pid = target;
  } else {
    stop_tree();
  }
  publish();
}

void Supervisor::hung_process_gone()
{
  m_hung_pid = 0;
  if (m_run_active && !m_stop.killed) {
    stop_tree();
  }
}

} // namespace pg
