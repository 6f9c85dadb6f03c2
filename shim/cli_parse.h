// What every program's command line does first with CLI11: parse, and answer --help and
// --version. Header-only: pg-run, pg-ls and pg-ctl include it (pg-supervise has no CLI11).
#pragma once

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace pg {

// Parses argv with app. Prints the help, or "PROGRAM VERSION", and returns false for --help and
// --version; any other CLI::ParseError is left to the caller, which words it its program's way.
inline bool parse_cli(CLI::App& app, int argc, char** argv, const char* program)
{
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    fmt::print("{}", app.help());
    return false;
  } catch (const CLI::CallForVersion&) {
    fmt::print("{} {}\n", program, PG_VERSION);
    return false;
  }
  return true;
}

} // namespace pg
