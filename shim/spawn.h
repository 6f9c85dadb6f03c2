// Starting one run of the job: clone (vfork-style: shared memory, the parent waits for the exec),
// reset what the child inherited, exec; a failure before the exec is reported through the
// shared memory, so "started" means the exec succeeded.
#pragma once

#include "rlimits.h"

#include <sys/types.h>

#include <csignal>

#include <span>
#include <string>
#include <vector>

namespace pg {

struct SpawnRequest {
  std::string command; // absolute path to exec
  std::vector<std::string> argv;
  std::vector<std::string> env; // KEY=VALUE, complete
  std::string cwd;
  unsigned umask = 022;
  int stdout_fd = -1;    // becomes the child's fd 1
  int stderr_fd = -1;    // becomes the child's fd 2
  int pdeath_signal = 0; // sent to the child when the supervisor dies

  // Non-empty: the env also gets KEY=<the child's own pid> (WATCHDOG_PID), written after fork.
  std::string self_pid_var;
  std::span<const Limit> limits; // --limit (the definition's): set in the child before the exec
  // The job's cgroup(s): cgroup.procs descriptors (CgroupJoin) the child writes itself into
  // before anything else it does (never the hooks'). A join that fails fails the start.
  const int* cgroup_fds = nullptr;
  size_t cgroup_fd_count = 0;
  // The cgroup2 directory among them (or -1), and the index of its cgroup.procs: the child is
  // created in it (clone3's CLONE_INTO_CGROUP) where the kernel allows, and then does not
  // write that cgroup.procs.
  int cgroup_into_fd = -1;
  size_t cgroup_into_index = 0;
  // The signals the child sets back to SIG_DFL (non_default_signals() of the caller); null:
  // every signal, one sigaction(2) each (about 62 a start).
  const sigset_t* reset_signals = nullptr;
};

struct SpawnResult {
  // What a failed start failed at: the command itself (fork, chdir, exec), a --limit's
  // setrlimit, or joining the job's cgroup (or preparing it).
  enum class Failure { Command, Limit, Cgroup };
  pid_t pid = -1;   // the running job, or -1 when it could not be started
  int error = 0;    // errno of the failed step
  std::string what; // the failed step ("chdir /x", "execve /usr/bin/y", "--limit nofile=64")
  Failure failure = Failure::Command;
  std::string detail = {}; // set instead of error for a step that failed before the fork
  // 126 or 127, the shell's status for a command that cannot be run; 1 (pg-run's environment
  // error) when a --limit could not be set or the job's cgroup could not be joined.
  int shell_status() const;
  std::string message() const;
  // A start that failed preparing the job's cgroup, before any fork: why.
  static SpawnResult failed_setup(std::string why);
};

// The signals whose disposition in this process is not SIG_DFL now: ignored (inherited from
// nohup, or SIGPIPE) or caught. exec(2) keeps an ignored signal ignored, so a child resets
// these. A caller that sets its dispositions once (the supervisor, in setup) reads them once.
sigset_t non_default_signals();

// Starts the child in its own process group with default signal dispositions, an empty mask,
// stdin from /dev/null and no descriptor beyond 0-2. Never throws between fork and exec.
SpawnResult spawn(const SpawnRequest& req);

// Resolves argv0 as execvp would against path and cwd; errno-style error when it cannot be run.
struct Resolved {
  std::string path; // absolute
  int error = 0;    // ENOENT (127) or EACCES/ENOEXEC/EISDIR (126)
};
Resolved resolve_command(const std::string& argv0, const std::string& path_var,
                         const std::string& cwd);

} // namespace pg
