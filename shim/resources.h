// A run's resource use and its memory limit: what the kernel accounted for the processes the
// supervisor reaped (rusage from waitid), and the texts that tell of them. Pure: no I/O.
#pragma once

#include "events.h"
#include "state.h"

#include <sys/resource.h>

#include <cstdint>
#include <string>

namespace pg {

// Sums the rusage of every reaped process of one run. Each process's rusage already includes
// its own waited-for children; orphans are reaped by the supervisor (the subreaper), so they
// count once, through their own rusage.
struct RunUsage {
  bool any = false;        // at least one process of the run was reaped
  uint64_t max_rss_kb = 0; // the largest ru_maxrss (KiB on Linux)
  int64_t user_us = 0;
  int64_t sys_us = 0;

  void add(const struct rusage& ru);
  // Sets the record's max_rss_kb, user_cpu_s, sys_cpu_s; leaves them null when nothing was
  // reaped (a run that never started).
  void fill(ExitRecord& rec) const;
};

// "tree RSS 312.0 MiB above --max-memory 256 MiB": the detail of a memory stop.
std::string memory_limit_detail(uint64_t rss_bytes, uint64_t limit_bytes);

} // namespace pg
