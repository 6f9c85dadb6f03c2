// A job's own cgroup: kernel-enforced caps (memory, tasks, CPU) on its whole tree and exact
// tracking of that tree (membership, cgroup.kill), on cgroup v2, v1 or a hybrid of both.
//
// Where it goes. The job's cgroup is a child of the supervisor's own cgroup in each hierarchy
// used (directly under a hierarchy's root only where the supervisor sits in that root), named
// pg-<uid>-<hash>-<job> (job_cgroup_name). Each cap goes to the hierarchy that has its
// controller: v2 when the supervisor's v2 cgroup offers it (cgroup.controllers), else v1's
// memory, pids or cpu mount. The v2 hierarchy is used for tracking even without controllers
// (this host's /sys/fs/cgroup/unified: membership, cgroup.kill, cgroup.events work there).
//
// cgroup v2's "no internal processes" rule: controllers can be enabled for children
// (cgroup.subtree_control) only in a cgroup that has no processes of its own. The root is
// exempt. Elsewhere, before enabling controllers in its cgroup C, the supervisor moves itself
// into a sibling leaf of the job's, C/pg-<uid>-<hash>-<job>@sup ('@' is never in a job name, so
// the leaf and a job's cgroup cannot collide); C must hold no other process (it does not under
// `systemd-run --user --scope -p Delegate=yes`). The supervisor cannot remove the leaf it sits
// in: a later remove_job_cgroup (pg-ctl forget, the next supervisor) removes it once empty.
//
// Use from the supervisor (one pg-run babysits one job):
//   start, once:  host = discover_cgroup_host(); name = job_cgroup_name(uid, state_dir, job);
//                 s = setup_job_cgroup(host, name, caps): s.error -> refuse (exit 1); else
//                 record s.cgroup.recorded_paths() (state.json job_cgroup), s.cgroup.enforce.
//                 OomWatch::open(s.cgroup) -> its fd into the event loop.
//   each run:     CgroupJoin::open(s.cgroup) before the first clone, kept until exit; the
//                 child calls cgroup_join_fds() before closing descriptors; baseline =
//                 cgroup_oom_kills().
//   OOM watch:    drain(); cgroup_oom_kills() > baseline -> the run ends with cause oom.
//   run's end:    kill_job_cgroup() ends what the job left; cgroup_members() is then empty.
//   exit:         remove_job_cgroup(). pg-ctl stop/forget: JobCgroup::from_recorded with the
//                 recomputed name, then kill_job_cgroup / remove_job_cgroup (both check it first).
//
// Tests: every path is under CgroupHost::prefix ("" on a real host), so the unit tests point it
// at a fake cgroupfs in a temporary directory; set_cgroup_fs_ops_for_test stands in for the
// kernel's mkdir/rmdir there (a real mkdir creates the control files).
#pragma once

#include "fd.h"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pg {

enum class CgroupVersion { V1, V2 };

// One line of /proc/self/cgroup: "4:memory:/a/b" (v1) or "0::/a/b" (v2).
struct CgroupMembership {
  int hierarchy_id = 0;
  std::vector<std::string> controllers; // v1: "memory", "cpu", "name=systemd"; v2: none
  std::string path;                     // relative to the hierarchy's root, starts with '/'
};

// One cgroup or cgroup2 line of /proc/self/mountinfo.
struct CgroupMount {
  CgroupVersion version = CgroupVersion::V2;
  std::string mount_point;              // "/sys/fs/cgroup/memory" (octal escapes decoded)
  std::string root;                     // the hierarchy's path mounted there, usually "/"
  std::vector<std::string> controllers; // v1: from the super options; v2: none
};

// Parses /proc/self/cgroup; malformed lines are skipped.
std::vector<CgroupMembership> parse_proc_cgroup(std::string_view text);
// The cgroup and cgroup2 mounts of a /proc/self/mountinfo; other and malformed lines skipped.
std::vector<CgroupMount> parse_cgroup_mounts(std::string_view mountinfo);

// A hierarchy this process is in and can see: where it is mounted and where we sit in it.
struct CgroupHierarchy {
  CgroupVersion version = CgroupVersion::V2;
  std::vector<std::string> controllers; // v1 only (v2: read cgroup.controllers of own_dir)
  std::string mount_point;              // with the prefix
  std::string own_dir;                  // this process's cgroup directory, with the prefix
  bool own_is_root() const { return own_dir == mount_point; }
  bool has_controller(std::string_view c) const;
};

// The cgroup hierarchies of this host as this process sees them.
struct CgroupHost {
  std::string prefix; // root directory every path lives under: "" on a real host
  std::vector<CgroupHierarchy> hierarchies;
  std::vector<CgroupMount> mounts; // every cgroup mount (for the ownership check)

  const CgroupHierarchy* v2() const;
  // The v1 hierarchy carrying controller c ("memory", "pids", "cpu"), or null.
  const CgroupHierarchy* v1(std::string_view c) const;
};

// Joins parse_proc_cgroup and parse_cgroup_mounts: the hierarchies this process is in that are
// mounted where its cgroup is visible (the mount's root is a prefix of its path). Pure.
CgroupHost describe_cgroup_host(std::string_view proc_cgroup, std::string_view mountinfo,
                                const std::string& prefix = "");
// describe_cgroup_host over PREFIX/proc/self/cgroup and PREFIX/proc/self/mountinfo.
CgroupHost discover_cgroup_host(const std::string& prefix = "");

// FNV-1a 64 of text, folded to 32 bits (high half XOR low half): stable across builds and hosts.
uint32_t cgroup_name_hash(std::string_view text);
// "pg-<uid>-<8 hex of cgroup_name_hash(state_dir)>-<job>": unique per user, absolute state
// directory and job name, and the same for every run of the job. state_dir must be the one
// absolute spelling every pg tool uses for it (resolve_state_dir), or names differ.
std::string job_cgroup_name(uid_t uid, std::string_view state_dir, std::string_view job);
// The v2 leaf the supervisor moves itself into: job_cgroup_name + "@sup".
std::string supervisor_leaf_name(std::string_view job_cgroup_name);

// What the job's cgroup is asked to enforce. Nothing asked: tracking only.
// Memory includes swap (a cap that swaps is no cap): v2 memory.max + memory.swap.max 0, v1
// memory.limit_in_bytes + memory.memsw.limit_in_bytes. Where swap accounting is off (no such swap
// file), the cap is accepted only when /proc/swaps lists no device (nothing to escape to; enforce
// then says "swap=none on the host") and refused otherwise. CPU: quota = percent * 1000 us per
// 100000 us period (v2 cpu.max "QUOTA 100000", v1 cpu.cfs_period_us / cpu.cfs_quota_us).
struct CgroupCaps {
  std::optional<uint64_t> memory_bytes; // swap included: memory.max + memory.swap.max 0
  std::optional<uint64_t> tasks;        // processes and threads: pids.max
  std::optional<uint32_t> cpu_percent;  // of one CPU (150 = one and a half): cpu.max
  bool any() const { return memory_bytes || tasks || cpu_percent; }
};

// The job's cgroup as made: what state.json records as job_cgroup. Every operation below works
// from the paths alone (what each directory can do is read from its files), so pg-ctl can act on
// a recorded one.
struct JobCgroup {
  std::string name;                 // job_cgroup_name
  std::vector<std::string> dirs;    // one directory per hierarchy used, absolute
  std::string supervisor_leaf;      // v2 leaf the supervisor moved into; "" when it did not
  std::vector<std::string> enforce; // what is in force, for pg-ls: "memory.max=536870912", ...
  bool empty() const { return dirs.empty(); }

  // What state.json records as job_cgroup: the directories, then the leaf when there is one.
  std::vector<std::string> recorded_paths() const;
  // Back from recorded paths (a path ending in "@sup" is the leaf); name is recomputed by the
  // reader (job_cgroup_name), never taken from the record. enforce stays empty.
  static JobCgroup from_recorded(std::string name, const std::vector<std::string>& paths);
};

// The outcome of setting up a job's cgroup.
struct CgroupSetup {
  JobCgroup cgroup;  // empty when none could be made (then error or note says why)
  std::string error; // a cap was asked for and cannot be enforced: why, and what would allow it
  std::string note;  // tracking only, and no cgroup could be made: why (not an error)
};

// What would allow a cap for an unprivileged user (cgroup v2 delegation).
inline constexpr std::string_view k_cgroup_delegate_hint =
    "systemd-run --user --scope -p Delegate=yes pg-run ...";

// Makes the job's cgroup in each hierarchy needed for caps (plus v2 for tracking), moves the
// supervisor into its v2 leaf when controllers must be enabled below a non-root cgroup, enables
// them and writes the caps. A directory that exists already is reused when it holds no process
// (a previous supervisor's), refused when it does. On error, whatever this call made is removed
// again (the supervisor's move into its leaf is not undone). Never throws for expected failures.
CgroupSetup setup_job_cgroup(const CgroupHost& host, const std::string& name,
                             const CgroupCaps& caps);

// Empty when path may be acted on (killed, removed) as the job cgroup named name (of
// job_cgroup_name's form, pg-<uid>-<8 hex>-<job>): an absolute, normalized path strictly below a
// cgroup mount point of host, whose last component is name or its supervisor leaf, and which is
// neither this process's cgroup nor one of its ancestors. Otherwise why not. name is recomputed
// by the caller (job_cgroup_name), never read from state.json, so a tampered record cannot point
// at a parent, a session scope or a root.
std::string check_job_cgroup_path(const CgroupHost& host, const std::string& path,
                                  const std::string& name);
// check_job_cgroup_path over every directory of cg (not its supervisor leaf, which is the
// supervisor's own cgroup while it runs); empty when all pass.
std::string check_job_cgroup(const CgroupHost& host, const JobCgroup& cg, const std::string& name);

// Descriptors for the child to join the job's cgroups with: each directory's cgroup.procs, opened
// O_WRONLY|O_CLOEXEC by the parent before fork (the opener's credentials are the ones checked).
class CgroupJoin {
public:
  // Opens DIR/cgroup.procs of every directory of cg, and the first directory that is on a
  // cgroup2 filesystem itself (for clone3's CLONE_INTO_CGROUP); error names what failed.
  static CgroupJoin open(const JobCgroup& cg, std::string& error);
  // The raw descriptors and their count, for the child.
  const int* fds() const { return m_raw.data(); }
  size_t size() const { return m_raw.size(); }
  // The cgroup2 directory, or -1; and the index in fds() of its cgroup.procs.
  int into_fd() const { return m_into.get(); }
  size_t into_index() const { return m_into_index; }

private:
  std::vector<UniqueFd> m_fds;
  std::vector<int> m_raw;
  UniqueFd m_into;
  size_t m_into_index = 0;
};

// In the forked child before exec (before closing descriptors): writes "0" (this process) to
// each of fds but the one at index skip (a cgroup the child was born in: writing there would
// move it again, which costs the kernel a wait for an RCU grace period, ~10 ms). Async-signal-
// safe: write(2) only, no allocation. 0, or the errno of the first failure (the child should
// then fail its start, as for a failed chdir).
int cgroup_join_fds(const int* fds, size_t count, size_t skip = ~size_t{0}) noexcept;

// Which files the cgroups of a parent directory lack, learnt over one listing of many jobs: the
// cgroups made in one parent have the same controllers' files (those the parent enables, or the
// v1 hierarchy's), so a file missing from one is not tried in the next. Thread-safe. Kept for
// one command's run only: a controller enabled later would be missed by a longer life.
class CgroupAbsentFiles {
public:
  bool absent(const std::string& dir, std::string_view file) const;
  void mark(const std::string& dir, std::string_view file);

private:
  mutable std::mutex m_mutex;
  std::set<std::string> m_absent; // "PARENT/FILE"
};

// Observing a job's cgroup. Each reads the first directory of cg that has the file, so it works
// from recorded paths; nullopt when no directory has it or it cannot be read. With absent, a
// file a sibling cgroup lacked is not tried, and one found missing is remembered there.
// Current memory: v2 memory.current, else v1 memory.usage_in_bytes (page cache included).
std::optional<uint64_t> cgroup_memory_current(const JobCgroup& cg,
                                              CgroupAbsentFiles* absent = nullptr);
// Processes and threads: pids.current (v2 or v1), else the lines of cgroup.threads / tasks.
std::optional<uint64_t> cgroup_task_count(const JobCgroup& cg, CgroupAbsentFiles* absent = nullptr);
// OOM kills so far: v2 memory.events "oom_kill", else v1 memory.oom_control "oom_kill" (kernel
// >= 4.13). Compare before and after: an increase means the kernel killed a process of the job.
std::optional<uint64_t> cgroup_oom_kills(const JobCgroup& cg);
// The processes in dir and its descendant cgroups (cgroup.procs), for leftovers and kill.
std::vector<pid_t> cgroup_members(const std::string& dir);
// Every process in any directory of cg, without duplicates.
std::vector<pid_t> cgroup_members(const JobCgroup& cg);
// True when any process is in cg: v2 cgroup.events "populated 1", else members non-empty.
bool cgroup_populated(const JobCgroup& cg);

// The value of "key N" in a flat keyed file (memory.events, memory.oom_control, cgroup.events).
std::optional<uint64_t> parse_keyed_value(std::string_view text, std::string_view key);

// A descriptor that becomes readable when the job's OOM record may have changed, for the
// supervisor's epoll (then: cgroup_oom_kills, and drain()). v2: an inotify watch on memory.events
// (kernfs signals every change of the file); v1: an eventfd registered with cgroup.event_control
// on memory.oom_control (signalled when the cgroup runs out of memory).
class OomWatch {
public:
  // Empty watch (valid() false) with error set when cg has no memory accounting to watch.
  static OomWatch open(const JobCgroup& cg, std::string& error);
  int fd() const { return m_fd.get(); }
  bool valid() const { return m_fd.valid(); }
  // Consumes what made fd() readable (non-blocking).
  void drain() const;

private:
  UniqueFd m_fd;
};

// Kills every process of cg: v2 cgroup.kill where the kernel has it, then SIGKILL to each member
// of every directory (through a pidfd, re-checked against cgroup.procs so a recycled pid is never
// hit), again for what a listing still shows, until every directory is empty: "" then, or why
// not after about a second (it blocks that long at most). Refuses (returns why, touching
// nothing) when check_job_cgroup fails for name.
std::string kill_job_cgroup(const CgroupHost& host, const JobCgroup& cg, const std::string& name);

// Removes cg's directories (descendant cgroups first) and its supervisor leaf (left when busy:
// the supervisor is still in it), retrying while processes exit until deadline. Refuses when
// check_job_cgroup fails for name. "" when everything is gone; else why not (a busy cgroup).
std::string remove_job_cgroup(const CgroupHost& host, const JobCgroup& cg, const std::string& name,
                              std::chrono::milliseconds deadline = std::chrono::seconds(2));

// Test seam: the fake cgroupfs stands in for the kernel's mkdir (which creates control files)
// and rmdir (which removes them). Null restores the real calls.
struct CgroupFsOps {
  int (*mkdir)(const char* path, mode_t mode);
  int (*rmdir)(const char* path);
};
void set_cgroup_fs_ops_for_test(const CgroupFsOps* ops);

} // namespace pg
