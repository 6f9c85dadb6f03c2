#include "ctl_up.h"

#include "ctl_pg_run.h"
#include "job_view.h"
#include "run_args.h"

#include <fmt/format.h>

#include <algorithm>

namespace pg {

namespace {

bool named(const std::vector<std::string>& names, const std::string& n)
{
  return names.empty() || std::find(names.begin(), names.end(), n) != names.end();
}

std::string joined(const std::vector<std::string>& v)
{
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : ", ") + s;
  }
  return out;
}

// Launches the file's definition (replacing a running job when asked), the receipt as the line.
CtlResult start_from_file(const JobsAt& jobs, const FileJob& fj, bool replace,
                          const std::string& done)
{
  CtlResult r;
  r.name = fj.name;
  r.action = "up";
  std::vector<std::string> args = fj.args; // pg-run's own arguments, checked by its parser
  // The definition records the file it comes from.
  args.insert(args.begin(), "--jobs-file=" + fj.opt.def.jobs_file);
  if (replace) {
    args.insert(args.begin(), "--replace");
  }
  launch_through_pg_run(r, jobs, nullptr, fj.name, args, Millis{0});
  if (!r.ok) {
    return r;
  }
  std::string receipt = r.message;
  if (receipt.rfind("running, ", 0) == 0) {
    receipt.erase(0, 9);
  }
  r.message = done + ", " + receipt;
  return r;
}

CtlResult up_one(const JobsAt& jobs, const JobsFile& file, const FileJob& fj, const UpOptions& o)
{
  std::optional<JobDir> dir = jobs.dir ? jobs.dir->job(fj.name, false) : std::nullopt;
  const JobView v = dir ? view_job(*dir) : JobView{};
  if (!v.state || !v.supervisor_alive) {
    return start_from_file(jobs, fj, false, "started");
  }
  const JobDefinition& rec = v.state->definition;
  if (rec.jobs_file != file.path && !o.force) {
    CtlResult r;
    r.name = fj.name;
    r.action = "up";
    r.state = v.shown;
    r.pid = v.state->pid;
    r.message =
        rec.jobs_file.empty()
            ? "running, launched by hand: left alone (--force replaces it)"
            : fmt::format("running, from {}: left alone (--force replaces it)", rec.jobs_file);
    return r;
  }
  std::vector<std::string> changed = changed_keys(rec, fj.opt.def);
  if (rec.jobs_file != file.path) {
    changed.insert(changed.begin(), "file");
  }
  if (changed.empty()) {
    CtlResult r;
    r.name = fj.name;
    r.action = "up";
    r.ok = true;
    r.state = v.shown;
    r.pid = v.state->pid;
    r.message = "unchanged";
    return r;
  }
  return start_from_file(jobs, fj, true, fmt::format("replaced (changed: {})", joined(changed)));
}

} // namespace

std::vector<CtlResult> up_jobs(const JobsAt& jobs, const JobsFile& file,
                               const std::vector<std::string>& names, const UpOptions& opt)
{
  std::vector<CtlResult> out;
  std::vector<std::string> in_file;
  for (const auto& fj : file.jobs) {
    in_file.push_back(fj.name);
  }
  for (const auto& n : names) {
    if (std::find(in_file.begin(), in_file.end(), n) == in_file.end()) {
      CtlResult r;
      r.name = n;
      r.action = "up";
      r.message = fmt::format("not in {}", file.path);
      out.push_back(r);
    }
  }
  for (const auto& fj : file.jobs) {
    if (named(names, fj.name)) {
      out.push_back(up_one(jobs, file, fj, opt));
    }
  }
  if (!names.empty() || !jobs.dir) {
    return out;
  }
  std::vector<std::string> left;
  for (const auto& n : jobs.dir->job_names()) {
    std::optional<JobDir> dir = jobs.dir->job(n, false);
    const JobView v = dir ? view_job(*dir) : JobView{};
    if (v.state && v.supervisor_alive && v.state->definition.jobs_file == file.path &&
        std::find(in_file.begin(), in_file.end(), n) == in_file.end()) {
      left.push_back(n);
    }
  }
  if (opt.prune) {
    auto stopped = stop_jobs(jobs, left, std::nullopt);
    out.insert(out.end(), stopped.begin(), stopped.end());
    return out;
  }
  for (const auto& n : left) {
    CtlResult r;
    r.name = n;
    r.action = "up";
    r.ok = true;
    r.message = "not in the file, left running";
    out.push_back(r);
  }
  return out;
}

std::vector<CtlResult> down_jobs(const JobsAt& jobs, const std::string& file_path,
                                 const std::vector<std::string>& names)
{
  std::vector<std::string> ours;
  if (jobs.dir) {
    for (const auto& n : jobs.dir->job_names()) {
      std::optional<JobDir> dir = jobs.dir->job(n, false);
      const JobView v = dir ? view_job(*dir) : JobView{};
      if (v.state && v.supervisor_alive && v.state->definition.jobs_file == file_path &&
          named(names, n)) {
        ours.push_back(n);
      }
    }
  }
  return stop_jobs(jobs, ours, std::nullopt);
}

} // namespace pg
