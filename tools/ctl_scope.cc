#include "ctl_scope.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace pg {

namespace {

// Runs argv (PATH searched; 127 when it cannot be run) with stdout on /dev/null, and stderr either
// inherited or on /dev/null too; returns its exit status, or 127 when it cannot be started.
int run_quiet(const std::vector<std::string>& argv, bool keep_stderr)
{
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  // (<spawn.h> is shadowed by shim/spawn.h on this target's include path: fork and exec.)
  const pid_t pid = ::fork();
  if (pid < 0) {
    return 127;
  }
  if (pid == 0) { // only async-signal-safe calls from here on
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) {
      ::dup2(null, STDOUT_FILENO);
      if (!keep_stderr) {
        ::dup2(null, STDERR_FILENO);
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

std::vector<std::string> systemd_run(const std::string& unit, const std::string& description,
                                     const std::vector<std::string>& argv)
{
  std::vector<std::string> out = {"systemd-run", "--user", "--scope", "--quiet", "--collect"};
  if (!unit.empty()) {
    out.push_back("--unit=" + unit);
  }
  if (!description.empty()) {
    out.push_back("--description=" + description);
  }
  out.emplace_back("--");
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

} // namespace

std::string scope_unit_name(const std::string& job, long long now_s, int pid)
{
  return fmt::format("pg-job-{}-{}-{}.scope", job, now_s, pid);
}

bool scopes_available(const std::string& self, std::string& why)
{
  const int status = run_quiet(systemd_run("", "", {self, "--version"}), false);
  if (status == 0) {
    return true;
  }
  why = status == 127 ? "systemd-run is not on PATH"
                      : fmt::format("systemd-run --user --scope failed (status {}): no user "
                                    "manager to ask",
                                    status);
  return false;
}

int run_in_scope(const std::string& unit, const std::string& description,
                 const std::vector<std::string>& argv)
{
  return run_quiet(systemd_run(unit, description, argv), true);
}

std::string self_exe()
{
  std::array<char, 4096> buf{};
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) {
    return "pg-ctl";
  }
  return std::string(buf.data(), static_cast<size_t>(n));
}

} // namespace pg
