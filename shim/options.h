// What pg-run was asked to do: the job's definition plus how to launch it.
#pragma once

#include "state.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pg {

struct Options {
  std::string name;
  JobDefinition def;
  std::string state_dir; // resolved, absolute
  bool foreground = false;
  bool quiet = false;
  bool json = false;
  bool replace = false;
  Millis wait{0}; // --wait: how long the job must stay up before the launcher reports success
  // --env-file's variables, read by the launcher (and again on revive): never recorded.
  std::vector<std::pair<std::string, std::string>> file_env;
  // The launch environment (KEY=VALUE) the job's is built from: pg-run's own when nullopt;
  // pg-ctl start and revive give the one kept in STATE/NAME/environ (or pg-ctl's own with
  // start --update-env). The launcher keeps it there (environ.h).
  std::optional<std::vector<std::string>> launch_env;
  // Revive: keep the job's first start and deadline from its earlier life.
  std::optional<WallTime> keep_started_at;
  std::optional<WallTime> keep_deadline_at;
  unsigned keep_restarts = 0;
  // Revive: the failures heard since the last acknowledgement (failures_since_ack, last_ack_at)
  // go on from the job's state.json, read under the lock, and its lost run counts as one more.
  // Otherwise a launch (pg-run, pg-ctl start) acknowledges every failure up to it.
  bool keep_ack = false;

  bool operator==(const Options&) const = default;
};

} // namespace pg
