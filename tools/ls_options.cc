#include "ls_options.h"

#include "cli_parse.h"
#include "failure.h"
#include "ls_watch.h"
#include "parse.h"

#include <fmt/format.h>

#include <algorithm>

namespace pg {

namespace {

const char* k_footer =
    R"(With one NAME: that job's detail (definition, pids, uptime, duration, last exits, output).
Exit status: 0 listed (with --check: every job healthy); 1 --check found a job with failures
since its last acknowledgement (pg-ctl ack), a failed or lost job, one stopped by a signal that
pg-ctl did not send (each unless acknowledged since), or a live one whose directory cannot be
written (recording suspended), or a named job does not exist; 2 usage;
4 the state directory cannot be read. Colour only on a terminal, never with NO_COLOR.
See pg-ls(1).)";

Failure usage(const std::string& why)
{
  return Failure(k_ls_exit_usage, why, "Try 'pg-ls --help'.");
}

// Each name checked, and kept once in the order given (duplicates would be listed twice).
void check_names(std::vector<std::string>& names)
{
  std::vector<std::string> unique;
  for (const auto& name : names) {
    if (std::string why = name_problem(name); !why.empty()) {
      throw Failure(k_ls_exit_usage,
                    fmt::format("bad job name '{}': {}", escape_control(name), why));
    }
    if (std::find(unique.begin(), unique.end(), name) == unique.end()) {
      unique.push_back(name);
    }
  }
  names = std::move(unique);
}

// --since D: only with --events.
void check_since(const CLI::Option& option, const std::string& text, LsOptions& opt)
{
  if (option.count() == 0) {
    return;
  }
  if (!opt.events) {
    throw usage("--since needs --events");
  }
  opt.since = parse_duration(text);
  if (!opt.since && duration_too_long(text)) {
    throw usage(duration_too_long_error("--since", text));
  }
  if (!opt.since) {
    throw usage(fmt::format("--since: '{}' is not a duration (use 30m, 2h, 1d)", text));
  }
}

} // namespace

bool parse_ls_args(int argc, char** argv, LsOptions& opt)
{
  CLI::App app{"List process-guardian jobs: a table, one job's detail, JSON, or a health check.",
               "pg-ls"};
  app.footer(k_footer);
  app.set_version_flag("--version", std::string("pg-ls ") + PG_VERSION);
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
  ViewArgs view_args;
  add_view_options(app, view_args);
  app.add_option("NAME", opt.names, "jobs to show [all]")->type_name("");
  try {
    if (!parse_cli(app, argc, argv, "pg-ls")) {
      return false;
    }
  } catch (const CLI::ParseError& e) {
    throw usage(e.what());
  }
  check_since(*since_opt, since_text, opt);
  if (int(opt.events) + int(opt.prometheus) + int(opt.check) > 1) {
    throw usage("--events, --prometheus and --check are different views: pick one");
  }
  if (opt.prometheus && opt.json) {
    throw usage("--prometheus prints the Prometheus text format; it has no --json form");
  }
  if (std::string why = apply_view_options(
          view_args, {opt.json, opt.check, opt.events, opt.prometheus}, opt.view);
      !why.empty()) {
    throw usage(why);
  }
  check_names(opt.names);
  return true;
}

void add_view_options(CLI::App& app, ViewArgs& args)
{
  args.state_opt =
      app.add_option("--state", args.states,
                     "only the jobs in these states (a comma-separated list: running,failed)");
  args.state_opt->type_name("STATE[,STATE...]");
  app.add_option("--sort", args.sort,
                 "order: name, state, or largest first uptime, restarts, memory [name]")
      ->type_name("KEY");
  args.watch_opt = app.add_option("--watch", args.watch,
                                  "the table again every D, in place on a terminal (seconds, or "
                                  "250ms, 1m) until Ctrl-C [2]")
                       ->expected(0, 1)
                       ->type_name("[DURATION]");
  app.add_option(
         "--color", args.color,
         "colour the STATE column: auto (a terminal without NO_COLOR), always, never [auto]")
      ->type_name("WHEN");
  app.add_flag("--follow", args.follow,
               "with --events: then print the events as they come, until Ctrl-C");
  args.timeline_opt = app.add_option("--timeline", args.timeline,
                                     "each job's runs over the last D as a bar, with a time axis "
                                     "(30m, 6h, 7d) [24h]")
                          ->expected(0, 1)
                          ->type_name("[DURATION]");
}

namespace {

std::string check_watch(const ViewArgs& args, const OtherViews& other, ViewOptions& view)
{
  if (args.watch_opt->count() == 0) {
    return "";
  }
  if (other.json || other.check || other.events || other.prometheus) {
    return "--watch redraws the table: not with --json, --check, --events or --prometheus";
  }
  view.watch = args.watch.empty() ? std::optional(Millis(2000)) : parse_watch_interval(args.watch);
  if (!view.watch) {
    return fmt::format("--watch: '{}' is not an interval of at least 0.1s (2, 0.5, 250ms, 1m)",
                       escape_control(args.watch));
  }
  return "";
}

std::string check_timeline(const ViewArgs& args, const OtherViews& other, ViewOptions& view)
{
  if (args.timeline_opt->count() == 0) {
    return "";
  }
  if (other.json || other.check || other.events || other.prometheus || view.watch) {
    return "--timeline draws bars: not with --json, --check, --events, --prometheus or --watch";
  }
  if (args.timeline.empty()) {
    view.timeline = std::chrono::hours(24);
    return "";
  }
  view.timeline = parse_duration(args.timeline);
  if (!view.timeline && duration_too_long(args.timeline)) {
    return duration_too_long_error("--timeline", escape_control(args.timeline));
  }
  if (!view.timeline || *view.timeline < Millis(1000)) {
    view.timeline.reset();
    return fmt::format("--timeline: '{}' is not a duration of at least 1s (30m, 6h, 7d)",
                       escape_control(args.timeline));
  }
  return "";
}

} // namespace

std::string apply_view_options(const ViewArgs& args, const OtherViews& other, ViewOptions& view)
{
  if (args.state_opt->count() > 0) {
    StateFilter filter = parse_state_filter(args.states);
    if (!filter.error.empty()) {
      return filter.error;
    }
    view.states = std::move(filter.states);
  }
  auto key = sort_key_from(args.sort);
  if (!key) {
    return fmt::format("--sort: '{}' is not one of name, state, uptime, restarts, memory",
                       escape_control(args.sort));
  }
  view.sort = *key;
  if (args.color == "auto" || args.color == "always" || args.color == "never") {
    view.color = args.color == "always"  ? ColorMode::Always
                 : args.color == "never" ? ColorMode::Never
                                         : ColorMode::Auto;
  } else {
    return fmt::format("--color: '{}' is not one of auto, always, never",
                       escape_control(args.color));
  }
  if (args.follow && !other.events) {
    return "--follow needs --events";
  }
  view.follow = args.follow;
  if (std::string why = check_watch(args, other, view); !why.empty()) {
    return why;
  }
  return check_timeline(args, other, view);
}

} // namespace pg
