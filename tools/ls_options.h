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
};

// Declares --state and --sort on app, read into args.
void add_view_options(CLI::App& app, ViewArgs& args);

// args checked into view: "" when they are good, else the usage error (one line).
std::string apply_view_options(const ViewArgs& args, ViewOptions& view);

} // namespace pg
