// A process tree: every live process below a root (the root excluded), found by walking
// /proc/PID/task/TID/children, with each one's /proc/PID/stat; and sizes for humans.
#pragma once

#include "proc.h"

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace pg {

// The pids in a /proc/PID/task/TID/children file ("12 34 "); junk is skipped.
std::vector<pid_t> parse_children(std::string_view text);

// Every process below root, for when the kernel has no children files (CONFIG_PROC_CHILDREN off).
using DescendantsFn = std::function<std::vector<pid_t>(pid_t root)>;

// PROC/PID/stat of every process below root (root excluded) still there when read, walked through
// PROC/PID/task/TID/children: only the tree is read, whatever else runs on the machine. One that
// ends during the walk is skipped, never an error. When root's children files are missing, the
// tree comes from fallback (common/proc's descendants(), a scan of every process, by default).
// root_one_thread: the caller knows root runs one thread (a pg supervisor), so its stat need not
// be read to find its children.
std::vector<ProcStat> tree_stats(pid_t root, bool root_one_thread = false,
                                 const std::string& proc = "/proc",
                                 const DescendantsFn& fallback = {});
// The resident set sizes of a tree summed (RSS pages, field 24 of stat, times the page size).
uint64_t rss_bytes(const std::vector<ProcStat>& tree);

// "312.0 MiB", "980.0 KiB", "1.5 GiB", "512 B": a measured size for humans.
std::string format_bytes(uint64_t bytes);
// "256 MiB", "1 GiB", "1536 KiB", "100 B": a limit as exactly as its unit allows (a whole number
// of the largest unit that divides it; else one decimal like format_bytes).
std::string format_limit(uint64_t bytes);

} // namespace pg
