// pg-ls: lists jobs (table, one job's detail, JSON, health check). The command line, the
// reading of files and the exit statuses; what is printed is decided in ls_format.
#include "cgroup.h"
#include "failure.h"
#include "job_view.h"
#include "ls_files.h"
#include "ls_follow.h"
#include "ls_format.h"
#include "ls_history.h"
#include "ls_options.h"
#include "ls_timeline.h"
#include "ls_views.h"
#include "ls_watch.h"
#include "parse.h"
#include "state_dir.h"
#include "syscalls.h"
#include "tail.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using pg::LsOptions;

// Prints the whole listing with as few write(2)s as it takes, not through stdio's buffer;
// a failure throws as fmt::print does.
void write_out(std::string_view text)
{
  if (!pg::write_all(STDOUT_FILENO, text)) {
    pg::throw_errno("writing the listing");
  }
}

bool use_colour(pg::ColorMode mode)
{
  if (mode != pg::ColorMode::Auto) {
    return mode == pg::ColorMode::Always;
  }
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') {
    return false;
  }
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::string_view(term) == "dumb") {
    return false;
  }
  return ::isatty(STDOUT_FILENO) == 1;
}

// A named job that could be opened, with its directory kept for the detail view.
struct Found {
  pg::ListedJob job;
  std::optional<pg::JobDir> dir;
};

pg::JobView unreadable_job(const std::string& name, const std::string& error)
{
  pg::JobView v;
  v.name = name;
  v.error = error;
  v.shown = pg::RunState::Lost;
  return v;
}

// "no jobs in DIR", or with --state "no running or failed jobs in DIR".
std::string no_jobs_line(const std::string& path, const LsOptions& opt)
{
  std::string states;
  for (size_t i = 0; i < opt.view.states.size(); ++i) {
    states += (i == 0                            ? ""
               : i + 1 == opt.view.states.size() ? " or "
                                                 : ", ") +
              pg::to_string(opt.view.states[i]);
  }
  return fmt::format("no {}jobs in {}", states.empty() ? "" : states + " ", path);
}

// jobs (already filtered) sorted by --sort, as the table (or the line saying there is none).
std::string table_text(std::vector<pg::ListedJob>& jobs, const std::string& path,
                       const pg::LsStyle& style, const LsOptions& opt)
{
  pg::sort_jobs(jobs, opt.view.sort);
  return jobs.empty() ? no_jobs_line(path, opt) + "\n" : pg::render_table(jobs, style);
}

// jobs (already filtered) sorted by --sort, as the table or the --json array.
int print_jobs(std::vector<pg::ListedJob>& jobs, const std::string& path, const pg::LsStyle& style,
               const LsOptions& opt)
{
  if (opt.json) {
    pg::sort_jobs(jobs, opt.view.sort);
    std::string text = pg::jobs_json_text(jobs);
    text += '\n';
    write_out(text);
  } else {
    write_out(table_text(jobs, path, style, opt));
  }
  return pg::k_ls_exit_ok;
}

// A listing's step on its reading threads (for_each_prepared): a view as pg-ls lists it, when
// --state keeps it, measured: measure_tree() for the table, measure_memory() for --json (which
// shows no CPU figure but the task count). absent is kept over the listing.
std::function<std::optional<pg::ListedJob>(pg::JobView&&)> measured(const LsOptions& opt)
{
  auto absent = std::make_shared<pg::CgroupAbsentFiles>();
  return [&opt, absent](pg::JobView&& view) -> std::optional<pg::ListedJob> {
    pg::ListedJob job = pg::listed_job(std::move(view));
    if (!pg::state_matches(job, opt.view.states)) {
      return std::nullopt;
    }
    if (opt.json) {
      pg::measure_memory(job, absent.get());
    } else {
      pg::measure_tree(job, absent.get());
    }
    return job;
  };
}

// The table or the --json array of every job, each rendered as soon as it is read: a state
// directory of thousands of jobs is never held whole (unless --sort needs them all). The same
// text as run()'s other paths.
int list_all(const std::optional<pg::StateDir>& sd, const std::string& path, const LsOptions& opt)
{
  const pg::LsStyle style{pg::wall_now(), use_colour(opt.view.color)};
  if (opt.view.sort != pg::SortKey::Name) {
    std::vector<pg::ListedJob> jobs;
    if (sd) {
      pg::for_each_prepared<pg::ListedJob>(
          *sd, measured(opt), [&](pg::ListedJob&& job) { jobs.push_back(std::move(job)); });
    }
    return print_jobs(jobs, path, style, opt);
  }
  if (opt.json) {
    // Written in pieces of this much, as the jobs come.
    constexpr size_t k_flush_bytes = 256 * 1024;
    std::string text;
    text.reserve(k_flush_bytes + 8192);
    size_t count = 0;
    if (sd) {
      pg::for_each_prepared<pg::ListedJob>(*sd, measured(opt), [&](pg::ListedJob&& job) {
        pg::append_job_json(text, job, count++);
        if (text.size() >= k_flush_bytes) {
          write_out(text);
          text.clear();
        }
      });
    }
    pg::append_jobs_json_end(text, count);
    text += '\n';
    write_out(text);
    return pg::k_ls_exit_ok;
  }
  pg::TableBuilder table(style);
  if (sd) {
    pg::for_each_prepared<pg::ListedJob>(*sd, measured(opt),
                                         [&](pg::ListedJob&& job) { table.add(job); });
  }
  if (table.rows() == 0) {
    fmt::print("{}\n", no_jobs_line(path, opt));
    return pg::k_ls_exit_ok;
  }
  write_out(table.text());
  return pg::k_ls_exit_ok;
}

// The jobs asked for (every job when names is empty); the names not found go to missing.
std::vector<Found> find_jobs(const std::optional<pg::StateDir>& sd,
                             const std::vector<std::string>& names,
                             std::vector<std::string>& missing)
{
  std::vector<Found> found;
  if (names.empty()) {
    if (sd) {
      for (auto& view : pg::view_all(*sd)) {
        found.push_back({pg::listed_job(std::move(view)), std::nullopt});
      }
    }
  } else {
    for (const auto& name : names) {
      try {
        auto dir = sd ? sd->job(name, false) : std::nullopt;
        if (!dir) {
          missing.push_back(name);
          continue;
        }
        found.push_back({pg::listed_job(pg::view_job(*dir)), std::move(dir)});
      } catch (const pg::StateDirError& e) {
        found.push_back({pg::listed_job(unreadable_job(name, e.what())), std::nullopt});
      }
    }
  }
  return found;
}

// --events --follow: the jobs that appeared since the last look, followed from their start
// (when every job is followed: no name, no --state).
void discover_jobs(pg::FollowedJobs& jobs, const std::optional<pg::StateDir>& sd,
                   const LsOptions& opt)
{
  if (!sd || !opt.names.empty() || !opt.view.states.empty()) {
    return;
  }
  for (const auto& name : sd->job_names()) {
    if (std::none_of(jobs.begin(), jobs.end(),
                     [&](const auto& j) { return j->dir.name() == name; })) {
      try {
        if (auto dir = sd->job(name, false)) {
          jobs.push_back(std::make_unique<pg::FollowedJob>(std::move(*dir), name, true));
        }
      } catch (const pg::StateDirError&) {
        // Refused (a link, another user's): not followed, as --events skips it.
      }
    }
  }
}

// --events: the events of the jobs found, merged in time order; with --follow, then those
// that come, until SIGINT or SIGTERM.
void print_events(const std::vector<Found>& found, const std::optional<pg::StateDir>& sd,
                  const LsOptions& opt, pg::WallTime now)
{
  std::optional<pg::StopSignals> stop; // before anything is printed: no signal is missed
  pg::FollowedJobs followed;
  if (opt.view.follow) {
    stop.emplace();
  }
  std::optional<pg::WallTime> since;
  if (opt.since) {
    since = now - *opt.since;
  }
  std::vector<pg::JobEvent> events;
  for (const auto& f : found) {
    std::optional<pg::JobDir> dir;
    try {
      dir = f.dir ? std::nullopt : (sd ? sd->job(f.job.view.name, false) : std::nullopt);
      // Each tail is made before the history is read: an event in between is not lost.
      auto own = opt.view.follow && sd ? sd->job(f.job.view.name, false) : std::nullopt;
      if (own) {
        followed.push_back(
            std::make_unique<pg::FollowedJob>(std::move(*own), f.job.view.name, false));
      }
    } catch (const pg::StateDirError& e) {
      fmt::print(stderr, "pg-ls: {}: {}\n", f.job.view.name, e.what());
      continue;
    }
    const pg::JobDir* d = f.dir ? &*f.dir : dir ? &*dir : nullptr;
    if (d != nullptr) {
      auto got = pg::read_events(*d, since);
      events.insert(events.end(), std::make_move_iterator(got.begin()),
                    std::make_move_iterator(got.end()));
    }
  }
  pg::merge_events(events);
  if (stop) {
    // The header even without events yet; with --json, one object per line from the start.
    write_out(opt.json ? pg::follow_text(events, true) : pg::render_events(events));
    pg::follow_loop(
        *stop, followed, [&](pg::FollowedJobs& jobs) { discover_jobs(jobs, sd, opt); }, opt.json);
    return;
  }
  if (opt.json) {
    fmt::print("{}\n", pg::events_json(events).dump(
                           2, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  } else if (!events.empty()) {
    fmt::print("{}", pg::render_events(events));
  }
}

// --check: one line (or object) per job with a problem; true when there is one.
bool print_check(const std::vector<Found>& found, bool json)
{
  bool problem = false;
  nlohmann::ordered_json problems = nlohmann::ordered_json::array();
  for (const auto& f : found) {
    if (auto line = pg::check_problem(f.job)) {
      problem = true;
      if (json) {
        nlohmann::ordered_json j = pg::job_json(f.job);
        j["problem"] = *line;
        problems.push_back(std::move(j));
      } else {
        fmt::print("{}\n", *line);
      }
    }
  }
  if (json) {
    fmt::print("{}\n",
               problems.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  }
  return problem;
}

// --timeline: each job's bar over the last D, drawn from its events (and those just before).
void print_timeline(std::vector<Found>& found, const std::optional<pg::StateDir>& sd,
                    const std::string& path, const LsOptions& opt)
{
  std::vector<pg::ListedJob> jobs;
  for (auto& f : found) {
    jobs.push_back(std::move(f.job));
    if (opt.view.sort == pg::SortKey::Memory) {
      pg::measure_tree(jobs.back());
    }
  }
  pg::sort_jobs(jobs, opt.view.sort);
  const pg::TimelineStyle style{pg::wall_now(), *opt.view.timeline, pg::output_columns(),
                                use_colour(opt.view.color), pg::locale_is_utf8()};
  std::vector<pg::TimelineJob> rows;
  for (const auto& job : jobs) {
    pg::TimelineJob row{job.view.name, {}};
    try {
      if (auto dir = sd ? sd->job(job.view.name, false) : std::nullopt) {
        row.events = pg::read_events_around(*dir, style.now - style.window);
      }
    } catch (const pg::StateDirError& e) {
      fmt::print(stderr, "pg-ls: {}: {}\n", job.view.name, e.what());
    }
    rows.push_back(std::move(row));
  }
  if (!rows.empty()) {
    write_out(pg::render_timeline(rows, style));
  } else if (opt.names.empty()) {
    write_out(no_jobs_line(path, opt) + "\n");
  }
}

// The state directory at path, or nullopt when it does not exist (it holds no jobs).
std::optional<pg::StateDir> open_state_dir(const std::string& path)
{
  struct stat lst {};
  if (::lstat(path.c_str(), &lst) == 0 || errno != ENOENT) {
    return pg::StateDir::open(path, false); // refuses links, others' dirs, unreadable ones
  }
  return std::nullopt;
}

// --watch: the table of the jobs (every job, or the named ones) read again on each tick.
int watch(const std::string& path, const LsOptions& opt)
{
  const bool terminal = ::isatty(STDOUT_FILENO) == 1;
  auto render = [&] {
    const std::optional<pg::StateDir> sd = open_state_dir(path);
    std::vector<std::string> missing;
    std::vector<Found> found = find_jobs(sd, opt.names, missing);
    std::vector<pg::ListedJob> jobs;
    for (auto& f : found) {
      if (pg::state_matches(f.job, opt.view.states)) {
        jobs.push_back(std::move(f.job));
        pg::measure_tree(jobs.back());
      }
    }
    std::string text = table_text(jobs, path, {pg::wall_now(), use_colour(opt.view.color)}, opt);
    for (const auto& name : missing) {
      text += fmt::format("no job named '{}' in {}\n", name, path);
    }
    return text;
  };
  auto title = [&] {
    std::string command = "pg-ls";
    for (const auto& name : opt.names) {
      command += " " + name;
    }
    return fmt::format("Every {}: {}    {}", pg::format_duration(*opt.view.watch), command,
                       pg::format_local(pg::wall_now()));
  };
  pg::watch_loop(render, *opt.view.watch, terminal, title);
  return pg::k_ls_exit_ok;
}

int run(const LsOptions& opt)
{
  const std::string path = pg::resolve_state_dir(opt.state_dir);
  if (opt.view.watch) {
    return watch(path, opt);
  }
  std::optional<pg::StateDir> sd = open_state_dir(path);
  if (opt.names.empty() && !opt.events && !opt.prometheus && !opt.check && !opt.view.timeline) {
    return list_all(sd, path, opt);
  }

  std::vector<std::string> missing;
  std::vector<Found> found = find_jobs(sd, opt.names, missing);
  for (const auto& name : missing) {
    fmt::print(stderr, "pg-ls: no job named '{}' in {}\n", name, path);
  }
  int status = missing.empty() ? pg::k_ls_exit_ok : pg::k_ls_exit_problem;
  std::erase_if(found, [&](const Found& f) { return !pg::state_matches(f.job, opt.view.states); });
  if (opt.view.timeline) {
    print_timeline(found, sd, path, opt);
    return status;
  }

  const pg::LsStyle style{pg::wall_now(), use_colour(opt.view.color)};
  if (opt.events) {
    print_events(found, sd, opt, style.now);
    return status;
  }
  if (opt.prometheus) {
    std::vector<pg::ListedJob> jobs;
    for (const auto& f : found) {
      jobs.push_back(f.job);
    }
    fmt::print("{}", pg::render_prometheus(jobs, path));
    return status;
  }
  if (opt.check) {
    return print_check(found, opt.json) ? pg::k_ls_exit_problem : status;
  }
  if (opt.names.size() == 1 && found.size() == 1 && !opt.json) {
    const Found& f = found.front();
    pg::JobHistory history;
    if (f.dir) {
      history = pg::read_history(*f.dir, f.job.view);
    } else {
      history.readable = false;
    }
    fmt::print("{}", pg::render_detail(f.job, history, style));
    return status;
  }
  if (found.empty() && !opt.names.empty() && !opt.json) {
    return status;
  }
  std::vector<pg::ListedJob> jobs;
  for (auto& f : found) {
    jobs.push_back(std::move(f.job));
    if (!opt.json || opt.view.sort == pg::SortKey::Memory) {
      pg::measure_tree(jobs.back());
    } else {
      pg::measure_memory(jobs.back());
    }
  }
  print_jobs(jobs, path, style, opt);
  return status;
}

} // namespace

// The command line becomes LsOptions (ls_options.cc) and run() lists. Every failure is reported
// here once: a Failure with its exit status, anything else as a state directory that cannot be
// read (StateDirError and any other failure to read it).
int main(int argc, char** argv)
{
  pg::LsOptions opt;
  try {
    if (!pg::parse_ls_args(argc, argv, opt)) {
      return pg::k_ls_exit_ok; // --help, --version
    }
    return run(opt);
  } catch (const pg::Failure& f) {
    fmt::print(stderr, "pg-ls: error: {}\n", f.what());
    if (!f.hint().empty()) {
      fmt::print(stderr, "{}\n", f.hint());
    }
    return f.status();
  } catch (const std::exception& e) {
    fmt::print(stderr, "pg-ls: error: {}\n", e.what());
    return pg::k_ls_exit_state_dir;
  }
}
