// What /proc says about processes: identity (boot id, pid, start time), parents, environment.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pg {

struct ProcStat {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t pgid = 0;
  char state = '?';
  uint64_t flags = 0;      // field 9: the kernel's PF_* flags (PF_EXITING: on its way out)
  uint64_t start_time = 0; // clock ticks after boot (field 22), on the host's CLOCK_BOOTTIME
  uint64_t rss_pages = 0;
  // utime + stime + cutime + cstime (fields 14-17): its reaped children's too
  uint64_t cpu_ticks = 0;
  uint64_t threads = 0; // field 20: how many threads it has now
  std::string comm;
};

// Every pid in /proc now (processes come and go while the list is used).
std::vector<pid_t> all_pids();

// The text of /proc/PID/stat parsed (comm may hold spaces and parentheses); nullopt when
// malformed. The one reader of that format.
std::optional<ProcStat> parse_proc_stat(pid_t pid, std::string_view text);

// PROC/PID/stat parsed (comm may hold spaces and parentheses); nullopt when gone.
std::optional<ProcStat> read_proc_stat(pid_t pid, const std::string& proc = "/proc");

// This boot's id (/proc/sys/kernel/random/boot_id), read once.
const std::string& boot_id();

// This process's pid namespace: the inode of /proc/self/ns/pid, read once; 0 when unreadable.
uint64_t own_pid_namespace();
// True when a supervisor recorded in pid namespace `recorded` lives in another namespace than
// `here`, so its pids mean nothing here. Unknown (0) on either side is taken as the same one:
// state files written before the field existed behave as they always did.
bool pid_namespace_differs(uint64_t recorded, uint64_t here);
// "pid:[4026531836]", as readlink(/proc/PID/ns/pid) names a namespace.
std::string pid_namespace_name(uint64_t ns);

// Who a process is, beyond its recyclable pid.
struct ProcessIdentity {
  pid_t pid = 0;
  uint64_t start_time = 0;
  std::string boot_id;

  // This process, now.
  static ProcessIdentity self();
  // True when pid still names the same process (same boot, same start time) and it is not a zombie.
  bool alive() const;
};

// The command line of pid for humans ("python3 bot.py"), or its comm; "" when gone.
std::string process_command(pid_t pid);

// Every process whose ancestry leads to root (root excluded), oldest first, as /proc has them
// now (zombies included: state 'Z').
std::vector<ProcStat> descendant_stats(pid_t root);
// The pids of descendant_stats(root).
std::vector<pid_t> descendants(pid_t root);

// Every process of this user whose environment holds KEY=VALUE exactly (e.g. PG_RUN_ID=...).
std::vector<pid_t> processes_with_env(const std::string& key, const std::string& value);

// A run id (PG_RUN_ID) is a supervisor's random prefix and its run counter: every run of one
// supervisor shares the prefix, so the processes of a run state.json has not named yet (the
// supervisor died before writing it) are found through the run it names.
inline constexpr size_t k_run_family_chars = 16;
// Every process whose PG_RUN_ID belongs to the same supervisor as run_id.
std::vector<pid_t> processes_of_run_family(const std::string& run_id);

} // namespace pg
