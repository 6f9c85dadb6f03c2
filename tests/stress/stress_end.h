// How run n of stress_job ends: shared by the job and the tests, so a test knows the exact
// status each run must be recorded with.
#pragma once

#include <csignal>

namespace pg::stress {

struct End {
  int code = 0;   // exit code, when sig is 0
  int signal = 0; // signal number, or 0
};

// Mixed: every fourth run dies of a signal (none that dumps core), the others exit with a code
// that walks through 0..255. Nonzero: exit codes only, never 0 (a failed run, its tree stopped).
inline End end_of_run(long n, bool mixed)
{
  static constexpr int k_signals[] = {SIGKILL, SIGTERM, SIGUSR1, SIGUSR2, SIGHUP, SIGINT, SIGALRM};
  if (!mixed) {
    return End{1 + static_cast<int>((n * 7) % 255), 0};
  }
  if (n % 4 == 3) {
    return End{0, k_signals[(n / 4) % 7]};
  }
  return End{static_cast<int>((n * 7 + 1) % 256), 0};
}

// One line of stress_job's journal: "NNNNNNNNNN RUN_ID\n", fixed width, so that the journal's
// size tells how many runs wrote it and where run n's line is.
inline constexpr int k_run_id_width = 24;
inline constexpr int k_journal_line = 10 + 1 + k_run_id_width + 1;

} // namespace pg::stress
