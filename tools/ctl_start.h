// pg-ctl start: an ended job (stopped, failed, completed, or lost with no live leftovers)
// started again from its recorded definition and launch environment (STATE/NAME/environ), as
// if pg-run had been run again with the same options (pg-ctl runs `pg-run --relaunch`, which
// reads them from the record): history and run numbering go on, the restart budget and
// --duration begin again. A job whose supervisor lives is left alone.
#pragma once

#include "clock.h"
#include "ctl_actions.h"

#include <string>
#include <vector>

namespace pg {

struct StartOptions {
  Millis wait{0};          // --wait, as pg-run's
  bool update_env = false; // --update-env: pg-ctl's own environment becomes the job's
};

std::vector<CtlResult> start_jobs(const JobsAt& jobs, const std::vector<std::string>& names,
                                  const StartOptions& opt);

} // namespace pg
