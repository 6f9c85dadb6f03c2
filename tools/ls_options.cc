#include "ls_options.h"

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
}

std::string apply_view_options(const ViewArgs& args, ViewOptions& view)
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
  return "";
}

} // namespace pg
