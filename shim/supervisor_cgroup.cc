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

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>

namespace pg {

namespace {

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
  m_cg_join = CgroupJoin{};
  if (m_cg.empty()) {
    return {};
  }
  std::string error;
  m_cg_join = CgroupJoin::open(m_cg, error);
  if (!error.empty()) {
    return "joining the job's cgroup: " + error;
  }
  req.cgroup_fds = m_cg_join.fds();
  req.cgroup_fd_count = m_cg_join.size();
  // The baseline before the fork: an OOM kill at once is still this run's.
  m_oom_base = m_oom.valid() ? cgroup_oom_kills(m_cg) : std::nullopt;
  m_oom_said = false;
  return {};
}

void Supervisor::cgroup_run_started(pid_t main)
{
  m_cg_join = CgroupJoin{}; // the child has joined (or failed): the descriptors go
  m_main_comm = m_oom.valid() && main > 0 ? comm_of(main) : std::string();
}

std::string Supervisor::oom_detail(const ExitStatus& status, pid_t pid)
{
  if (!m_oom.valid() || !m_oom_base) {
    return {};
  }
  const auto kills = cgroup_oom_kills(m_cg);
  if (!kills || *kills <= *m_oom_base) {
    return {};
  }
  const std::string cap = format_size(m_opt.def.memory_cap);
  // A main process ended by SIGKILL while the count went up: the best evidence of which.
  const bool main_killed = status.signal == SIGKILL && pid > 0;
  std::string detail = main_killed
                           ? fmt::format("the kernel killed pid {}{} at the {} cap", pid,
                                         m_main_comm.empty() ? "" : " (" + m_main_comm + ")", cap)
                           : fmt::format("the kernel killed a process at the {} cap", cap);
  if (!m_oom_said) {
    m_oom_said = true;
    ev::Oom e;
    if (main_killed) {
      e.pid = pid;
      e.process = m_main_comm;
    }
    e.cap_bytes = m_opt.def.memory_cap;
    e.memory_bytes = memory_at_kill(m_cg);
    e.kills = *kills - *m_oom_base;
    e.detail = detail;
    event(e);
  }
  return detail;
}

void Supervisor::on_oom()
{
  m_oom.drain();
  if (!m_life.active() || m_life.phase() != Phase::Running) {
    return; // already on its way down: the run's end reads the count
  }
  const std::string detail = oom_detail(ExitStatus{}, 0);
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
    spdlog::warn("{}: {}", m_opt.name, why);
  }
}

void Supervisor::cgroup_exit()
{
  if (m_cg.empty()) {
    return;
  }
  cgroup_run_ended();
  m_oom = OomWatch{};
  if (std::string why = remove_job_cgroup(m_cg_host, m_cg, m_cg_name); !why.empty()) {
    spdlog::warn("{}: {}", m_opt.name, why);
    return; // state.json keeps naming what is left, for pg-ctl forget
  }
  m_pub.job_cgroup.clear();
  publish();
}

} // namespace pg
