#include "ctl_pg_run.h"

#include "failure.h"
#include "fd.h"
#include "job_view.h"
#include "launch_json.h"
#include "program_path.h"
#include "run_args.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>

namespace pg {

namespace {

std::vector<char*> c_argv(const std::vector<std::string>& argv)
{
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  return args;
}

// Makes fd the child's descriptor to (nothing when fd is -1): dup2, or, when fd is already to,
// clears its close-on-exec (dup2 onto itself would keep it).
void put_at(int fd, int to)
{
  if (fd < 0) {
    return;
  } else if (fd == to) {
    ::fcntl(to, F_SETFD, 0);
  } else {
    ::dup2(fd, to);
  }
}

// Starts argv (PATH searched) with its stdout and stderr on out and err (-1: pg-ctl's own), after
// pg-ctl's buffered output is written out; returns its pid, or -1 when it cannot fork or an
// argument holds a NUL byte (exec would cut it there: said on stderr). err is -1 or out (stdout
// is set first: an err that were descriptor 1 would be lost).
pid_t start_child(const std::vector<std::string>& argv, int out, int err)
{
  for (const auto& a : argv) {
    if (a.find('\0') != std::string::npos) {
      fmt::print(stderr, "pg-ctl: cannot run {}: an argument holds a NUL byte\n", argv[0]);
      return -1;
    }
  }
  std::vector<char*> args = c_argv(argv);
  std::fflush(stdout);
  std::fflush(stderr);
  // (<spawn.h> is shadowed by shim/spawn.h on this target's include path: fork and exec.)
  const pid_t pid = ::fork();
  if (pid == 0) { // only async-signal-safe calls from here on
    put_at(out, STDOUT_FILENO);
    put_at(err, STDERR_FILENO);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

// The exit status of a child: 128+N for signal N, 127 when it cannot be waited for (or was not
// started: pid -1).
int wait_for(pid_t pid)
{
  if (pid < 0) {
    return 127;
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

// A member of pg-run's report, or "" / 0 when it is missing or of another type.
std::string text_of(const nlohmann::json& j, const char* key)
{
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

} // namespace

int run_and_wait(const std::vector<std::string>& argv, ChildOutput out)
{
  UniqueFd null;
  if (out != ChildOutput::Inherit) {
    null = UniqueFd(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  }
  return wait_for(start_child(argv, null.get(), out == ChildOutput::None ? null.get() : -1));
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

PgRunReport run_pg_run_json(const std::vector<std::string>& args)
{
  std::vector<std::string> with_json{"--json"};
  with_json.insert(with_json.end(), args.begin(), args.end());
  const std::vector<std::string> argv = pg_run_argv(with_json); // throws when there is none
  std::optional<Pipe> out_pipe = make_pipe(O_CLOEXEC);
  if (!out_pipe) {
    return {};
  }
  const pid_t pid = start_child(argv, out_pipe->write.get(), -1);
  if (pid < 0) {
    return {};
  }
  out_pipe->write.reset(); // the end of file comes when pg-run (and what it left behind) closed it
  const UniqueFd read_end = std::move(out_pipe->read);
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(read_end.get(), buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  PgRunReport r;
  r.status = wait_for(pid);
  r.report = nlohmann::json::parse(out, nullptr, false);
  if (r.report.is_discarded() || !r.report.is_object()) {
    r.report = nullptr;
  }
  return r;
}

pid_t report_pid(const nlohmann::json& report, const char* key)
{
  const auto it = report.is_object() ? report.find(key) : report.end();
  return it != report.end() && it->is_number_integer() ? it->get<pid_t>() : 0;
}

void take_launch_report(CtlResult& r, const PgRunReport& run, Millis wait)
{
  const nlohmann::json& j = run.report;
  if (!j.is_object()) {
    r.message = fmt::format("not started (pg-run's status {})", run.status);
    return;
  }
  const std::string state = text_of(j, "state");
  r.state = run_state_from(state);
  const bool ended = !j.contains("error") && j.contains("last_exit") && j["last_exit"].is_object();
  if (run.status != k_exit_ok) {
    if (ended && j.contains("log_tail") && j["log_tail"].is_array() && !j["log_tail"].empty()) {
      fmt::print(stderr, "last output ({}):\n", text_of(j, "log"));
      for (const auto& line : j["log_tail"]) {
        fmt::print(stderr, "  {}\n", line.is_string() ? line.get<std::string>() : line.dump());
      }
    }
    r.message = fmt::format("not started (pg-run's status {})", run.status);
    return;
  }
  r.ok = true;
  if (ended) { // a task that completed within the wait
    r.message = early_end_text(wait, j["last_exit"]);
    return;
  }
  const pid_t pid = report_pid(j, "pid");
  r.pid = pid > 0 ? std::optional<pid_t>(pid) : std::nullopt;
  r.message = receipt_text(text_of(j, "log"), wait, state == "starting", pid,
                           report_pid(j, "supervisor_pid"));
}

JobView look_after(const JobDir& dir, CtlResult& r)
{
  JobView after = view_job(dir);
  if (after.state) {
    r.state = after.shown;
    if (after.state->pid && after.supervisor_alive) {
      r.pid = after.state->pid;
    }
  }
  return after;
}

Launched launch_through_pg_run(CtlResult& r, const JobsAt& jobs, const JobDir* dir,
                               const std::string& name, const std::vector<std::string>& args,
                               Millis wait)
{
  const PgRunReport run = run_pg_run_json(args); // pg-run says why on stderr when it fails
  take_launch_report(r, run, wait);
  Launched out{run.status, report_pid(run.report, "supervisor_pid")};
  if (r.state) {
    return out;
  }
  // No report, or an error report (it has no state): what the record says.
  std::optional<JobDir> found;
  if (dir == nullptr) {
    const JobsAt now = jobs.dir ? JobsAt{} : open_jobs(jobs.path); // made by the launch
    const std::optional<StateDir>& at = jobs.dir ? jobs.dir : now.dir;
    found = at ? at->job(name, false) : std::nullopt;
    dir = found ? &*found : nullptr;
  }
  if (dir != nullptr) {
    const JobView after = look_after(*dir, r);
    if (out.supervisor == 0 && after.state) {
      out.supervisor = after.state->supervisor.pid;
    }
  }
  return out;
}

} // namespace pg
