#include "ctl_select.h"

#include "ctl_revive.h"
#include "job_view.h"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>

namespace pg {

namespace {

// Whether a job matched by a glob or --all is one the verb acts on.
bool wanted(const JobsAt& jobs, const std::string& name, CtlVerb verb)
{
  if (verb != CtlVerb::Stop && verb != CtlVerb::Restart && verb != CtlVerb::Start &&
      verb != CtlVerb::Revive) {
    return true;
  }
  std::optional<JobDir> dir = jobs.dir->job(name, false);
  if (!dir) {
    return false; // gone meanwhile
  }
  const JobView v = view_job(*dir);
  if (verb == CtlVerb::Revive) {
    return revive_reason(v).has_value();
  }
  if (verb == CtlVerb::Start) {
    // A damaged job is named, so start says why it cannot start it.
    return !v.supervisor_alive && (!v.state || v.shown != RunState::Completed);
  }
  return v.supervisor_alive;
}

const char* verb_word(CtlVerb v)
{
  switch (v) {
  case CtlVerb::Stop:
    return "stop";
  case CtlVerb::Restart:
    return "restart";
  case CtlVerb::Start:
    return "start";
  case CtlVerb::Ack:
    return "ack";
  case CtlVerb::Forget:
    return "forget";
  case CtlVerb::Revive:
    return "revive";
  case CtlVerb::Signal:
  case CtlVerb::Unit:
  case CtlVerb::Logs:
  case CtlVerb::Up:
  case CtlVerb::Down:
  case CtlVerb::Show:
    break;
  }
  return ""; // one name, never a glob
}

} // namespace

bool is_glob(std::string_view name)
{
  return name.find_first_of("*?[") != std::string_view::npos;
}

Selection select_jobs(const JobsAt& jobs, const CtlCommand& c)
{
  Selection s;
  const std::vector<std::string> all =
      jobs.dir ? jobs.dir->job_names() : std::vector<std::string>{};
  auto add = [&](const std::string& n) {
    if (std::find(s.names.begin(), s.names.end(), n) == s.names.end()) {
      s.names.push_back(n);
    }
  };
  if (c.all) {
    for (const auto& n : all) {
      if (wanted(jobs, n, c.verb)) {
        add(n);
      }
    }
    return s;
  }
  for (const auto& n : c.names) {
    if (!is_glob(n)) {
      add(n);
      continue;
    }
    bool matched = false;
    for (const auto& job : all) {
      if (::fnmatch(n.c_str(), job.c_str(), 0) == 0) {
        matched = true;
        if (wanted(jobs, job, c.verb)) {
          add(job);
        }
      }
    }
    if (!matched) {
      CtlResult r;
      r.name = n;
      r.action = verb_word(c.verb);
      r.message = fmt::format("no job matches '{}' in {}", n, jobs.path);
      s.unmatched.push_back(std::move(r));
    }
  }
  return s;
}

} // namespace pg
