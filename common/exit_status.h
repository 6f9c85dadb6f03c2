// How one process ended, exactly: an exit code, or a signal and whether it dumped core.
#pragma once

#include <signal.h>

#include <string>

namespace pg {

struct ExitStatus {
  int code = -1;  // exit code, or -1 when a signal ended the process
  int signal = 0; // signal number, or 0 when it exited
  bool core_dumped = false;

  static ExitStatus exited(int c) { return {c, 0, false}; }
  static ExitStatus killed(int s, bool core = false) { return {-1, s, core}; }
  // From waitid(2)'s siginfo (CLD_EXITED, CLD_KILLED, CLD_DUMPED).
  static ExitStatus from_siginfo(const siginfo_t& info);

  bool success() const { return signal == 0 && code == 0; }
  // The shell's convention: the code, or 128 + signal.
  int shell_status() const { return signal != 0 ? 128 + signal : code; }
  // "exit code 3", "signal SIGSEGV (core dumped)".
  std::string describe() const;
  bool operator==(const ExitStatus&) const = default;
};

} // namespace pg
