#include "ctl_pg_run.h"

#include "ctl_actions.h"
#include "failure.h"
#include "program_path.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace pg {

int run_and_wait(const std::vector<std::string>& argv, ChildOutput out)
{
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  // (<spawn.h> is shadowed by shim/spawn.h on this target's include path: fork and exec.)
  const pid_t pid = ::fork();
  if (pid < 0) {
    return 127;
  }
  if (pid == 0) { // only async-signal-safe calls from here on
    if (out != ChildOutput::Inherit) {
      const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
      if (null >= 0) {
        ::dup2(null, STDOUT_FILENO);
        if (out == ChildOutput::None) {
          ::dup2(null, STDERR_FILENO);
        }
      }
    }
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return 127;
    }
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return WEXITSTATUS(status);
}

std::vector<std::string> pg_run_argv(const std::vector<std::string>& args)
{
  const std::optional<std::string> pg_run = find_pg_program("pg-run");
  if (!pg_run) {
    throw Failure(k_ctl_exit_failed, "cannot find pg-run next to pg-ctl: is process-guardian "
                                     "installed whole?");
  }
  std::vector<std::string> argv{*pg_run};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

int run_pg_run(const std::vector<std::string>& args)
{
  return run_and_wait(pg_run_argv(args), ChildOutput::Inherit);
}

} // namespace pg
