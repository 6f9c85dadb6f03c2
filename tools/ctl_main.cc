// pg-ctl's main: the verb's results printed as asked.
#include "ctl_ack.h"
#include "ctl_actions.h"
#include "ctl_args.h"
#include "ctl_forget.h"
#include "ctl_logs.h"
#include "ctl_revive.h"
#include "ctl_scope.h"
#include "ctl_select.h"
#include "ctl_start.h"
#include "ctl_unit.h"
#include "ctl_up.h"
#include "job_view.h"
#include "jobs_file.h"
#include "parse.h"
#include "signals.h"
#include "state_dir.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace {

void print(const std::vector<pg::CtlResult>& results, bool json)
{
  for (const auto& r : results) {
    if (!r.ok) {
      fmt::print(stderr, "pg-ctl: {}: {}\n", r.name, r.message);
    } else if (!json) {
      fmt::print("{}: {}\n", r.name, r.message);
    }
  }
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : results) {
      out.push_back(pg::to_json(r));
    }
    fmt::print("{}\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  }
}

// The log's bytes are on stdout already; what is left is the JSON, a note or an error.
int print_logs(const pg::LogsResult& r, const std::string& name)
{
  if (!r.json.is_null()) {
    fmt::print("{}\n", r.json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  if (!r.note.empty()) {
    fmt::print(stderr, "pg-ctl: {}: {}\n", name, r.note);
  }
  if (!r.error.empty()) {
    fmt::print(stderr, "pg-ctl: {}: {}\n", name, r.error);
  }
  return r.status;
}

// pg-ctl show NAME --as toml|pg-run|unit (unit NAME: --as unit): from the recorded
// definition, whatever the job's state.
int print_unit(const pg::JobsAt& jobs, const std::string& name, bool json, const std::string& as)
{
  std::optional<pg::JobDir> dir = jobs.dir ? jobs.dir->job(name, false) : std::nullopt;
  if (!dir) {
    fmt::print(stderr, "pg-ctl: {}: no such job in {}\n", name, jobs.path);
    return pg::k_ctl_exit_failed;
  }
  pg::JobView v = pg::view_job(*dir);
  if (!v.state) {
    fmt::print(stderr, "pg-ctl: {}: cannot read its definition: {}\n", name, v.error);
    return pg::k_ctl_exit_failed;
  }
  const std::string source = dir->path() + "/state.json";
  const std::string text =
      as == "toml"     ? pg::definition_toml(name, v.state->definition, jobs.path)
      : as == "pg-run" ? pg::definition_command_line(name, v.state->definition, jobs.path) + "\n"
                       : pg::systemd_unit(*v.state, source);
  if (json) {
    nlohmann::json out = {{"schema_version", pg::k_schema_version},
                          {"name", name},
                          {"source", source},
                          {as == "unit" ? "unit" : as, text}};
    fmt::print("{}\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    fmt::print("{}", text);
  }
  return pg::k_ctl_exit_ok;
}

// "no jobs" when --all or the globs chose none: nothing to do is no failure.
bool nothing_chosen(const pg::JobsAt& jobs, const pg::CtlCommand& c, const pg::Selection& s,
                    bool json)
{
  const bool chosen_by_pattern = c.all || std::any_of(c.names.begin(), c.names.end(),
                                                      [](const auto& n) { return pg::is_glob(n); });
  if (!chosen_by_pattern || !s.names.empty() || !s.unmatched.empty()) {
    return false;
  }
  if (json) {
    fmt::print("[]\n");
  } else {
    fmt::print("no jobs{} in {}\n",
               c.all && jobs.dir && !jobs.dir->job_names().empty() ? " to act on" : "", jobs.path);
  }
  return true;
}

// up and down: on the jobs of a jobs file.
std::vector<pg::CtlResult> run_file(const pg::JobsAt& jobs, const pg::CtlCommand& c)
{
  const std::string file = c.file.empty() ? pg::default_jobs_file() : c.file;
  if (c.verb == pg::CtlVerb::Down) {
    auto out = pg::down_jobs(jobs, std::filesystem::absolute(file).lexically_normal(), c.names);
    if (out.empty() && !c.json) {
      fmt::print("no job of {} runs\n", file);
    }
    return out;
  }
  const pg::JobsFile jf = pg::read_jobs_file(file, jobs.path); // all checked before any start
  return pg::up_jobs(jobs, jf, c.names, {c.prune, c.force});
}

// The verb, on the jobs of the state directory.
int run(const pg::CtlCommand& c)
{
  const pg::JobsAt jobs = pg::open_jobs(pg::resolve_state_dir(c.state_dir));
  if (c.verb == pg::CtlVerb::Up || c.verb == pg::CtlVerb::Down) {
    const auto results = run_file(jobs, c);
    print(results, c.json);
    return pg::ctl_exit_status(results);
  }
  const std::string first = c.names.empty() ? std::string() : c.names.front();
  pg::Selection chosen = pg::select_jobs(jobs, c);
  if (nothing_chosen(jobs, c, chosen, c.json)) {
    return pg::k_ctl_exit_ok;
  }
  const std::vector<std::string>& names = chosen.names;
  std::vector<pg::CtlResult> results = std::move(chosen.unmatched);
  auto add = [&results](std::vector<pg::CtlResult> more) {
    std::move(more.begin(), more.end(), std::back_inserter(results));
  };
  switch (c.verb) {
  case pg::CtlVerb::Logs:
    return print_logs(pg::show_logs(jobs, first, c.logs, STDOUT_FILENO), first);
  case pg::CtlVerb::Unit:
  case pg::CtlVerb::Show:
    return print_unit(jobs, first, c.json, c.as);
  case pg::CtlVerb::Up:
  case pg::CtlVerb::Down:
    break;
  case pg::CtlVerb::Stop:
    add(pg::stop_jobs(jobs, names, c.timeout));
    break;
  case pg::CtlVerb::Restart:
    add(pg::restart_jobs(jobs, names));
    break;
  case pg::CtlVerb::Start:
    add(pg::start_jobs(jobs, names, {c.wait, c.update_env}));
    break;
  case pg::CtlVerb::Ack:
    add(pg::ack_jobs(jobs, names));
    break;
  case pg::CtlVerb::Forget:
    add(pg::forget_jobs(jobs, names));
    break;
  case pg::CtlVerb::Revive:
    add(pg::revive_jobs(jobs, names, {c.replace, c.scope, pg::self_exe()}));
    if (results.empty() && !c.json) {
      fmt::print("nothing to revive in {}\n", jobs.path);
    }
    break;
  case pg::CtlVerb::Signal:
    results.push_back(pg::signal_job(jobs, first, c.signal));
    break;
  }
  print(results, c.json);
  return pg::ctl_exit_status(results);
}

} // namespace

// pg-ctl: act on jobs through their supervisors. The command line becomes a CtlCommand
// (ctl_args.cc); one verb of ctl_actions runs and its results are printed. Every failure is a
// Failure with its exit status, reported here once.
int main(int argc, char** argv)
{
  try {
    const auto c = pg::parse_ctl_args(argc, argv);
    return c ? run(*c) : pg::k_ctl_exit_ok;
  } catch (const pg::Failure& f) {
    fmt::print(stderr, "pg-ctl: error: {}\n", f.what());
    if (!f.hint().empty()) {
      fmt::print(stderr, "{}\n", f.hint());
    }
    return f.status();
  } catch (const pg::StateDirError& e) {
    fmt::print(stderr, "pg-ctl: error: {}\n", e.what());
    return pg::k_ctl_exit_state_dir;
  } catch (const std::exception& e) {
    fmt::print(stderr, "pg-ctl: error: {}\n", e.what());
    return pg::k_ctl_exit_failed;
  }
}
