#include "exit_status.h"

#include "signals.h"

namespace pg {

ExitStatus ExitStatus::from_siginfo(const siginfo_t& info)
{
  switch (info.si_code) {
  case CLD_EXITED:
    return exited(info.si_status);
  case CLD_DUMPED:
    return killed(info.si_status, true);
  default:
    return killed(info.si_status, false);
  }
}

std::string ExitStatus::describe() const
{
  if (signal == 0) {
    return "exit code " + std::to_string(code);
  }
  return "signal " + signal_name(signal) + (core_dumped ? " (core dumped)" : "");
}

} // namespace pg
