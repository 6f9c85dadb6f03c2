#include "ls_options.h"

#include "ls_watch.h"
#include "parse.h"

#include <fmt/format.h>

namespace pg {

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
