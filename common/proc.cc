#include "proc.h"

#include "syscalls.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <map>

namespace pg {

std::vector<pid_t> all_pids()
{
  std::vector<pid_t> pids;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) {
    return pids;
  }
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long v = std::strtol(e->d_name, &end, 10);
    if (end != e->d_name && *end == '\0' && v > 0) {
      pids.push_back(static_cast<pid_t>(v));
    }
  }
  ::closedir(d);
  return pids;
}

namespace {

// /proc/PID/stat shows a start time on the reader's CLOCK_BOOTTIME, which a time namespace
// offsets (unshare --time, a container, a CRIU restore): this process's boottime offset in
// clock ticks, taken off every start time read, so that a supervisor's recorded identity
// matches when pg-ctl or pg-ls reads it from another time namespace. Exact for offsets in
// whole ticks; zero without time namespaces.
int64_t boottime_offset_ticks()
{
  static const int64_t ticks = [] {
    std::string text;
    if (!read_file("/proc/self/timens_offsets", text)) {
      return int64_t{0};
    }
    const size_t at = text.find("boottime");
    long long s = 0;
    long long ns = 0;
    if (at == std::string::npos ||
        std::sscanf(text.c_str() + at, "boottime %lld %lld", &s, &ns) != 2) {
      return int64_t{0};
    }
    const int64_t hz = ::sysconf(_SC_CLK_TCK) > 0 ? ::sysconf(_SC_CLK_TCK) : 100;
    return static_cast<int64_t>(s) * hz + static_cast<int64_t>(ns) * hz / 1'000'000'000;
  }();
  return ticks;
}

} // namespace

std::optional<ProcStat> parse_proc_stat(pid_t pid, std::string_view text)
{
  const size_t open = text.find('(');
  const size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos ||
      close + 2 >= text.size()) {
    return std::nullopt;
  }
  ProcStat st;
  st.pid = pid;
  st.comm = std::string(text.substr(open + 1, close - open - 1));
  // Fields after the comm, numbered from 3 (state).
  std::vector<std::string_view> fields;
  std::string_view rest = text.substr(close + 2);
  while (!rest.empty()) {
    const size_t sp = rest.find_first_of(" \n");
    fields.push_back(rest.substr(0, sp));
    if (sp == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(sp + 1);
  }
  if (fields.size() < 22 || fields[0].empty()) {
    return std::nullopt;
  }
  bool good = true;
  auto num = [&](size_t field) {
    const std::string_view f = fields[field - 3];
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
    good = good && ec == std::errc() && end == f.data() + f.size();
    return v;
  };
  st.state = fields[0][0];
  st.ppid = static_cast<pid_t>(num(4));
  st.pgid = static_cast<pid_t>(num(5));
  st.flags = num(9);
  st.cpu_ticks = num(14) + num(15) + num(16) + num(17);
  st.start_time = static_cast<uint64_t>(static_cast<int64_t>(num(22)) - boottime_offset_ticks());
  st.rss_pages = num(24);
  st.threads = num(20);
  return good ? std::optional<ProcStat>(std::move(st)) : std::nullopt;
}

std::optional<ProcStat> read_proc_stat(pid_t pid, const std::string& proc)
{
  std::string text;
  if (!read_kernel_file(proc + "/" + std::to_string(pid) + "/stat", text)) {
    return std::nullopt;
  }
  return parse_proc_stat(pid, text);
}

uint64_t own_pid_namespace()
{
  static const uint64_t ns = [] {
    struct stat st {};
    return ::stat("/proc/self/ns/pid", &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
  }();
  return ns;
}

bool pid_namespace_differs(uint64_t recorded, uint64_t here)
{
  return recorded != 0 && here != 0 && recorded != here;
}

std::string pid_namespace_name(uint64_t ns)
{
  return "pid:[" + std::to_string(ns) + "]";
}

const std::string& boot_id()
{
  static const std::string id = [] {
    std::string text;
    read_file("/proc/sys/kernel/random/boot_id", text);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
      text.pop_back();
    }
    return text;
  }();
  return id;
}

ProcessIdentity ProcessIdentity::self()
{
  ProcessIdentity id;
  id.pid = ::getpid();
  if (auto st = read_proc_stat(id.pid)) {
    id.start_time = st->start_time;
  }
  id.boot_id = pg::boot_id();
  return id;
}

bool ProcessIdentity::alive() const
{
  if (pid <= 0 || boot_id != pg::boot_id()) {
    return false;
  }
  auto st = read_proc_stat(pid);
  return st && st->start_time == start_time && st->state != 'Z' && st->state != 'X';
}

std::string process_command(pid_t pid)
{
  std::string text;
  if (read_file("/proc/" + std::to_string(pid) + "/cmdline", text) && !text.empty()) {
    while (!text.empty() && text.back() == '\0') {
      text.pop_back();
    }
    std::replace(text.begin(), text.end(), '\0', ' ');
    if (text.size() > 200) {
      text.resize(200);
    }
    return text;
  }
  if (auto st = read_proc_stat(pid)) {
    return st->comm;
  }
  return {};
}

std::vector<ProcStat> descendant_stats(pid_t root)
{
  std::multimap<pid_t, ProcStat> by_parent;
  for (pid_t p : all_pids()) {
    if (auto st = read_proc_stat(p)) {
      by_parent.emplace(st->ppid, *st);
    }
  }
  std::vector<ProcStat> found;
  std::vector<pid_t> frontier{root};
  while (!frontier.empty()) {
    pid_t parent = frontier.back();
    frontier.pop_back();
    auto [lo, hi] = by_parent.equal_range(parent);
    for (auto it = lo; it != hi; ++it) {
      found.push_back(it->second);
      frontier.push_back(it->second.pid);
    }
  }
  std::sort(found.begin(), found.end(), [](const ProcStat& a, const ProcStat& b) {
    return a.start_time != b.start_time ? a.start_time < b.start_time : a.pid < b.pid;
  });
  return found;
}

std::vector<pid_t> descendants(pid_t root)
{
  std::vector<pid_t> out;
  for (const auto& st : descendant_stats(root)) {
    out.push_back(st.pid);
  }
  return out;
}

std::vector<pid_t> processes_with_env(const std::string& key, const std::string& value)
{
  const std::string needle = key + "=" + value;
  std::vector<pid_t> out;
  for (pid_t p : all_pids()) {
    std::string env;
    if (!read_file("/proc/" + std::to_string(p) + "/environ", env)) {
      continue;
    }
    size_t pos = 0;
    while (pos < env.size()) {
      size_t end = env.find('\0', pos);
      if (end == std::string::npos) {
        end = env.size();
      }
      if (std::string_view(env).substr(pos, end - pos) == needle) {
        out.push_back(p);
        break;
      }
      pos = end + 1;
    }
  }
  return out;
}

std::vector<pid_t> processes_of_run_family(const std::string& run_id)
{
  const std::string needle = "PG_RUN_ID=" + run_id.substr(0, k_run_family_chars);
  std::vector<pid_t> out;
  for (pid_t p : all_pids()) {
    std::string env;
    if (!read_file("/proc/" + std::to_string(p) + "/environ", env)) {
      continue;
    }
    for (size_t pos = 0; pos < env.size();) {
      size_t end = env.find('\0', pos);
      if (end == std::string::npos) {
        end = env.size();
      }
      if (std::string_view(env).substr(pos, end - pos).starts_with(needle)) {
        out.push_back(p);
        break;
      }
      pos = end + 1;
    }
  }
  return out;
}

} // namespace pg
