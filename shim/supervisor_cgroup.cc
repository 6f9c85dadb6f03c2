// The job's own cgroup (common/cgroup.h): made once per supervisor before anything else starts
// (so the alert helper and hooks stay outside it), joined by each run's child before its exec,
// watched for OOM kills, emptied at each run's end and removed when the supervisor ends.
//
// A cap asked for and no cgroup to enforce it: the launch is refused (start() returns the
// library's reason, which the launcher prints, exit 1). No cap: the cgroup only tracks, and
// when none can be made everything goes on as before.
#include "supervisor.h"

#include "caps.h"
#include "clock.h"
#include "parse.h"
#include "syscalls.h"

#include "say.h"
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <ctime>
#include <functional>

namespace pg {

namespace {

// How long on_oom waits, in milliseconds, for the kernel to finish an OOM kill it has begun.
constexpr int k_oom_settle_polls = 20;

std::string comm_of(pid_t pid)
{
  std::string text;
  read_file("/proc/" + std::to_string(pid) + "/comm", text);
  while (!text.empty() && text.back() == '\n') {
    text.pop_back();
  }
  return text;
}

// The cgroup's peak memory where the kernel keeps one (v1 max_usage_in_bytes, v2 memory.peak),
// else its current memory.
std::optional<uint64_t> memory_at_kill(const JobCgroup& cg)
{
  for (const std::string& dir : cg.dirs) {
    for (const char* f : {"/memory.peak", "/memory.max_usage_in_bytes"}) {
      std::string text;
      if (read_file(dir + f, text) && !text.empty() && text[0] >= '0' && text[0] <= '9') {
        return std::stoull(text);
      }
    }
  }
  return cgroup_memory_current(cg);
}

// The kernel's SIGKILL has reached pid, or it is already on its way out: SIGKILL pending
// (/proc/PID/status's SigPnd or ShdPnd: the OOM killer sends it to the whole process), exiting
// (the flags of /proc/PID/stat carry PF_EXITING), or gone to a zombie. Asked before any stop of
// ours has signalled anything, so what it sees is the kernel's.
bool killed_by_now(pid_t pid)
{
  std::string text;
  if (!read_file("/proc/" + std::to_string(pid) + "/status", text)) {
    return true; // gone already
  }
  constexpr uint64_t sigkill_bit = uint64_t(1) << (SIGKILL - 1);
  for (const char* key : {"\nSigPnd:", "\nShdPnd:"}) {
    if (const auto at = text.find(key);
        at != std::string::npos &&
        (std::strtoull(text.c_str() + at + std::strlen(key), nullptr, 16) & sigkill_bit) != 0) {
      return true;
    }
  }
  if (const auto at = text.find("\nState:\t"); at != std::string::npos) {
    const char state = text[at + 8];
    if (state == 'Z' || state == 'X') {
      return true;
    }
  }
  constexpr uint64_t pf_exiting = 0x4;
  const auto st = read_proc_stat(pid);
  return !st || (st->flags & pf_exiting) != 0;
}

// Polls done() every millisecond, at most k_oom_settle_polls times; whether it came true.
bool settle(const std::function<bool()>& done)
{
  for (int i = 0; i < k_oom_settle_polls; ++i) {
    if (done()) {
      return true;
    }
    const timespec ms{0, 1'000'000};
    ::nanosleep(&ms, nullptr);
  }
  return done();
}

} // namespace

std::optional<std::string> Supervisor::setup_cgroup()
{
  const CgroupCaps caps = caps_of(m_opt.def);
  m_cg_host = discover_cgroup_host();
  m_cg_name = job_cgroup_name(::getuid(), m_opt.state_dir, m_opt.name);
  CgroupSetup s = setup_job_cgroup(m_cg_host, m_cg_name, caps);
  if (!s.error.empty() && caps.any()) {
    return s.error;
  }
  if (!s.error.empty()) {
    s.cgroup = JobCgroup{}; // tracking only: without one, everything goes on as before
  }
  if (caps.any() && s.cgroup.empty()) {
    return "a cap cannot be enforced: no cgroup could be made (" + s.note + ")";
  }
  m_cg = std::move(s.cgroup);
  m_pub.job_cgroup = m_cg.recorded_paths();
  if (m_cg.empty()) {
    return std::nullopt; // tracking only, and none could be made: as before
  }
  if (caps.memory_bytes) {
    std::string why;
    m_oom = OomWatch::open(m_cg, why);
    if (!m_oom.valid()) {
      remove_job_cgroup(m_cg_host, m_cg, m_cg_name);
      return "--memory-cap cannot be enforced: no OOM record to watch (" + why + ")";
    }
  }
  return std::nullopt;
}

void Supervisor::watch_oom()
{
  if (!m_oom.valid()) {
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = k_oom_tag;
  if (::epoll_ctl(m_epoll.get(), EPOLL_CTL_ADD, m_oom.fd(), &ev) < 0) {
    throw_errno("epoll_ctl");
  }
}

std::string Supervisor::cgroup_join(SpawnRequest& req)
{
  if (m_cg.empty()) {
    return {};
  }
  // Opened at the first run and kept until the cgroup goes (cgroup_exit): the directories live
  // as long as the supervisor, and a restart saves three opens and a statfs. A failed open
  // keeps nothing, so the next run tries again.
  if (m_cg_join.size() == 0) {
    std::string error;
    m_cg_join = CgroupJoin::open(m_cg, error);
    if (!error.empty()) {
      return "joining the job's cgroup: " + error;
    }
  }
  req.cgroup_fds = m_cg_join.fds();
  req.cgroup_fd_count = m_cg_join.size();
  req.cgroup_into_fd = m_cg_join.into_fd();
  req.cgroup_into_index = m_cg_join.into_index();
  // The baseline before the fork: an OOM kill at once is still this run's.
  m_oom_base = m_oom.valid() ? cgroup_oom_kills(m_cg) : std::nullopt;
  m_oom_said = false;
  m_oom_detail.clear();
  return {};
}

void Supervisor::cgroup_run_started(pid_t main)
{
  m_main_comm = m_oom.valid() && main > 0 ? comm_of(main) : std::string();
}

std::string Supervisor::oom_detail(const ExitStatus& status, pid_t pid)
{
  if (!m_oom.valid() || !m_oom_base) {
    return {};
  }
  if (m_oom_said) {
    return m_oom_detail; // told once, at the first sight: our own stop's SIGKILL changes nothing
  }
  const auto kills = cgroup_oom_kills(m_cg);
  if (!kills || *kills <= *m_oom_base) {
    return {};
  }
  const std::string cap = format_size(m_opt.def.memory_cap);
  // A main process ended by SIGKILL while the count went up: the best evidence of which.
  const bool main_killed = status.signal == SIGKILL && pid > 0;
  if (main_killed) {
    if (std::string now = comm_of(pid); !now.empty()) {
      m_main_comm = std::move(now); // a zombie still has its name: a handed-over main's own
    }
  }
  m_oom_detail = main_killed
                     ? fmt::format("the kernel killed pid {}{} at the {} cap", pid,
                                   m_main_comm.empty() ? "" : " (" + m_main_comm + ")", cap)
                     : fmt::format("the kernel killed a process of the job's tree (not its main "
                                   "process) at the {} cap",
                                   cap);
  m_oom_said = true;
  ev::Oom e;
  if (main_killed) {
    e.pid = pid;
    e.process = m_main_comm;
  }
  e.cap_bytes = m_opt.def.memory_cap;
  e.memory_bytes = memory_at_kill(m_cg);
  e.kills = *kills - *m_oom_base;
  e.detail = m_oom_detail;
  event(e);
  return m_oom_detail;
}

void Supervisor::on_oom()
{
  m_oom.drain();
  if (!m_life.active() || m_life.phase() != Phase::Running) {
    return; // already on its way down: the run's end reads the count
  }
  // The watch can wake before the kernel has chosen its victim (cgroup v1 notifies at the OOM,
  // before the kill); the kernel counts a kill just before it sends the victim's SIGKILL. So:
  // a short bounded wait for the count (none moved: reclaim made room, nothing was killed),
  // then for the victim's signal to show on the main process. Only ever on an OOM, at most
  // k_oom_settle_polls milliseconds each.
  auto counted = [&] {
    const auto kills = cgroup_oom_kills(m_cg);
    return kills && m_oom_base && *kills > *m_oom_base;
  };
  auto main_status = [&] {
    // The main process ended by SIGKILL (looked at without reaping it: the reap round tells
    // the run's end), or the kernel's SIGKILL on its way: the kernel chose it.
    const pid_t main = m_life.run().main;
    siginfo_t info{};
    if (main > 0 &&
        ::waitid(P_PID, static_cast<id_t>(main), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == main) {
      return ExitStatus::from_siginfo(info);
    }
    return main > 0 && killed_by_now(main) ? ExitStatus::killed(SIGKILL) : ExitStatus{};
  };
  if (!settle(counted)) {
    return;
  }
  ExitStatus status;
  settle([&] { return (status = main_status()).signal == SIGKILL; });
  const pid_t main = m_life.run().main;
  const std::string detail = oom_detail(status, main);
  if (detail.empty()) {
    return;
  }
  // systemd's OOMPolicy=stop: the rest of the cgroup goes at once.
  request_stop(StopKind::Oom, detail, Millis(0));
  apply(m_life.kill_due());
}

void Supervisor::cgroup_signal(int sig, const std::vector<pid_t>& reached)
{
  if (m_cg.empty()) {
    return;
  }
  // The cgroup holds the whole tree, also what left the subreaper's (a process moved out of
  // our descendants cannot leave the cgroup): each member the tree walk missed gets sig.
  for (pid_t pid : cgroup_members(m_cg)) {
    if (std::find(reached.begin(), reached.end(), pid) == reached.end()) {
      ::kill(pid, sig);
    }
  }
}

void Supervisor::cgroup_run_ended()
{
  if (m_cg.empty() || !cgroup_populated(m_cg)) {
    return;
  }
  // What escaped the subreaper's tree is still in the cgroup: it ends with the run.
  if (std::string why = kill_job_cgroup(m_cg_host, m_cg, m_cg_name); !why.empty()) {
    say("{}: {}", m_opt.name, why);
  }
}

void Supervisor::cgroup_exit()
{
  if (m_cg.empty()) {
    return;
  }
  cgroup_run_ended();
  m_cg_join = CgroupJoin{};
  m_oom = OomWatch{};
  if (std::string why = remove_job_cgroup(m_cg_host, m_cg, m_cg_name); !why.empty()) {
    say("{}: {}", m_opt.name, why);
    return; // state.json keeps naming what is left, for pg-ctl forget
  }
  m_pub.job_cgroup.clear();
  publish();
}

} // namespace pg
