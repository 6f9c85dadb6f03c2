#include "caps.h"

#include "syscalls.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pg {

namespace {

std::vector<std::string> words(const std::string& text)
{
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find_first_of(" \n", i);
    if (j == std::string::npos) {
      j = text.size();
    }
    if (j > i) {
      out.push_back(text.substr(i, j - i));
    }
    i = j + 1;
  }
  return out;
}

// Where the controller would be: our v2 cgroup when it offers it, else a v1 hierarchy's.
std::string controller_dir(const CgroupHost& host, const std::string& controller)
{
  if (const CgroupHierarchy* v2 = host.v2()) {
    std::string text;
    read_file(v2->own_dir + "/cgroup.controllers", text);
    const auto offered = words(text);
    if (std::find(offered.begin(), offered.end(), controller) != offered.end()) {
      return v2->own_dir;
    }
  }
  const CgroupHierarchy* v1 = host.v1(controller);
  return v1 != nullptr ? v1->own_dir : std::string();
}

} // namespace

CgroupCaps caps_of(const JobDefinition& def)
{
  CgroupCaps caps;
  if (def.memory_cap > 0) {
    caps.memory_bytes = def.memory_cap;
  }
  if (def.tasks_cap > 0) {
    caps.tasks = def.tasks_cap;
  }
  if (def.cpu_quota_pct > 0) {
    caps.cpu_percent = def.cpu_quota_pct;
  }
  return caps;
}

std::optional<std::string> caps_unavailable(const JobDefinition& def, const CgroupHost& host)
{
  const struct {
    bool asked;
    const char* option;
    const char* controller;
  } caps[] = {{def.memory_cap > 0, "--memory-cap", "memory"},
              {def.tasks_cap > 0, "--tasks-cap", "pids"},
              {def.cpu_quota_pct > 0, "--cpu-quota", "cpu"}};
  const std::string hint =
      fmt::format("it needs a cgroup pg-run may write: run it as root, or in a delegated cgroup "
                  "v2 subtree ({}); nothing was started",
                  k_cgroup_delegate_hint);
  for (const auto& c : caps) {
    if (!c.asked) {
      continue;
    }
    const std::string dir = controller_dir(host, c.controller);
    if (dir.empty()) {
      return fmt::format("{} cannot be enforced: no cgroup offers the {} controller to pg-run "
                         "(cgroup v2 not delegated, no cgroup v1 {} hierarchy); {}",
                         c.option, c.controller, c.controller, hint);
    }
    if (::access(dir.c_str(), W_OK) < 0) {
      return fmt::format("{} cannot be enforced: pg-run may not make a cgroup in {} ({}); {}",
                         c.option, dir, std::strerror(errno), hint);
    }
  }
  return std::nullopt;
}

} // namespace pg
