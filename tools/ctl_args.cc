#include "ctl_args.h"

#include "cli_parse.h"
#include "ctl_actions.h"
#include "ctl_select.h"
#include "parse.h"
#include "signals.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace pg {

namespace {

const char* k_footer =
    R"(Verbs:
  stop NAME...|--all [--timeout D]
                              graceful stop (SIGKILL after D, default the job's --stop-timeout);
                              waits for the end; --all: every live job
  restart NAME...|--all       planned restart; waits for the new run; --all: every live job
  start NAME...|--all [--wait D] [--update-env]
                              start an ended job again from its recorded definition and launch
                              environment, as pg-run would (a live one is left alone); --wait as
                              pg-run's; --update-env: pg-ctl's environment becomes the job's;
                              --all: every ended job that did not complete
  signal NAME SIG             forward SIG (USR1, SIGUSR1, 10) to the job's main process
  ack NAME...|--all           acknowledge the job's failures up to now (its failed, lost or
                              outside-stopped state included): pg-ls --check is quiet about
                              them until something new happens
  revive [NAME...] [--replace] [--scope]
                              start again every lost job and every job stopped by a signal
                              pg-ctl did not send (or the named ones), from its recorded
                              definition, keeping its --duration deadline; --replace first
                              ends processes of a lost job's old run (SIGKILL); --scope starts
                              each in a systemd user scope of its own (systemd-run --user
                              --scope), or in pg-ctl's cgroup when none can be made
  up [-f FILE] [--prune] [--force] [NAME...]
                              start the jobs of a jobs file (./pg.toml, else ./Procfile) that
                              do not run; replace those whose definition changed; a job of
                              another file or launched by hand is left alone unless --force;
                              --prune stops the file's jobs that left it
  down [-f FILE] [NAME...]    stop the jobs recorded as coming from the file
  show NAME [--as toml|pg-run|unit]
                              the recorded definition as a jobs-file table, as the pg-run
                              command line that recreates it, or as a systemd unit
  unit NAME                   print the systemd user unit closest to the job's definition
                              (what systemd cannot express is said in comments)
  forget NAME...              remove an ended job's state (state.json, events, the default log),
                              so the name starts again with an empty history; refuses a job
                              that runs, or a lost one whose processes still live
  logs NAME [-n N] [-f]       the last N lines (default 10) of the job's output log, taken from
                              its rotated files (LOG.1, ...) too when LOG holds fewer; -f then
                              follows it across rotations until the job's supervisor exits, or
                              ^C. --json (not with -f): one object {name, log, lines}
A NAME may be a shell glob ('bot-*', quoted): the jobs it matches that the verb is for.
Every action checks the supervisor's identity (boot id, pid, start time) before it signals.
Exit status: 0 done for every named job; 1 a job was not running, unknown, or the action failed
or timed out (said on stderr); 2 usage; 4 the state directory cannot be read. For logs, a job
that is not running is not an error; 1 means an unknown job or a missing or unreadable log.
Durations: 250ms, 90s, 30m, 8h, 2d, 1h30m (a bare number is seconds). See pg-ctl(1).)";

Failure usage(const std::string& message)
{
  return Failure(k_ctl_exit_usage, message);
}

std::vector<std::string> checked_names(const std::vector<std::string>& names, bool globs)
{
  for (const auto& n : names) {
    if (globs && is_glob(n)) {
      if (n.find('/') != std::string::npos || escape_control(n) != n) {
        throw usage(fmt::format("'{}' is not a job name pattern", escape_control(n)));
      }
      continue;
    }
    if (auto why = name_problem(n); !why.empty()) {
      throw usage(fmt::format("'{}' is not a job name: {}", escape_control(n), why));
    }
  }
  return unique_names(names);
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

std::optional<Millis> stop_timeout(const std::string& text)
{
  if (text.empty()) {
    return std::nullopt;
  }
  const auto timeout = parse_duration(text);
  if (!timeout && !duration_too_long(text)) {
    throw usage(
        fmt::format("--timeout: '{}' is not a duration (use 250ms, 90s, 30m, 8h, 1h30m)", text));
  }
  if (!timeout || !stop_request_arg(timeout)) {
    throw usage(fmt::format("--timeout: at most {}", format_duration(k_max_stop_timeout)));
  }
  return timeout;
}

// What the verbs leave as text for the checks after parsing.
struct Raw {
  std::vector<std::string> names;
  std::string name, timeout, signal, lines, wait;
  bool follow = false;
  CLI::Option* lines_opt = nullptr;
};

void declare(CLI::App& app, CtlCommand& c, Raw& raw)
{
  app.add_option("--state-dir", c.state_dir,
                 "state directory [$PG_STATE_DIR, $XDG_STATE_HOME/pg, ~/.local/state/pg]")
      ->type_name("DIR");
  app.add_flag("--json", c.json,
               "print one JSON object per named job, in an array (logs: one object)");
  CLI::App* stop = app.add_subcommand("stop", "stop jobs gracefully and wait for their end");
  stop->add_option("NAME", raw.names, "job names or globs")->type_name("");
  stop->add_flag("--all", c.all, "every live job");
  stop->add_option("--timeout", raw.timeout, "time before SIGKILL [the job's --stop-timeout]")
      ->type_name("DURATION");
  CLI::App* restart = app.add_subcommand("restart", "planned restart; waits for the new run");
  restart->add_option("NAME", raw.names, "job names or globs")->type_name("");
  restart->add_flag("--all", c.all, "every live job");
  CLI::App* start =
      app.add_subcommand("start", "start ended jobs again from their recorded definition");
  start->add_option("NAME", raw.names, "job names or globs")->type_name("");
  start->add_flag("--all", c.all, "every ended job that did not complete");
  start
      ->add_option("--wait", raw.wait,
                   "wait up to D for each job to stay up, as pg-run --wait [0: no wait]")
      ->type_name("DURATION");
  start->add_flag("--update-env", c.update_env,
                  "the job's launch environment becomes pg-ctl's own (kept for later starts)");
  CLI::App* signal = app.add_subcommand("signal", "forward a signal to a job's main process");
  signal->add_option("NAME", raw.name, "job name")->type_name("")->required();
  signal->add_option("SIG", raw.signal, "signal: USR1, SIGUSR1 or 10")->type_name("")->required();
  CLI::App* ack =
      app.add_subcommand("ack", "acknowledge jobs' failures, so pg-ls --check is quiet about them");
  ack->add_option("NAME", raw.names, "job names or globs")->type_name("");
  ack->add_flag("--all", c.all, "every job");
  CLI::App* forget = app.add_subcommand("forget", "remove ended jobs' state and history");
  forget->add_option("NAME", raw.names, "job names")->type_name("")->required();
  CLI::App* revive =
      app.add_subcommand("revive", "start lost jobs and jobs stopped from outside again");
  revive->add_option("NAME", raw.names, "job names [every revivable job]")->type_name("");
  revive->add_flag("--replace", c.replace,
                   "end the processes of a lost job's old run first (SIGKILL)");
  revive->add_flag(
      "--scope", c.scope,
      "each revived supervisor in a systemd user scope of its own (pg-revive.service)");
  CLI::App* unit = app.add_subcommand("unit", "print an equivalent systemd unit for a job");
  unit->add_option("NAME", raw.name, "job name")->type_name("")->required();
  CLI::App* up = app.add_subcommand("up", "start a jobs file's jobs; replace the changed ones");
  up->add_option("NAME", raw.names, "job names of the file [all]")->type_name("");
  up->add_option("-f,--file", c.file, "the jobs file [./pg.toml, else ./Procfile]")
      ->type_name("FILE");
  up->add_flag("--prune", c.prune, "stop the file's running jobs that left it");
  up->add_flag("--force", c.force, "replace a job of another file or launched by hand");
  CLI::App* down = app.add_subcommand("down", "stop the jobs that came from a jobs file");
  down->add_option("NAME", raw.names, "job names of the file [all]")->type_name("");
  down->add_option("-f,--file", c.file, "the jobs file [./pg.toml, else ./Procfile]")
      ->type_name("FILE");
  CLI::App* show = app.add_subcommand("show", "print a job's recorded definition");
  show->add_option("NAME", raw.name, "job name")->type_name("")->required();
  show->add_option("--as", c.as, "toml, pg-run or unit [toml]")->type_name("FORM");
  CLI::App* logs =
      app.add_subcommand("logs", "show the last lines of a job's output, or follow it");
  logs->add_option("NAME", raw.name, "job name")->type_name("")->required();
  raw.lines_opt =
      logs->add_option("-n,--lines", raw.lines, "lines to show (0 = none) [10]")->type_name("N");
  logs->add_flag("-f,--follow", raw.follow, "then print what is appended, until the job ends");
}

CtlVerb verb_of(const std::string& name)
{
  static const std::pair<const char*, CtlVerb> k_verbs[] = {
      {"stop", CtlVerb::Stop},     {"restart", CtlVerb::Restart}, {"start", CtlVerb::Start},
      {"signal", CtlVerb::Signal}, {"ack", CtlVerb::Ack},         {"forget", CtlVerb::Forget},
      {"revive", CtlVerb::Revive}, {"unit", CtlVerb::Unit},       {"logs", CtlVerb::Logs},
      {"up", CtlVerb::Up},         {"down", CtlVerb::Down},       {"show", CtlVerb::Show}};
  for (const auto& [n, v] : k_verbs) {
    if (name == n) {
      return v;
    }
  }
  throw usage("unknown verb '" + name + "'");
}

// The checks CLI11 leaves to us, and the values kept as text.
void complete(CtlCommand& c, const Raw& raw)
{
  const bool one_name = c.verb == CtlVerb::Signal || c.verb == CtlVerb::Unit ||
                        c.verb == CtlVerb::Logs || c.verb == CtlVerb::Show;
  const bool file_names = c.verb == CtlVerb::Up || c.verb == CtlVerb::Down;
  c.timeout = stop_timeout(raw.timeout);
  if (c.verb == CtlVerb::Signal) {
    const auto sig = parse_signal(raw.signal);
    if (!sig) {
      throw usage(fmt::format("'{}' is not a signal (use USR1, SIGUSR1 or 10)", raw.signal));
    }
    c.signal = *sig;
  }
  if (c.verb == CtlVerb::Logs) {
    if (raw.lines_opt->count() > 0) {
      const auto n = parse_line_count(raw.lines);
      if (!n) {
        throw usage(fmt::format("-n: '{}' is not a number of lines", raw.lines));
      }
      c.logs.lines = *n;
    }
    if (raw.follow && c.json) {
      throw usage("logs: --json prints the last lines once; it cannot follow (-f)");
    }
    c.logs.follow = raw.follow;
    c.logs.json = c.json;
  }
  if (!raw.wait.empty()) {
    const auto wait = parse_duration(raw.wait);
    if (!wait) {
      throw usage(
          fmt::format("--wait: '{}' is not a duration (use 250ms, 90s, 30m, 8h, 1h30m)", raw.wait));
    }
    c.wait = *wait;
  }
  const bool takes_all = c.verb == CtlVerb::Stop || c.verb == CtlVerb::Restart ||
                         c.verb == CtlVerb::Start || c.verb == CtlVerb::Ack;
  if (takes_all && c.all == !raw.names.empty()) {
    throw usage(c.all ? "name jobs or give --all, not both" : "name a job, or give --all");
  }
  c.names = checked_names(one_name ? std::vector<std::string>{raw.name} : raw.names,
                          !one_name && !file_names);
  if (c.verb == CtlVerb::Unit) {
    c.as = "unit";
  }
  if (c.as != "toml" && c.as != "pg-run" && c.as != "unit") {
    throw usage(fmt::format("--as: '{}' is not toml, pg-run or unit", escape_control(c.as)));
  }
}

} // namespace

std::optional<CtlCommand> parse_ctl_args(int argc, char** argv)
{
  CLI::App app{"Act on jobs started by pg-run, through their supervisors.", "pg-ctl"};
  app.set_version_flag("--version", std::string("pg-ctl ") + PG_VERSION);
  app.require_subcommand(1);
  app.fallthrough(); // --state-dir and --json are accepted after the verb as well
  app.footer(k_footer);
  CtlCommand c;
  Raw raw;
  declare(app, c, raw);
  try {
    if (!parse_cli(app, argc, argv, "pg-ctl")) {
      return std::nullopt;
    }
  } catch (const CLI::ParseError& e) {
    std::string why = e.what();
    if (app.get_subcommands().empty()) {
      if (auto verb = first_word(argc, argv)) {
        why = fmt::format(
            "unknown verb '{}' (stop, restart, start, signal, ack, logs, forget, revive, unit, "
            "show, up, down)",
            *verb);
      }
    }
    throw Failure(k_ctl_exit_usage, why, "Try 'pg-ctl --help'.");
  }
  c.verb = verb_of(app.get_subcommands().front()->get_name());
  complete(c, raw);
  return c;
}

} // namespace pg
