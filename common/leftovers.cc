#include "leftovers.h"

#include "cgroup.h"

#include "proc.h"
#include "syscalls.h"

#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

namespace pg {

namespace {

// What a process's environment says of the job it belongs to.
struct EnvMarks {
  bool run_family = false; // PG_RUN_ID of the family looked for
  bool other_job = false;  // PG_NAME of another job: a copied state names it, it is not ours
};

EnvMarks env_marks(pid_t pid, std::string_view needle, const std::string& name)
{
  EnvMarks m;
  std::string env;
  if (!read_file("/proc/" + std::to_string(pid) + "/environ", env)) {
    return m;
  }
  const std::string own = "PG_NAME=" + name;
  for (size_t pos = 0; pos < env.size();) {
    size_t end = env.find('\0', pos);
    if (end == std::string::npos) {
      end = env.size();
    }
    const std::string_view entry = std::string_view(env).substr(pos, end - pos);
    if (!needle.empty() && entry.starts_with(needle)) {
      m.run_family = true;
    } else if (entry.starts_with("PG_NAME=") && entry != own) {
      m.other_job = true;
    }
    pos = end + 1;
  }
  return m;
}

bool gone(const ProcStat& st)
{
  return st.state == 'Z' || st.state == 'X';
}

} // namespace

namespace {

// The processes in the job's recorded cgroup (job_cgroup): exact, whatever they did to their
// environment. Only a directory named as pg names this job's cgroups (pg-<our uid>-<8 hex>-
// NAME, or its supervisor leaf) that the library's check accepts (below a cgroup mount, not our
// own cgroup nor an ancestor of it): a tampered record cannot point at someone else's.
std::vector<pid_t> recorded_cgroup_members(const JobState& st)
{
  std::vector<pid_t> out;
  if (st.job_cgroup.empty()) {
    return out;
  }
  const std::string head = "pg-" + std::to_string(::getuid()) + "-";
  const std::string tail = "-" + st.name;
  const CgroupHost host = discover_cgroup_host();
  for (const std::string& path : st.job_cgroup) {
    const std::string base = path.substr(path.rfind('/') + 1);
    if (base.size() != head.size() + 8 + tail.size() || !base.starts_with(head) ||
        !base.ends_with(tail) || !check_job_cgroup_path(host, path, base).empty()) {
      continue;
    }
    for (pid_t pid : cgroup_members(path)) {
      out.push_back(pid);
    }
  }
  return out;
}

// The recorded cgroup's members into found, but for those of another job.
void add_cgroup_members(const JobState& st, const std::map<pid_t, ProcStat>& procs,
                        const std::set<pid_t>& others, std::set<pid_t>& found)
{
  for (pid_t pid : recorded_cgroup_members(st)) {
    if (procs.contains(pid) && !others.contains(pid) && !env_marks(pid, "", st.name).other_job) {
      found.insert(pid);
    }
  }
}

} // namespace

std::vector<TreeProcess> leftovers(const JobState& st)
{
  // One pass over /proc: each process's stat (parent, start time), and its environment only
  // where the run id can be looked for.
  std::map<pid_t, ProcStat> procs;
  for (pid_t p : all_pids()) {
    if (auto s = read_proc_stat(p); s && !gone(*s)) {
      procs.emplace(p, std::move(*s));
    }
  }
  const pid_t self = ::getpid();
  const SupervisorRecord& sup = st.supervisor;
  const bool same_boot = sup.boot_id == boot_id();
  auto is_supervisor = [&](const ProcStat& s) {
    return same_boot && s.pid == sup.pid && s.start_time == sup.start_time;
  };
  // A process that says it belongs to another job (PG_NAME) is never this job's, whatever
  // the state names: a copied job directory must not make pg-ctl stop end another job.
  const std::string needle =
      st.run_id.empty() ? std::string() : "PG_RUN_ID=" + st.run_id.substr(0, k_run_family_chars);
  std::set<pid_t> found;
  std::set<pid_t> others;
  if (same_boot) {
    for (const TreeProcess& t : st.tree) {
      auto it = procs.find(t.pid);
      if (it != procs.end() && it->second.start_time == t.start_time) {
        (env_marks(t.pid, "", st.name).other_job ? others : found).insert(t.pid);
      }
    }
  }
  if (!needle.empty()) {
    for (const auto& [pid, s] : procs) {
      if (found.contains(pid) || others.contains(pid)) {
        continue;
      }
      const EnvMarks m = env_marks(pid, needle, st.name);
      if (m.run_family && !m.other_job) {
        found.insert(pid);
      }
    }
  }
  if (same_boot) {
    add_cgroup_members(st, procs, others, found);
  }
  // Their descendants: the workers of a daemon that cleared their environment (nginx's do).
  std::multimap<pid_t, pid_t> children;
  for (const auto& [pid, s] : procs) {
    children.emplace(s.ppid, pid);
  }
  std::vector<pid_t> frontier(found.begin(), found.end());
  while (!frontier.empty()) {
    const pid_t parent = frontier.back();
    frontier.pop_back();
    auto [lo, hi] = children.equal_range(parent);
    for (auto it = lo; it != hi; ++it) {
      if (found.insert(it->second).second) {
        frontier.push_back(it->second);
      }
    }
  }
  std::vector<ProcStat> out;
  for (pid_t p : found) {
    const ProcStat& s = procs.at(p);
    if (p != self && !is_supervisor(s)) {
      out.push_back(s);
    }
  }
  std::sort(out.begin(), out.end(), [](const ProcStat& a, const ProcStat& b) {
    return a.start_time != b.start_time ? a.start_time < b.start_time : a.pid < b.pid;
  });
  std::vector<TreeProcess> result;
  result.reserve(out.size());
  for (const ProcStat& s : out) {
    result.push_back({s.pid, s.start_time});
  }
  return result;
}

void signal_processes(const std::vector<TreeProcess>& procs, int sig)
{
  for (const TreeProcess& p : procs) {
    // The pidfd pins the process; its start time, read after, says it is the one listed.
    UniqueFd fd = pidfd_open(p.pid);
    if (!fd) {
      continue;
    }
    auto s = read_proc_stat(p.pid);
    if (s && s->start_time == p.start_time) {
      pidfd_send_signal(fd.get(), sig, nullptr);
    }
  }
}

bool end_leftovers(const JobState& st, int first_signal, Millis grace, Millis deadline)
{
  const Nanos start = monotonic_now();
  const Nanos kill_at = start + grace;
  const Nanos give_up = start + deadline;
  bool signalled = false;
  for (;;) {
    const std::vector<TreeProcess> left = leftovers(st);
    if (left.empty()) {
      return true;
    }
    const Nanos now = monotonic_now();
    if (now >= give_up) {
      return false;
    }
    if (first_signal != 0 && now < kill_at) {
      if (!signalled) {
        signal_processes(left, first_signal);
        signalled = true;
      }
    } else {
      signal_processes(left, SIGKILL);
    }
    // Wait for one of them to end (a pidfd turns readable then), at most a few ms: others may
    // have appeared meanwhile (a fork), and the next look finds them.
    std::vector<UniqueFd> fds;
    std::vector<pollfd> polls;
    for (const TreeProcess& p : left) {
      if (UniqueFd fd = pidfd_open(p.pid)) {
        polls.push_back(pollfd{fd.get(), POLLIN, 0});
        fds.push_back(std::move(fd));
      }
    }
    const Nanos until =
        std::min(first_signal != 0 && now < kill_at ? kill_at : give_up, now + Nanos(50'000'000));
    const auto ms = std::chrono::ceil<Millis>(until - monotonic_now()).count();
    if (!polls.empty() && ms > 0) {
      ::poll(polls.data(), polls.size(), static_cast<int>(ms));
    }
  }
}

std::string leftover_pids_text(const std::vector<TreeProcess>& procs)
{
  std::string out = procs.size() == 1 ? "pid" : "pids";
  for (size_t i = 0; i < procs.size() && i < 5; ++i) {
    out += " " + std::to_string(procs[i].pid);
  }
  if (procs.size() > 5) {
    out += fmt::format(" and {} more", procs.size() - 5);
  }
  return out;
}

} // namespace pg
