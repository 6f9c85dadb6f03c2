// pg-ls: lists jobs (table, one job's detail, JSON, health check). The command line, the
// reading of files and the exit statuses; what is printed is decided in ls_format.
#include "job_view.h"
#include "ls_format.h"
#include "ls_history.h"
#include "parse.h"
#include "state_dir.h"
#include "syscalls.h"
#include "tail.h"

#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace {

constexpr int k_exit_ok = 0;
constexpr int k_exit_problem = 1;
constexpr int k_exit_usage = 2;
constexpr int k_exit_state_dir = 4;

// How much of the end of events.jsonl and of the log is read: never the whole file (both
// can be 10 MB and more). The events tail grows once when exits are sparse in it.
constexpr size_t k_tail_bytes = 64 * 1024;
constexpr size_t k_events_tail_max = 1024 * 1024;
// --events reads each events.jsonl file whole, up to this much of its end: the supervisor
// rotates past 10 MB, so only a damaged or planted file is longer, and memory stays bounded.
constexpr size_t k_events_file_max = 16 * 1024 * 1024;

const char* k_footer =
    R"(With one NAME: that job's detail (definition, pids, uptime, duration, last exits, output).
Exit status: 0 listed (with --check: every job healthy); 1 --check found a job with failures
since its last acknowledgement (pg-ctl ack), a failed or lost job, one stopped by a signal that
pg-ctl did not send (each unless acknowledged since), or a live one whose directory cannot be
written (recording suspended), or a named job does not exist; 2 usage;
4 the state directory cannot be read. Colour only on a terminal, never with NO_COLOR.
See pg-ls(1).)";

struct LsOptions {
  std::string state_dir;
  bool json = false;
  bool check = false;
  bool events = false;
  std::optional<pg::Millis> since; // --events --since D
  bool prometheus = false;
  std::vector<std::string> names;
};

// Opens a file of the job's directory for reading, never following a link.
pg::UniqueFd open_in_job(const pg::JobDir& dir, const std::string& file)
{
  return pg::UniqueFd(pg::retry_eintr([&] {
    return ::openat(dir.fd(), file.c_str(),
                    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  }));
}

// The last exits, from the tail of events.jsonl (and of events.jsonl.1 just after rotation).
std::vector<pg::ExitRecord> recent_exits(const pg::JobDir& dir)
{
  std::vector<pg::ExitRecord> exits;
  for (const char* file : {"events.jsonl", "events.jsonl.1"}) {
    pg::UniqueFd fd = open_in_job(dir, file);
    if (!fd) {
      break;
    }
    std::vector<pg::ExitRecord> found;
    bool whole = false;
    for (size_t bytes : {k_tail_bytes, k_events_tail_max}) {
      auto tail = pg::read_tail(fd.get(), bytes);
      if (!tail) {
        break;
      }
      found = pg::exits_from_events(tail->text, tail->starts_mid_line, pg::k_detail_exits);
      whole = tail->whole_file;
      if (found.size() >= pg::k_detail_exits || whole) {
        break;
      }
    }
    exits.insert(exits.begin(), found.begin(), found.end());
    if (exits.size() >= pg::k_detail_exits || !whole) {
      break;
    }
  }
  if (exits.size() > pg::k_detail_exits) {
    exits.erase(exits.begin(), exits.end() - static_cast<std::ptrdiff_t>(pg::k_detail_exits));
  }
  return exits;
}

// Opens the output log: inside the job's directory without following links; elsewhere (a
// --log FILE of the user's choosing) as the path says. Sets note when it cannot.
pg::UniqueFd open_log(const pg::JobDir& dir, const std::string& path, std::string& note)
{
  const std::string prefix = dir.path() + "/";
  pg::UniqueFd fd;
  if (path.starts_with(prefix) && path.find('/', prefix.size()) == std::string::npos) {
    fd = open_in_job(dir, path.substr(prefix.size()));
  } else {
    fd = pg::UniqueFd(pg::retry_eintr(
        [&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY); }));
  }
  if (!fd) {
    note = errno == ENOENT ? path + " does not exist (yet)"
                           : "cannot open " + path + ": " + std::strerror(errno);
  }
  return fd;
}

// The last output lines, from the tail of the log (and of LOG.1 just after rotation).
void recent_output(const pg::JobDir& dir, const std::string& log, pg::JobHistory& history)
{
  pg::UniqueFd fd = open_log(dir, log, history.log_note);
  if (!fd) {
    return;
  }
  auto tail = pg::read_tail(fd.get(), k_tail_bytes);
  if (!tail) {
    history.log_note = log + " is not a regular file";
    return;
  }
  history.log_lines = pg::last_log_lines(tail->text, tail->starts_mid_line, pg::k_detail_log_lines);
  if (history.log_lines.size() >= pg::k_detail_log_lines || !tail->whole_file) {
    return;
  }
  std::string ignored;
  pg::UniqueFd old = open_log(dir, log + ".1", ignored);
  auto old_tail = old ? pg::read_tail(old.get(), k_tail_bytes) : std::nullopt;
  if (!old_tail) {
    return;
  }
  auto older = pg::last_log_lines(old_tail->text, old_tail->starts_mid_line,
                                  pg::k_detail_log_lines - history.log_lines.size());
  history.log_lines.insert(history.log_lines.begin(), older.begin(), older.end());
}

// The job's events at or after since (all when nullopt), oldest first: events.jsonl and, going
// back, its rotations while they may hold events that recent.
std::vector<pg::JobEvent> read_events(const pg::JobDir& dir, std::optional<pg::WallTime> since)
{
  std::vector<pg::JobEvent> all;
  for (int i = 0; i <= 9; ++i) {
    const std::string file = i == 0 ? "events.jsonl" : fmt::format("events.jsonl.{}", i);
    pg::UniqueFd fd = open_in_job(dir, file);
    if (!fd) {
      break;
    }
    auto text = pg::read_tail(fd.get(), k_events_file_max);
    if (!text) {
      break;
    }
    if (text->starts_mid_line) {
      size_t nl = text->text.find('\n');
      text->text.erase(0, nl == std::string::npos ? text->text.size() : nl + 1);
    }
    std::vector<pg::JobEvent> got = pg::parse_events(text->text, dir.name(), std::nullopt);
    const bool older_needed = !since || (!got.empty() && got.front().at >= *since);
    if (since) {
      std::erase_if(got, [&](const pg::JobEvent& e) { return e.at < *since; });
    }
    all.insert(all.begin(), std::make_move_iterator(got.begin()),
               std::make_move_iterator(got.end()));
    if (!older_needed) {
      break;
    }
  }
  return all;
}

pg::JobHistory read_history(const pg::JobDir& dir, const pg::JobView& view)
{
  pg::JobHistory history;
  history.exits = recent_exits(dir);
  recent_output(dir, view.state ? view.state->definition.log : dir.path() + "/output.log", history);
  return history;
}

// Prints the whole listing with as few write(2)s as it takes, not through stdio's buffer;
// a failure throws as fmt::print does.
void write_out(std::string_view text)
{
  if (!pg::write_all(STDOUT_FILENO, text)) {
    pg::throw_errno("writing the listing");
  }
}

bool use_colour()
{
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

// The table or the --json array of every job, each rendered as soon as it is read: a state
// directory of thousands of jobs is never held whole. The same text as run()'s other paths.
int list_all(const std::optional<pg::StateDir>& sd, const std::string& path, bool json)
{
  const pg::LsStyle style{pg::wall_now(), use_colour()};
  if (json) {
    // Written in pieces of this much, as the jobs come.
    constexpr size_t k_flush_bytes = 256 * 1024;
    std::string text;
    text.reserve(k_flush_bytes + 8192);
    size_t count = 0;
    if (sd) {
      pg::for_each_view(*sd, [&](pg::JobView&& view) {
        pg::append_job_json(text, pg::listed_job(std::move(view)), count++);
        if (text.size() >= k_flush_bytes) {
          write_out(text);
          text.clear();
        }
      });
    }
    pg::append_jobs_json_end(text, count);
    text += '\n';
    write_out(text);
    return k_exit_ok;
  }
  pg::TableBuilder table(style);
  if (sd) {
    pg::for_each_view(*sd, [&](pg::JobView&& view) { table.add(pg::listed_job(std::move(view))); });
  }
  if (table.rows() == 0) {
    fmt::print("no jobs in {}\n", path);
    return k_exit_ok;
  }
  write_out(table.text());
  return k_exit_ok;
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

// --events: the events of the jobs found, merged in time order.
void print_events(const std::vector<Found>& found, const std::optional<pg::StateDir>& sd,
                  const LsOptions& opt, pg::WallTime now)
{
  std::optional<pg::WallTime> since;
  if (opt.since) {
    since = now - *opt.since;
  }
  std::vector<pg::JobEvent> events;
  for (const auto& f : found) {
    std::optional<pg::JobDir> dir;
    try {
      dir = f.dir ? std::nullopt : (sd ? sd->job(f.job.view.name, false) : std::nullopt);
    } catch (const pg::StateDirError& e) {
      fmt::print(stderr, "pg-ls: {}: {}\n", f.job.view.name, e.what());
      continue;
    }
    const pg::JobDir* d = f.dir ? &*f.dir : dir ? &*dir : nullptr;
    if (d != nullptr) {
      auto got = read_events(*d, since);
      events.insert(events.end(), std::make_move_iterator(got.begin()),
                    std::make_move_iterator(got.end()));
    }
  }
  pg::merge_events(events);
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

int run(const LsOptions& opt)
{
  const std::string path = pg::resolve_state_dir(opt.state_dir);
  std::optional<pg::StateDir> sd;
  struct stat lst {};
  if (::lstat(path.c_str(), &lst) == 0 || errno != ENOENT) {
    sd = pg::StateDir::open(path, false); // refuses links, others' dirs, unreadable ones
  }
  if (opt.names.empty() && !opt.events && !opt.prometheus && !opt.check) {
    return list_all(sd, path, opt.json);
  }

  std::vector<std::string> missing;
  std::vector<Found> found = find_jobs(sd, opt.names, missing);
  for (const auto& name : missing) {
    fmt::print(stderr, "pg-ls: no job named '{}' in {}\n", name, path);
  }
  int status = missing.empty() ? k_exit_ok : k_exit_problem;

  const pg::LsStyle style{pg::wall_now(), use_colour()};
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
    return print_check(found, opt.json) ? k_exit_problem : status;
  }
  if (opt.json) {
    std::vector<pg::ListedJob> jobs;
    jobs.reserve(found.size());
    for (auto& f : found) {
      jobs.push_back(std::move(f.job));
    }
    std::string text = pg::jobs_json_text(jobs);
    text += '\n';
    write_out(text);
    return status;
  }
  if (opt.names.size() == 1 && found.size() == 1) {
    const Found& f = found.front();
    pg::JobHistory history;
    if (f.dir) {
      history = read_history(*f.dir, f.job.view);
    } else {
      history.readable = false;
    }
    fmt::print("{}", pg::render_detail(f.job, history, style));
    return status;
  }
  if (found.empty()) {
    if (opt.names.empty()) {
      fmt::print("no jobs in {}\n", path);
    }
    return status;
  }
  std::vector<pg::ListedJob> jobs;
  for (auto& f : found) {
    jobs.push_back(std::move(f.job));
  }
  write_out(pg::render_table(jobs, style));
  return status;
}

// Each name checked, and kept once in the order given (duplicates would be listed twice);
// false, said on stderr, for a bad name.
bool check_names(std::vector<std::string>& names)
{
  std::vector<std::string> unique;
  for (const auto& name : names) {
    if (std::string why = pg::name_problem(name); !why.empty()) {
      fmt::print(stderr, "pg-ls: error: bad job name '{}': {}\n", pg::escape_control(name), why);
      return false;
    }
    if (std::find(unique.begin(), unique.end(), name) == unique.end()) {
      unique.push_back(name);
    }
  }
  names = std::move(unique);
  return true;
}

} // namespace

int main(int argc, char** argv)
{
  CLI::App app{"List process-guardian jobs: a table, one job's detail, JSON, or a health check.",
               "pg-ls"};
  app.footer(k_footer);
  app.set_version_flag("--version", std::string("pg-ls ") + PG_VERSION);

  LsOptions opt;
  app.add_option("--state-dir", opt.state_dir,
                 "state directory [$PG_STATE_DIR, $XDG_STATE_HOME/pg, ~/.local/state/pg]")
      ->type_name("DIR");
  app.add_flag("--json", opt.json, "print a JSON array of objects, one per job");
  app.add_flag("--check", opt.check,
               "only jobs needing attention (failures not yet acked, failed, lost); exit 1 if any");
  app.add_flag("--events", opt.events,
               "the history of the jobs (or of those named), merged, newest last");
  std::string since_text;
  CLI::Option* since_opt =
      app.add_option("--since", since_text, "with --events: only the last D (30m, 2h, 1d)")
          ->type_name("DURATION");
  app.add_flag("--prometheus", opt.prometheus,
               "metrics in the Prometheus text format (node_exporter's textfile collector)");
  app.add_option("NAME", opt.names, "jobs to show [all]")->type_name("");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    fmt::print("{}", app.help());
    return k_exit_ok;
  } catch (const CLI::CallForVersion&) {
    fmt::print("pg-ls {}\n", PG_VERSION);
    return k_exit_ok;
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "pg-ls: error: {}\nTry 'pg-ls --help'.\n", e.what());
    return k_exit_usage;
  }

  auto usage = [](const std::string& why) {
    fmt::print(stderr, "pg-ls: error: {}\nTry 'pg-ls --help'.\n", why);
    return k_exit_usage;
  };
  if (since_opt->count() > 0) {
    if (!opt.events) {
      return usage("--since needs --events");
    }
    opt.since = pg::parse_duration(since_text);
    if (!opt.since && pg::duration_too_long(since_text)) {
      return usage(pg::duration_too_long_error("--since", since_text));
    }
    if (!opt.since) {
      return usage(fmt::format("--since: '{}' is not a duration (use 30m, 2h, 1d)", since_text));
    }
  }
  if (static_cast<int>(opt.events) + static_cast<int>(opt.prometheus) +
          static_cast<int>(opt.check) >
      1) {
    return usage("--events, --prometheus and --check are different views: pick one");
  }
  if (opt.prometheus && opt.json) {
    return usage("--prometheus prints the Prometheus text format; it has no --json form");
  }

  if (!check_names(opt.names)) {
    return k_exit_usage;
  }
  try {
    return run(opt);
  } catch (const std::exception& e) {
    // StateDirError and any other failure to read: the state directory cannot be read.
    fmt::print(stderr, "pg-ls: error: {}\n", e.what());
    return k_exit_state_dir;
  }
}
