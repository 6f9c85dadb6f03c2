// pg-ls's view options on its command line (CLI11): declared, then checked into ViewOptions.
#pragma once

#include "ls_views.h"

#include <CLI/CLI.hpp>

#include <string>

namespace pg {

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
