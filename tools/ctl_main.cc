// pg-ctl: act on jobs through their supervisors. Parses the command line, runs one verb of
// ctl_actions and prints its results; nothing else.
#include "ctl_actions.h"
#include "ctl_forget.h"
#include "ctl_logs.h"
#include "ctl_revive.h"
#include "ctl_scope.h"
#include "ctl_unit.h"
#include "job_view.h"
#include "parse.h"
#include "signals.h"
#include "state_dir.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

namespace {

const char* k_footer =
    R"(Verbs:
  stop NAME... [--timeout D]  graceful stop (SIGKILL after D, default the job's --stop-timeout);
                              waits for the end
  restart NAME...             planned restart; waits for the new run
  signal NAME SIG             forward SIG (USR1, SIGUSR1, 10) to the job's main process
  revive [NAME...] [--replace] [--scope]
                              start again every lost job and every job stopped by a signal
                              pg-ctl did not send (or the named ones), from its recorded
                              definition, keeping its --duration deadline; --replace first
                              ends processes of a lost job's old run (SIGKILL); --scope starts
                              each in a systemd user scope of its own (systemd-run --user
                              --scope), or in pg-ctl's cgroup when none can be made
  unit NAME                   print the systemd user unit closest to the job's definition
                              (what systemd cannot express is said in comments)
  forget NAME...              remove an ended job's state (state.json, events, the default log),
                              so the name starts again with an empty history; refuses a job
                              that runs, or a lost one whose processes still live
  logs NAME [-n N] [-f]       the last N lines (default 10) of the job's output log, taken from
                              its rotated files (LOG.1, ...) too when LOG holds fewer; -f then
                              follows it across rotations until the job's supervisor exits, or
                              ^C. --json (not with -f): one object {name, log, lines}
Every action checks the supervisor's identity (boot id, pid, start time) before it signals.
Exit status: 0 done for every named job; 1 a job was not running, unknown, or the action failed
or timed out (said on stderr); 2 usage; 4 the state directory cannot be read. For logs, a job
that is not running is not an error; 1 means an unknown job or a missing or unreadable log.
Durations: 250ms, 90s, 30m, 8h, 2d, 1h30m (a bare number is seconds). See pg-ctl(1).)";

std::vector<std::string> checked_names(const std::vector<std::string>& names)
{
  for (const auto& n : names) {
    if (auto why = pg::name_problem(n); !why.empty()) {
      throw pg::CtlUsageError(
          fmt::format("'{}' is not a job name: {}", pg::escape_control(n), why));
    }
  }
  return pg::unique_names(names);
}

// The first argument that is neither an option nor --state-dir's value: the verb as typed.
std::optional<std::string> first_word(int argc, char** argv)
{
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--state-dir") {
      ++i;
    } else if (a.empty() || a[0] != '-') {
      return a;
    }
  }
  return std::nullopt;
}

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

// pg-ctl unit NAME: from the recorded definition, whatever the job's state.
int print_unit(const pg::JobsAt& jobs, const std::string& name, bool json)
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
  const std::string text = pg::systemd_unit(*v.state, source);
  if (json) {
    nlohmann::json out = {{"name", name}, {"source", source}, {"unit", text}};
    fmt::print("{}\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    fmt::print("{}", text);
  }
  return pg::k_ctl_exit_ok;
}

} // namespace

int main(int argc, char** argv)
{
  CLI::App app{"Act on jobs started by pg-run, through their supervisors.", "pg-ctl"};
  app.set_version_flag("--version", std::string("pg-ctl ") + PG_VERSION);
  app.require_subcommand(1);
  app.fallthrough(); // --state-dir and --json are accepted after the verb as well
  std::string state_dir;
  bool json = false;
  app.add_option("--state-dir", state_dir, "state directory [$PG_STATE_DIR, ~/.local/state/pg]");
  app.add_flag("--json", json,
               "print one JSON object per named job, in an array (logs: one object)");

  std::vector<std::string> stop_names, restart_names;
  std::string timeout_text, signal_name_arg, signal_text;
  CLI::App* stop = app.add_subcommand("stop", "stop jobs gracefully and wait for their end");
  stop->add_option("NAME", stop_names, "job names")->required();
  stop->add_option("--timeout", timeout_text, "time before SIGKILL [the job's --stop-timeout]");
  CLI::App* restart = app.add_subcommand("restart", "planned restart; waits for the new run");
  restart->add_option("NAME", restart_names, "job names")->required();
  CLI::App* signal = app.add_subcommand("signal", "forward a signal to a job's main process");
  signal->add_option("NAME", signal_name_arg, "job name")->required();
  signal->add_option("SIG", signal_text, "signal: USR1, SIGUSR1 or 10")->required();
  std::vector<std::string> forget_names;
  CLI::App* forget = app.add_subcommand("forget", "remove ended jobs' state and history");
  forget->add_option("NAME", forget_names, "job names")->required();
  std::vector<std::string> revive_names;
  bool revive_replace = false;
  bool revive_scope = false;
  CLI::App* revive =
      app.add_subcommand("revive", "start lost jobs and jobs stopped from outside again");
  revive->add_option("NAME", revive_names, "job names [every revivable job]");
  revive->add_flag("--replace", revive_replace,
                   "end the processes of a lost job's old run first (SIGKILL)");
  revive->add_flag(
      "--scope", revive_scope,
      "each revived supervisor in a systemd user scope of its own (pg-revive.service)");
  std::string unit_name;
  CLI::App* unit = app.add_subcommand("unit", "print an equivalent systemd unit for a job");
  unit->add_option("NAME", unit_name, "job name")->required();
  std::string logs_name, lines_text;
  bool follow = false;
  CLI::App* logs =
      app.add_subcommand("logs", "show the last lines of a job's output, or follow it");
  logs->add_option("NAME", logs_name, "job name")->required();
  CLI::Option* lines_opt =
      logs->add_option("-n,--lines", lines_text, "lines to show (0 = none) [10]")->type_name("N");
  logs->add_flag("-f,--follow", follow, "then print what is appended, until the job ends");
  app.footer(k_footer);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    fmt::print("{}", app.help());
    return pg::k_ctl_exit_ok;
  } catch (const CLI::CallForVersion&) {
    fmt::print("pg-ctl {}\n", PG_VERSION);
    return pg::k_ctl_exit_ok;
  } catch (const CLI::ParseError& e) {
    std::string why = e.what();
    if (app.get_subcommands().empty()) {
      if (auto verb = first_word(argc, argv)) {
        why = fmt::format("unknown verb '{}' (stop, restart, signal, logs, forget, revive, unit)",
                          *verb);
      }
    }
    fmt::print(stderr, "pg-ctl: error: {}\nTry 'pg-ctl --help'.\n", why);
    return pg::k_ctl_exit_usage;
  }

  try {
    std::optional<pg::Millis> timeout;
    if (!timeout_text.empty()) {
      timeout = pg::parse_duration(timeout_text);
      if (!timeout && pg::duration_too_long(timeout_text)) {
        throw pg::CtlUsageError(
            fmt::format("--timeout: at most {}", pg::format_duration(pg::k_max_stop_timeout)));
      }
      if (!timeout) {
        throw pg::CtlUsageError(fmt::format(
            "--timeout: '{}' is not a duration (use 250ms, 90s, 30m, 8h, 1h30m)", timeout_text));
      }
      if (!pg::stop_request_arg(timeout)) {
        throw pg::CtlUsageError(
            fmt::format("--timeout: at most {}", pg::format_duration(pg::k_max_stop_timeout)));
      }
    }
    std::optional<int> sig;
    if (signal->parsed()) {
      sig = pg::parse_signal(signal_text);
      if (!sig) {
        throw pg::CtlUsageError(
            fmt::format("'{}' is not a signal (use USR1, SIGUSR1 or 10)", signal_text));
      }
    }
    pg::LogsOptions logs_opt;
    if (logs->parsed()) {
      if (lines_opt->count() > 0) {
        auto n = pg::parse_line_count(lines_text);
        if (!n) {
          throw pg::CtlUsageError(fmt::format("-n: '{}' is not a number of lines", lines_text));
        }
        logs_opt.lines = *n;
      }
      if (follow && json) {
        throw pg::CtlUsageError("logs: --json prints the last lines once; it cannot follow (-f)");
      }
      logs_opt.follow = follow;
      logs_opt.json = json;
    }
    std::vector<std::string> names =
        checked_names(stop->parsed()      ? stop_names
                      : restart->parsed() ? restart_names
                      : forget->parsed()  ? forget_names
                      : revive->parsed()  ? revive_names
                      : unit->parsed()    ? std::vector<std::string>{unit_name}
                      : logs->parsed()    ? std::vector<std::string>{logs_name}
                                          : std::vector<std::string>{signal_name_arg});

    const pg::JobsAt jobs = pg::open_jobs(pg::resolve_state_dir(state_dir));
    if (logs->parsed()) {
      return print_logs(pg::show_logs(jobs, names.front(), logs_opt, STDOUT_FILENO), names.front());
    }
    if (unit->parsed()) {
      return print_unit(jobs, names.front(), json);
    }
    std::vector<pg::CtlResult> results;
    if (stop->parsed()) {
      results = pg::stop_jobs(jobs, names, timeout);
    } else if (restart->parsed()) {
      results = pg::restart_jobs(jobs, names);
    } else if (forget->parsed()) {
      results = pg::forget_jobs(jobs, names);
    } else if (revive->parsed()) {
      results = pg::revive_jobs(jobs, names, {revive_replace, revive_scope, pg::self_exe()});
      if (results.empty() && !json) {
        fmt::print("nothing to revive in {}\n", jobs.path);
      }
    } else {
      results.push_back(pg::signal_job(jobs, names.front(), *sig));
    }
    print(results, json);
    return pg::ctl_exit_status(results);
  } catch (const pg::CtlUsageError& e) {
    fmt::print(stderr, "pg-ctl: error: {}\n", e.what());
    return pg::k_ctl_exit_usage;
  } catch (const pg::StateDirError& e) {
    fmt::print(stderr, "pg-ctl: error: {}\n", e.what());
    return pg::k_ctl_exit_state_dir;
  } catch (const std::exception& e) {
    fmt::print(stderr, "pg-ctl: error: {}\n", e.what());
    return pg::k_ctl_exit_failed;
  }
}
