// The memory of a process tree: every live process below a root (the root excluded), found by
// walking /proc/PID/task/TID/children, and their resident set sizes (/proc/PID/statm) summed.
#pragma once

#include "proc.h"

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pg {

// The resident pages of /proc/PID/statm ("size resident shared text lib data dt"), the 2nd
// field; nullopt when malformed.
std::optional<uint64_t> parse_statm_resident(std::string_view text);

// The pids in a /proc/PID/task/TID/children file ("12 34 "); junk is skipped.
std::vector<pid_t> parse_children(std::string_view text);

struct TreeMemory {
  uint64_t rss_bytes = 0; // summed RSS of every process counted
  size_t processes = 0;   // processes whose RSS was read (one that vanished meanwhile is not)
};

// Every process below root, for when the kernel has no children files (CONFIG_PROC_CHILDREN off).
using DescendantsFn = std::function<std::vector<pid_t>(pid_t root)>;

// Every process below root (root excluded), walked through PROC/PID/task/TID/children: only the
// tree is read, whatever else runs on the machine. When root's children files are missing, the
// tree comes from fallback (common/proc's descendants(), a scan of every process, by default).
std::vector<pid_t> tree_pids(pid_t root, const std::string& proc = "/proc",
                             const DescendantsFn& fallback = {});
// /proc/PID/stat of each process of tree_pids(root) still there when read. root_one_thread:
// the caller knows root runs one thread (a pg supervisor), so its stat need not be read to find
// its children.
std::vector<ProcStat> tree_stats(pid_t root, bool root_one_thread = false);

// Walks the tree below root (root itself excluded) through PROC/PID/task/TID/children and sums
// PROC/PID/statm's resident pages times page_size. When root's children files are missing, the
// tree comes from fallback (common/proc's descendants() by default). Processes that end during
// the walk are skipped, never an error.
TreeMemory tree_memory(pid_t root, const std::string& proc = "/proc", uint64_t page_size = 0,
                       const DescendantsFn& fallback = {});

// "312.0 MiB", "980.0 KiB", "1.5 GiB", "512 B": a measured size for humans.
std::string format_bytes(uint64_t bytes);
// "256 MiB", "1 GiB", "1536 KiB", "100 B": a limit as exactly as its unit allows (a whole number
// of the largest unit that divides it; else one decimal like format_bytes).
std::string format_limit(uint64_t bytes);

} // namespace pg
