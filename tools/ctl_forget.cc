#include "ctl_forget.h"

#include "cgroup.h"
#include "job_view.h"
#include "leftovers.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pg {

namespace {

// "NAME" or "NAME.N" with N all digits.
bool is_or_rotation_of(std::string_view file, std::string_view name)
{
  if (!file.starts_with(name)) {
    return false;
  }
  std::string_view rest = file.substr(name.size());
  if (rest.empty()) {
    return true;
  }
  return rest.size() > 1 && rest[0] == '.' &&
         std::all_of(rest.begin() + 1, rest.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string> entries(int dirfd)
{
  std::vector<std::string> out;
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return out;
  }
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return out;
  }
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") {
      out.push_back(std::move(n));
    }
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// Removes the files pg wrote in the job's directory, but its lock; kept: the others. False
// (with r's message) when one could not be removed.
// What is left of the job's cgroup (its supervisor was killed before it could remove it): only
// the one recorded for this job under the name pg gives it (checked before anything). "" when
// nothing is left, else why not.
std::string remove_recorded_cgroup(const std::string& state_dir, const std::string& name,
                                   const JobView& v)
{
  if (!v.state || v.state->job_cgroup.empty()) {
    return {};
  }
  const std::string cg_name = job_cgroup_name(::getuid(), state_dir, name);
  const JobCgroup cg = JobCgroup::from_recorded(cg_name, v.state->job_cgroup);
  return remove_job_cgroup(discover_cgroup_host(), cg, cg_name);
}

bool remove_history(const JobDir& dir, std::vector<std::string>& kept, unsigned& removed,
                    CtlResult& r)
{
  for (const std::string& file : entries(dir.fd())) {
    if (file == "lock" || !forgettable_file(file)) {
      if (file != "lock") {
        kept.push_back(file);
      }
      continue;
    }
    if (::unlinkat(dir.fd(), file.c_str(), 0) < 0 && errno != ENOENT) {
      r.message = fmt::format("cannot remove {}/{}: {}", dir.path(), file, std::strerror(errno));
      return false;
    }
    ++removed;
  }
  return true;
}

CtlResult forget_one(const JobsAt& jobs, const std::string& name)
{
  CtlResult r;
  r.name = name;
  r.action = "forget";
  std::optional<JobDir> dir;
  try {
    if (jobs.dir) {
      dir = jobs.dir->job(name, false);
    }
  } catch (const StateDirError& e) {
    r.unreadable = true;
    r.message = e.what();
    return r;
  }
  if (!dir) {
    r.message = fmt::format("no such job in {}", jobs.path);
    return r;
  }
  // Hold the lock while removing: a pg-run of the same name meanwhile finds it taken (exit 3)
  // instead of starting into a directory that is being emptied.
  UniqueFd lock;
  try {
    lock = dir->open_lock();
  } catch (const std::exception& e) {
    r.message = fmt::format("cannot open its lock: {}", e.what());
    return r;
  }
  if (!try_lock(lock.get())) {
    JobView v = view_job(*dir);
    r.state = v.state ? std::optional<RunState>(v.shown) : std::nullopt;
    r.message = "is running (its supervisor holds the lock); stop it first";
    return r;
  }
  // We hold the lock now, so a state that still says alive is a lost job's.
  JobView v = view_job(*dir);
  const bool lost = v.state && is_live(v.state->state);
  if (v.state) {
    r.state = lost ? RunState::Lost : v.state->state;
    if (lost) {
      std::vector<TreeProcess> left = leftovers(*v.state);
      if (!left.empty()) {
        r.message = fmt::format("is lost and processes of its last run still live ({}); "
                                "end them first (pg-ctl stop), or revive it",
                                leftover_pids_text(left));
        return r;
      }
    }
  }
  if (std::string why = remove_recorded_cgroup(jobs.path, name, v); !why.empty()) {
    r.message = "cannot remove its cgroup: " + why;
    return r;
  }
  std::vector<std::string> kept;
  unsigned removed = 0;
  if (!remove_history(*dir, kept, removed, r)) {
    return r;
  }
  if (!kept.empty()) {
    // Files pg did not write (a user's own, a --log put here by hand): not ours to delete.
    r.message = fmt::format("history removed ({} files), but {} is kept: it also holds {}", removed,
                            dir->path(), fmt::join(kept, ", "));
    r.ok = true;
    return r;
  }
  ::unlinkat(dir->fd(), "lock", 0);
  lock.reset();
  if (::unlinkat(jobs.dir->fd(), name.c_str(), AT_REMOVEDIR) < 0) {
    r.message = fmt::format("cannot remove {}: {}", dir->path(), std::strerror(errno));
    return r;
  }
  r.ok = true;
  r.message = v.state ? fmt::format("forgotten (it was {})", to_string(*r.state))
                      : std::string("forgotten (its state was unreadable)");
  r.state.reset();
  return r;
}

} // namespace

bool forgettable_file(std::string_view file)
{
  return file == "lock" || file == "state.json" || file.starts_with("state.json.tmp.") ||
         file == "environ" || file.starts_with("environ.tmp.") ||
         is_or_rotation_of(file, "events.jsonl") || is_or_rotation_of(file, "output.log");
}

std::vector<CtlResult> forget_jobs(const JobsAt& jobs, const std::vector<std::string>& names)
{
  std::vector<CtlResult> out;
  for (const auto& n : names) {
    out.push_back(forget_one(jobs, n));
  }
  return out;
}

} // namespace pg
