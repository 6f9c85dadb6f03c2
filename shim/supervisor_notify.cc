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
  m_pub.status_text.clear();
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
    if (m_life.active()) {
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
  ev::NotifyIgnored e{why, {}, {}};
  if (d.cred) {
    e.pid = d.cred->pid;
    e.uid = d.cred->uid;
  }
  event(e);
}

void Supervisor::apply_notify(const NotifyMessage& msg, pid_t sender)
{
  const Nanos now = monotonic_now();
  bool changed = false;
  if (msg.status && *msg.status != m_pub.status_text) {
    m_pub.status_text = *msg.status; // published, but no event: a chatty job would flood them
    changed = true;
  }
  if (msg.main_pid && *msg.main_pid != m_life.run().main && m_life.main_may_move() &&
      in_tree(*msg.main_pid, ::getpid(), proc_parent)) {
    const pid_t previous = m_life.run().main;
    set_main(*msg.main_pid); // a main that exited 0 hands over to the new one
    changed = true;
    ++m_mainpid_changes;
    // Once per k_notify_event_every at most: a job flipping MAINPID cannot flood the events.
    if (m_mainpid_said.count() == 0 || now - m_mainpid_said >= k_notify_event_every) {
      m_mainpid_said = now;
      event(ev::Mainpid{m_mainpid_changes, *msg.main_pid, previous,
                        fmt::format("the main process is now pid {} (MAINPID= from pid {})",
                                    *msg.main_pid, sender)});
      m_mainpid_changes = 0;
    }
  }
  if (msg.watchdog_usec) {
    const auto before = m_watchdog.timeout();
    m_watchdog.start(now, usec(*msg.watchdog_usec)); // as systemd: the job may change it
    if (m_watchdog.timeout() != before) {            // a job repeating itself is no news
      event(ev::Timeout{"watchdog-timeout",
                        "the job set its watchdog timeout to " + human(m_watchdog.timeout())});
    }
  }
  if (msg.watchdog_ping) {
    m_watchdog.feed(now);
  }
  if (msg.extend_timeout_usec) {
    const Nanos until = now + usec(*msg.extend_timeout_usec);
    bool moved = false;
    Nanos& wait_until = m_life.deadline(Deadline::Wait);
    if (m_report && !m_life.run().ready && wait_until < until) {
      wait_until = until; // --wait waits longer for READY=1
      moved = true;
    }
    Nanos& kill_at = m_life.deadline(Deadline::Kill);
    if (kill_at.count() > 0 && m_life.phase() != Phase::Killing && kill_at < until) {
      kill_at = until; // the stop timeout before SIGKILL
      moved = true;
    }
    // Services repeat EXTEND_TIMEOUT_USEC through a long start or stop: on record only when
    // it moved a deadline, and then at most once per k_notify_event_every.
    if (moved && (m_extend_said.count() == 0 || now - m_extend_said >= k_notify_event_every)) {
      m_extend_said = now;
      // One format string: built from pieces, the compiler stores " mor" as an immediate,
      // which lintian takes for a misspelling in the binary.
      event(ev::Timeout{"extend-timeout", fmt::format("the job asked for {} more",
                                                      human(usec(*msg.extend_timeout_usec)))});
    }
  }
  if (msg.ready && !m_life.run().ready) {
    m_life.run().ready = true;
    event(ev::Notified{"ready", sender, fmt::format("READY=1 from pid {}", sender)});
  }
  if (msg.stopping && m_life.phase() == Phase::Running && !m_life.run().said_stopping) {
    m_life.run().said_stopping = true; // the run's classification stays that of its end
    event(ev::Notified{"stopping", sender, fmt::format("STOPPING=1 from pid {}", sender)});
  }
  if (changed || m_life.published(m_pub.state) != m_pub.state) {
    publish();
  }
  if (msg.ready && m_report) {
    send_report("ok\t" + dump_line(receipt()) + "\n"); // --wait: READY=1 ends it at once
  }
  if (msg.watchdog_trigger && m_life.phase() == Phase::Running) {
    hung_kill(StopKind::Watchdog, fmt::format("WATCHDOG=trigger from pid {}", sender));
  }
}

Nanos Supervisor::hung_check()
{
  if (m_life.phase() != Phase::Running) {
    return Nanos(0);
  }
  const Nanos a = m_watchdog.next_check();
  const Nanos b = m_stall.next_check();
  return a.count() == 0 ? b : b.count() == 0 ? a : std::min(a, b);
}

void Supervisor::check_hung()
{
  if (m_life.phase() != Phase::Running) {
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
  const pid_t target = main_target();
  event(ev::Hung{stop_kind_name(kind), target, fmt::format("{}: SIGABRT to pid {}", detail, target),
                 m_pub.status_text});
  apply(m_life.hung(kind, detail, monotonic_now()));
}

} // namespace pg
