// The processes of a job that outlive its supervisor (a killed supervisor's daemonized master,
// a program that rewrote its environment): found by PG_RUN_ID, by the (pid, start time) list
// the supervisor kept in state.json, and as descendants of either. One place for pg-ls (lost,
// with a count), revive and --replace (refuse, or end them), pg-ctl stop and forget.
#pragma once

#include "clock.h"
#include "state.h"

#include <vector>

namespace pg {

// Every live process of the job st describes, oldest first: those carrying an id of its
// supervisor's runs, those of its recorded tree that are still the same processes (same boot,
// same start time), and their descendants. Never the supervisor state.json names, nor the
// calling process. Meant for a job whose supervisor is gone (a lost job): a live supervisor's
// tree is its own business.
std::vector<TreeProcess> leftovers(const JobState& st);

// Sends sig to each process that is still the one listed (checked through a pidfd).
void signal_processes(const std::vector<TreeProcess>& procs, int sig);

// Ends the leftovers of st: first_signal to each (0: none), then SIGKILL to whatever still lives
// after grace, again to any found later, until none is left (true) or deadline passes (false).
bool end_leftovers(const JobState& st, int first_signal, Millis grace, Millis deadline);

// "pid 4242" or "pids 4242 4250 ...", for messages (at most a few named).
std::string leftover_pids_text(const std::vector<TreeProcess>& procs);

} // namespace pg
