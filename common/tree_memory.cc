#include "tree_memory.h"

#include "proc.h"
#include "syscalls.h"

#include <dirent.h>
#include <fmt/format.h>
#include <unistd.h>

#include <optional>
#include <set>

namespace pg {

namespace {

// The children of every thread of pid; nullopt when pid has no children files at all (gone, or
// a kernel without them).
std::optional<std::vector<pid_t>> children_of(const std::string& proc, pid_t pid)
{
  const std::string task_dir = proc + "/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(task_dir.c_str());
  if (d == nullptr) {
    return std::nullopt;
  }
  std::vector<pid_t> out;
  bool any = false;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') {
      continue;
    }
    std::string text;
    if (read_kernel_file(task_dir + "/" + e->d_name + "/children", text)) {
      any = true;
      for (pid_t c : parse_children(text)) {
        out.push_back(c);
      }
    }
  }
  ::closedir(d);
  if (!any) {
    return std::nullopt;
  }
  return out;
}

} // namespace

std::vector<pid_t> parse_children(std::string_view text)
{
  std::vector<pid_t> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] < '0' || text[i] > '9')) {
      ++i;
    }
    long long v = 0;
    bool digits = false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      v = v * 10 + (text[i] - '0');
      digits = true;
      if (v > 1'000'000'000'000LL) {
        v = 0; // absurd: not a pid
      }
      ++i;
    }
    if (digits && v > 0) {
      out.push_back(static_cast<pid_t>(v));
    }
  }
  return out;
}

namespace {

// The children of pid, whose stat is st when read: a process of one thread that is not a zombie
// leader has them in one file (its own thread's), which saves listing its task directory.
std::optional<std::vector<pid_t>> kids(const std::string& proc, pid_t pid, const ProcStat* st)
{
  if (st != nullptr && st->threads == 1 && st->state != 'Z') {
    std::string text;
    const std::string p = std::to_string(pid);
    if (read_kernel_file(proc + "/" + p + "/task/" + p + "/children", text)) {
      return parse_children(text);
    }
  }
  return children_of(proc, pid);
}

// Walks the tree below root (root itself excluded) through the children files, calling
// visit(pid) once per process found; visit returns that process's stat when it read one, or
// null. False when root has no children files (gone, or a kernel without them).
template <typename Visit>
bool walk(pid_t root, const ProcStat* root_stat, const std::string& proc, Visit visit)
{
  auto first = kids(proc, root, root_stat);
  if (!first) {
    return false;
  }
  std::set<pid_t> seen{root};
  std::vector<pid_t> frontier = std::move(*first);
  while (!frontier.empty()) {
    const pid_t p = frontier.back();
    frontier.pop_back();
    if (!seen.insert(p).second) {
      continue; // a pid recycled during the walk must not loop
    }
    if (auto more = kids(proc, p, visit(p))) {
      frontier.insert(frontier.end(), more->begin(), more->end());
    }
  }
  return true;
}

} // namespace

std::vector<ProcStat> tree_stats(pid_t root, bool root_one_thread, const std::string& proc,
                                 const DescendantsFn& fallback)
{
  std::vector<ProcStat> out;
  std::optional<ProcStat> top;
  if (root_one_thread) {
    top.emplace();
    top->state = 'S';
    top->threads = 1;
  } else {
    top = read_proc_stat(root, proc);
  }
  const bool walked = walk(root, top ? &*top : nullptr, proc, [&](pid_t p) -> const ProcStat* {
    auto st = read_proc_stat(p, proc);
    if (!st) {
      return nullptr; // ended meanwhile
    }
    out.push_back(std::move(*st));
    return &out.back();
  });
  if (!walked) {
    for (pid_t pid : fallback ? fallback(root) : descendants(root)) { // the scan of all of /proc
      if (auto st = read_proc_stat(pid, proc)) {
        out.push_back(std::move(*st));
      }
    }
  }
  return out;
}

uint64_t rss_bytes(const std::vector<ProcStat>& tree)
{
  static const uint64_t page = [] {
    const long ps = ::sysconf(_SC_PAGESIZE);
    return ps > 0 ? static_cast<uint64_t>(ps) : 4096;
  }();
  uint64_t pages = 0;
  for (const ProcStat& p : tree) {
    pages += p.rss_pages;
  }
  return pages * page;
}

std::string format_bytes(uint64_t bytes)
{
  constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) {
    return fmt::format("{} B", bytes);
  }
  double v = static_cast<double>(bytes) / 1024.0;
  size_t u = 0;
  while (v >= 1024.0 && u + 1 < std::size(units)) {
    v /= 1024.0;
    ++u;
  }
  return fmt::format("{:.1f} {}", v, units[u]);
}

std::string format_limit(uint64_t bytes)
{
  constexpr std::pair<uint64_t, const char*> units[] = {
      {1ULL << 40, "TiB"}, {1ULL << 30, "GiB"}, {1ULL << 20, "MiB"}, {1ULL << 10, "KiB"}};
  if (bytes == 0) {
    return "0 B";
  }
  for (const auto& [size, name] : units) {
    if (bytes >= size && bytes % size == 0) {
      return fmt::format("{} {}", bytes / size, name);
    }
  }
  return bytes < 1024 ? fmt::format("{} B", bytes) : format_bytes(bytes);
}

} // namespace pg
