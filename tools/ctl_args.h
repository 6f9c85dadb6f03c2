// pg-ctl's command line: one verb and its options, parsed by CLI11 into a CtlCommand. Usage
// errors are Failures with status k_ctl_exit_usage.
#pragma once

#include "clock.h"
#include "ctl_logs.h"
#include "failure.h"

#include <optional>
#include <string>
#include <vector>

namespace pg {

enum class CtlVerb {
  Stop,
  Restart,
  Start,
  Signal,
  Ack,
  Forget,
  Revive,
  Unit,
  Logs,
  Up,
  Down,
  Show
};

struct CtlCommand {
  CtlVerb verb = CtlVerb::Stop;
  std::string state_dir; // as given ("" = $PG_STATE_DIR or the default)
  bool json = false;
  std::vector<std::string> names; // checked, each once, in the order given; globs kept as such
  bool all = false;               // --all (stop, restart, start): instead of names
  std::optional<Millis> timeout;  // stop --timeout
  int signal = 0;                 // signal SIG
  bool replace = false;           // revive --replace
  bool scope = false;             // revive --scope
  Millis wait{0};                 // start --wait
  bool update_env = false;        // start --update-env
  LogsOptions logs;               // logs -n, -f (and --json)
  std::string file;               // up, down -f FILE ("" = ./pg.toml, else ./Procfile)
  bool prune = false;             // up --prune
  bool force = false;             // up --force
  std::string as = "toml";        // show --as toml|pg-run|unit (unit NAME: "unit")
};

// Returns nullopt when --help or --version was printed (exit 0); throws Failure on a usage error.
std::optional<CtlCommand> parse_ctl_args(int argc, char** argv);

} // namespace pg
