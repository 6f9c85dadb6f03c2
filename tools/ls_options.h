// pg-ls's command line (CLI11): its options checked into LsOptions, the view options among them
// declared, then checked into ViewOptions.
#pragma once

#include "clock.h"
#include "ls_views.h"

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace pg {

// pg-ls's exit statuses (pg-ls(1)).
inline constexpr int k_ls_exit_ok = 0;
inline constexpr int k_ls_exit_problem = 1; // --check found a job needing attention; no such job
inline constexpr int k_ls_exit_usage = 2;
inline constexpr int k_ls_exit_state_dir = 4;

struct LsOptions {
  std::string state_dir;
  bool json = false;
  bool check = false;
  bool events = false;
  std::optional<Millis> since; // --events --since D
  bool prometheus = false;
  std::vector<std::string> names; // each valid, each once, in the order given
  ViewOptions view;               // --state, --sort, ...
};

// Fills opt from argv. Returns false when --help or --version was printed (exit 0). Throws
// Failure (2) for a usage error, with the way to --help as its hint (not for a bad job name).
bool parse_ls_args(int argc, char** argv, LsOptions& opt);

// The view options as typed.
struct ViewArgs {
  std::string states;
  CLI::Option* state_opt = nullptr;
  std::string sort = "name";
  std::string watch;
  CLI::Option* watch_opt = nullptr;
  std::string color = "auto";
  bool follow = false;
  std::string timeline;
  CLI::Option* timeline_opt = nullptr;
};

// The views other than the table, as chosen: --watch draws only the table.
struct OtherViews {
  bool json = false;
  bool check = false;
  bool events = false;
  bool prometheus = false;
};

// Declares --state, --sort, --watch, --color, --follow and --timeline on app, read into args.
void add_view_options(CLI::App& app, ViewArgs& args);

// args checked into view: "" when they are good, else the usage error (one line).
std::string apply_view_options(const ViewArgs& args, const OtherViews& other, ViewOptions& view);

} // namespace pg
