// A job's cgroup once made: what it holds (memory, tasks, members, OOM kills), a descriptor for
// OOM events, and ending it (kill, remove).
#include "cgroup.h"
#include "cgroup_internal.h"
#include "syscalls.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fmt/format.h>
#include <thread>

namespace pg {

using namespace cgroup_detail;

namespace {

std::optional<uint64_t> parse_u64(std::string_view text)
{
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  if (text.empty() || text.size() > 20 || text.find_first_not_of("0123456789") != text.npos) {
    return std::nullopt;
  }
  uint64_t v = 0;
  for (char c : text) {
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// The first directory of cg that has file, read; nullopt when none has it. With absent, the
// directories whose siblings lacked it are skipped, and those found without it remembered.
std::optional<std::string> first_with(const JobCgroup& cg, std::string_view file,
                                      std::string* dir = nullptr,
                                      CgroupAbsentFiles* absent = nullptr)
{
  for (const auto& d : cg.dirs) {
    if (absent != nullptr && absent->absent(d, file)) {
      continue;
    }
    int err = 0;
    if (auto text = read_text(d, file, &err)) {
      if (dir != nullptr) {
        *dir = d;
      }
      return text;
    }
    if (absent != nullptr && err == ENOENT) {
      absent->mark(d, file);
    }
  }
  return std::nullopt;
}

// The key of dir's file in CgroupAbsentFiles: its parent directory's, shared by its siblings.
std::string absent_key(const std::string& dir, std::string_view file)
{
  const size_t slash = dir.rfind('/');
  return (slash == std::string::npos ? std::string() : dir.substr(0, slash)) + "/" +
         std::string(file);
}

// The cgroup directories below dir (a job that made cgroups of its own), deepest first.
void subdirs_deepest_first(const std::string& dir, std::vector<std::string>& out)
{
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    return;
  }
  std::vector<std::string> here;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_type == DT_DIR && std::strcmp(e->d_name, ".") != 0 &&
        std::strcmp(e->d_name, "..") != 0) {
      here.push_back(dir + "/" + e->d_name);
    }
  }
  ::closedir(d);
  for (const auto& s : here) {
    subdirs_deepest_first(s, out);
    out.push_back(s);
  }
}

// SIGKILL to pid when it is still in dir after a pidfd pins it: a pid that ended and was reused
// by a process outside the cgroup between the listing and the signal is never hit.
void kill_member(const std::string& dir, pid_t pid)
{
  UniqueFd pidfd = pidfd_open(pid);
  if (!pidfd) {
    return; // gone
  }
  std::vector<pid_t> now = parse_pid_lines(read_text(dir, "cgroup.procs").value_or(""));
  if (std::find(now.begin(), now.end(), pid) != now.end()) {
    pidfd_send_signal(pidfd.get(), SIGKILL, nullptr);
  }
}

} // namespace

bool CgroupAbsentFiles::absent(const std::string& dir, std::string_view file) const
{
  const std::lock_guard lock(m_mutex);
  return m_absent.count(absent_key(dir, file)) != 0;
}

void CgroupAbsentFiles::mark(const std::string& dir, std::string_view file)
{
  const std::lock_guard lock(m_mutex);
  m_absent.insert(absent_key(dir, file));
}

std::optional<uint64_t> parse_keyed_value(std::string_view text, std::string_view key)
{
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string_view line = text.substr(pos, end == text.npos ? text.npos : end - pos);
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ' ') {
      return parse_u64(line.substr(key.size() + 1));
    }
    if (end == text.npos) {
      break;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

std::optional<uint64_t> cgroup_memory_current(const JobCgroup& cg, CgroupAbsentFiles* absent)
{
  if (auto t = first_with(cg, "memory.current", nullptr, absent)) {
    return parse_u64(*t);
  }
  if (auto t = first_with(cg, "memory.usage_in_bytes", nullptr, absent)) {
    return parse_u64(*t);
  }
  return std::nullopt;
}

std::optional<uint64_t> cgroup_task_count(const JobCgroup& cg, CgroupAbsentFiles* absent)
{
  if (auto t = first_with(cg, "pids.current", nullptr, absent)) {
    return parse_u64(*t);
  }
  for (auto file : {"cgroup.threads", "tasks"}) {
    if (auto t = first_with(cg, file, nullptr, absent)) {
      return parse_pid_lines(*t).size();
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> cgroup_oom_kills(const JobCgroup& cg)
{
  if (auto t = first_with(cg, "memory.events")) {
    return parse_keyed_value(*t, "oom_kill");
  }
  if (auto t = first_with(cg, "memory.oom_control")) {
    return parse_keyed_value(*t, "oom_kill");
  }
  return std::nullopt;
}

std::vector<pid_t> cgroup_members(const std::string& dir)
{
  std::vector<std::string> dirs;
  subdirs_deepest_first(dir, dirs);
  dirs.push_back(dir);
  std::vector<pid_t> out;
  for (const auto& d : dirs) {
    for (pid_t p : parse_pid_lines(read_text(d, "cgroup.procs").value_or(""))) {
      out.push_back(p);
    }
  }
  return out;
}

std::vector<pid_t> cgroup_members(const JobCgroup& cg)
{
  std::vector<pid_t> out;
  for (const auto& d : cg.dirs) {
    for (pid_t p : cgroup_members(d)) {
      if (std::find(out.begin(), out.end(), p) == out.end()) {
        out.push_back(p);
      }
    }
  }
  return out;
}

bool cgroup_populated(const JobCgroup& cg)
{
  if (auto t = first_with(cg, "cgroup.events")) {
    return parse_keyed_value(*t, "populated").value_or(1) != 0;
  }
  return !cgroup_members(cg).empty();
}

OomWatch OomWatch::open(const JobCgroup& cg, std::string& error)
{
  OomWatch w;
  error.clear();
  std::string dir;
  if (first_with(cg, "memory.events", &dir)) {
    w.m_fd = UniqueFd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!w.m_fd ||
        ::inotify_add_watch(w.m_fd.get(), (dir + "/memory.events").c_str(), IN_MODIFY) < 0) {
      error = fmt::format("inotify on {}/memory.events: {}", dir, std::strerror(errno));
      return {};
    }
    return w;
  }
  if (!first_with(cg, "memory.oom_control", &dir)) {
    error = "the job's cgroup has no memory controller (memory.events, memory.oom_control)";
    return {};
  }
  // v1: "<eventfd> <fd of memory.oom_control>" to cgroup.event_control; the kernel keeps what
  // it needs, so the memory.oom_control descriptor can be closed afterwards.
  w.m_fd = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  const std::string ctl = dir + "/memory.oom_control";
  UniqueFd oom(retry_eintr([&] { return ::open(ctl.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!w.m_fd || !oom) {
    error = fmt::format("eventfd for {}: {}", ctl, std::strerror(errno));
    return {};
  }
  std::string why =
      write_text(dir, "cgroup.event_control", fmt::format("{} {}", w.m_fd.get(), oom.get()));
  if (!why.empty()) {
    error = why;
    return {};
  }
  return w;
}

void OomWatch::drain() const
{
  char buf[4096];
  while (m_fd && ::read(m_fd.get(), buf, sizeof buf) > 0) {
  }
}

std::string kill_job_cgroup(const CgroupHost& host, const JobCgroup& cg, const std::string& name)
{
  std::string why = check_job_cgroup(host, cg, name);
  if (!why.empty()) {
    return why;
  }
  for (const auto& d : cg.dirs) {
    if (file_exists(d, "cgroup.kill")) {
      write_text(d, "cgroup.kill", "1"); // the whole subtree, atomically (Linux >= 5.14)
    }
  }
  // v1 (and a kernel without cgroup.kill): one by one, until a listing is empty. A fork between
  // the listing and the signal shows up in the next listing.
  for (int round = 0; round < 100; ++round) {
    std::vector<std::pair<std::string, pid_t>> left;
    for (const auto& d : cg.dirs) {
      std::vector<std::string> dirs;
      subdirs_deepest_first(d, dirs);
      dirs.push_back(d);
      for (const auto& s : dirs) {
        for (pid_t p : parse_pid_lines(read_text(s, "cgroup.procs").value_or(""))) {
          left.emplace_back(s, p);
        }
      }
    }
    if (left.empty()) {
      return "";
    }
    for (const auto& [dir, pid] : left) {
      kill_member(dir, pid);
    }
    // A SIGKILLed process leaves cgroup.procs only once it has exited: give it a moment.
    std::this_thread::sleep_for(std::chrono::milliseconds(round < 10 ? 1 : 10));
  }
  return fmt::format("processes still in {} after SIGKILL", fmt::join(cg.dirs, ", "));
}

std::string remove_job_cgroup(const CgroupHost& host, const JobCgroup& cg, const std::string& name,
                              std::chrono::milliseconds deadline)
{
  std::string why = check_job_cgroup(host, cg, name);
  if (!why.empty()) {
    return why;
  }
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::vector<std::string> left;
  for (;;) {
    left.clear();
    for (const auto& d : cg.dirs) {
      std::vector<std::string> dirs;
      subdirs_deepest_first(d, dirs);
      dirs.push_back(d);
      for (const auto& s : dirs) {
        if (fs_rmdir(s) < 0 && errno != ENOENT) {
          left.push_back(fmt::format("{}: {}", s, std::strerror(errno)));
        }
      }
    }
    if (left.empty() || std::chrono::steady_clock::now() >= until) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // The leaf is the supervisor's own cgroup while it runs (busy, or refused by the check):
  // removed only once the supervisor has left it.
  if (!cg.supervisor_leaf.empty() &&
      check_job_cgroup_path(host, cg.supervisor_leaf, name).empty()) {
    fs_rmdir(cg.supervisor_leaf);
  }
  return left.empty() ? "" : fmt::format("cannot remove cgroup {}", fmt::join(left, "; "));
}

} // namespace pg
