#include "launch.h"

#include "caps.h"
#include "environ.h"

#include "control.h"
#include "failures.h"
#include "launch_json.h"
#include "leftovers.h"
#include "lost_run.h"
#include "output.h"
#include "proc.h"
#include "program_path.h"
#include "run_args.h"
#include "signals.h"
#include "state_dir.h"
#include "supervise_plan.h"
#include "supervisor.h"
#include "syscalls.h"
#include "tail.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace pg {

namespace {

void say_error(const std::string& msg)
{
  fmt::print(stderr, "pg-run: error: {}\n", msg);
}

// With --json, one object on stdout whatever the outcome (scripts parse stdout, not stderr).
void print_json(const nlohmann::json& j)
{
  fmt::print("{}\n", dump_line(j));
  std::fflush(stdout);
}

// A launch that ends in an error: the one line on stderr, and with --json its object on stdout
// ({"name", "error", "status"} plus extra's keys). Returns status.
int fail(const Options& opt, int status, const std::string& msg,
         const nlohmann::json& extra = nullptr)
{
  say_error(msg);
  if (opt.json) {
    nlohmann::json j = launch_error_json(opt.name, msg, status);
    if (extra.is_object()) {
      j.update(extra);
    }
    print_json(j);
  }
  return status;
}

// The command could not be executed (126/127), as the supervisor recorded it.
int fail_exec(const Options& opt, int status, const std::string& msg,
              const std::optional<ExitRecord>& last_exit)
{
  say_error(msg);
  if (opt.json) {
    print_json(exec_failure_json(opt.name, msg, status,
                                 last_exit ? to_json(*last_exit) : nlohmann::json(nullptr)));
  }
  return status;
}

bool is_exec_status(int status)
{
  return status == 126 || status == 127;
}

std::optional<JobState> read_state(const JobDir& job)
{
  std::string text;
  try {
    if (!job.read("state.json", text)) {
      return std::nullopt;
    }
    return parse_job_state(text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Kills every leftover of a lost job (common/leftovers.h), and waits until none is left.
bool kill_leftovers(const JobState& lost)
{
  return end_leftovers(lost, 0, Millis(0), Millis(5000));
}

// --replace: stop the running supervisor of this name through a request, and wait for it.
bool stop_running(const JobDir& job, const Options& opt)
{
  auto st = read_state(job);
  if (st) {
    UniqueFd sup = open_supervisor(st->supervisor);
    if (sup) {
      const Millis timeout = st->definition.stop_timeout;
      if (send_request(sup.get(), Request{Verb::Stop, 0}) &&
          !wait_exit(sup.get(), timeout + Millis(5000))) {
        pidfd_send_signal(sup.get(), SIGKILL, nullptr);
        wait_exit(sup.get(), Millis(5000));
      }
    }
  }
  (void)opt;
  return true;
}

void close_inherited_fds(const std::vector<int>& keep)
{
  std::vector<int> to_close;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    const int own = ::dirfd(d);
    while (dirent* e = ::readdir(d)) {
      int fd = std::atoi(e->d_name);
      if (e->d_name[0] == '.' || fd < 3 || fd == own) {
        continue;
      }
      if (std::find(keep.begin(), keep.end(), fd) == keep.end()) {
        to_close.push_back(fd);
      }
    }
    ::closedir(d);
  }
  for (int fd : to_close) {
    ::close(fd);
  }
}

void point_stdio_at_devnull()
{
  int fd = ::open("/dev/null", O_RDWR);
  if (fd >= 0) {
    ::dup2(fd, 0);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    if (fd > 2) {
      ::close(fd);
    }
  }
}

// The signals PID 1 passes on to the supervisor, and SIGCHLD.
sigset_t init_signals()
{
  sigset_t set;
  ::sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD}) {
    ::sigaddset(&set, s);
  }
  ::sigaddset(&set, control_signal());
  return set;
}

// After the supervisor: the alert helper may still run the last hooks (the end of a
// container is when its job failed). PID 1's exit would kill them all, so it waits for its
// other children, at most linger, then ends.
void drain_children(Millis linger)
{
  const Nanos until = monotonic_now() + linger;
  sigset_t chld;
  ::sigemptyset(&chld);
  ::sigaddset(&chld, SIGCHLD);
  for (;;) {
    int ws = 0;
    pid_t p = 0;
    while ((p = ::waitpid(-1, &ws, WNOHANG)) > 0) {
    }
    if (p < 0 || monotonic_now() >= until) {
      return; // ECHILD: nobody left
    }
    const Nanos left = until - monotonic_now();
    timespec ts{static_cast<time_t>(left.count() / 1'000'000'000),
                static_cast<long>(left.count() % 1'000'000'000)};
    ::sigtimedwait(&chld, nullptr, &ts);
  }
}

// PID 1's whole life: reap every orphan, pass signals on to the supervisor with their sender
// kept (a queued signal carrying the original si_pid, so an outside stop still names who sent
// it), and end with the supervisor's status.
int init_loop(pid_t supervisor, const sigset_t& set, Millis linger)
{
  for (;;) {
    siginfo_t si{};
    if (::sigwaitinfo(&set, &si) < 0) {
      continue; // EINTR
    }
    if (si.si_signo != SIGCHLD) {
      siginfo_t fwd = si;
      if (fwd.si_code >= 0) {
        fwd.si_code = SI_QUEUE; // the kernel lets a process queue only negative codes
      }
      if (::syscall(SYS_rt_sigqueueinfo, supervisor, si.si_signo, &fwd) < 0) {
        ::kill(supervisor, si.si_signo);
      }
      continue;
    }
    for (;;) {
      int ws = 0;
      const pid_t p = ::waitpid(-1, &ws, WNOHANG);
      if (p <= 0) {
        break;
      }
      if (p == supervisor) {
        drain_children(linger);
        return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
      }
    }
  }
}

// The launch receipt: one line, or one JSON object with --json.
void print_receipt(const Options& opt, const nlohmann::json& r)
{
  if (opt.quiet) {
    return;
  }
  if (opt.json) {
    fmt::print("{}\n", dump_line(r));
  } else {
    fmt::print("{}: {}\n", opt.name,
               receipt_text(opt.def.log, opt.wait, r.value("state", "") == "starting",
                            r.value("pid", 0), r.value("supervisor_pid", 0)));
  }
  std::fflush(stdout);
}

// The last n lines of a file, read from its tail only.
std::vector<std::string> tail_lines(const std::string& path, size_t n)
{
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  return fd ? last_lines(fd.get(), n) : std::vector<std::string>{};
}

// --wait saw the run end: print its exact end and the last output lines.
int report_early_end(const Options& opt, const std::string& json_text)
{
  nlohmann::json e;
  try {
    e = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception&) {
    return fail(opt, k_exit_env,
                fmt::format("{}: ended during --wait (its record was garbled)", opt.name));
  }
  const bool completed = e.value("outcome", "") == "completed";
  // A task that completed within the wait did what it was asked: that is a success.
  const int exit_status = completed ? k_exit_ok : k_exit_env;
  const double wait_s = std::chrono::duration<double>(opt.wait).count();
  const std::string summary = opt.name + ": " + early_end_text(opt.wait, e);
  auto lines = tail_lines(opt.def.log, 10);
  if (opt.json) {
    // stdout is the JSON object alone; a failure still says its one line on stderr.
    if (!completed) {
      fmt::print(stderr, "pg-run: {}\n", summary);
    }
    print_json(ended_json(opt.name, e, opt.def.log, lines, wait_s, exit_status));
    return exit_status;
  }
  std::FILE* out = completed ? stdout : stderr;
  fmt::print(out, "{}\n", summary);
  if (!lines.empty()) {
    fmt::print(out, "last output ({}):\n", opt.def.log);
    for (const auto& l : lines) {
      fmt::print(out, "  {}\n", l);
    }
  }
  return exit_status;
}

// What a launch holds once it may start the job: the state directory, the job's directory,
// its lock (held) and its log (open).
struct Claim {
  std::optional<StateDir> sd;
  std::optional<JobDir> job;
  UniqueFd lock;
  UniqueFd log;
  bool replaced = false; // --replace ended a running job or a lost one's leftovers
  PriorRuns prior;
};

// What the job's history goes on from: the previous supervisor's state.json (not yet ours: we
// hold the lock, so a state that says live belonged to a supervisor that died) and events.
PriorRuns prior_runs(const JobDir& job, bool keep_ack)
{
  PriorRuns p;
  const std::optional<JobState> prev = read_state(job); // damaged: nothing to go on from
  const HistoryTail tail = read_history_tail(job, prev ? prev->definition.log : "");
  p.run_base = last_run_number(prev, tail);
  // 0 after a state that did not keep them: the history before it is not counted.
  p.failures = prev && prev->failures ? *prev->failures : 0;
  if (keep_ack && prev) {
    p.failures_since_ack = prev->failures_since_ack;
    p.last_ack_at = prev->last_ack_at;
  }
  if (prev) {
    p.lost = lost_run_exit(*prev, tail);
    p.lost_heard = !state_acknowledged(*prev);
  }
  return p;
}

// Takes the job's lock (with --replace, from a running supervisor), makes sure no process of
// a lost run lives, and opens the log. Returns the exit status of a failure, or nullopt.
std::optional<int> claim(const Options& opt, Claim& c)
{
  try {
    c.sd.emplace(StateDir::open(opt.state_dir, true));
    c.job = c.sd->job(opt.name, true);
    c.lock = c.job->open_lock();
  } catch (const StateDirError& e) {
    return fail(opt, k_exit_env, e.what());
  }
  if (!try_lock(c.lock.get())) {
    auto st = read_state(*c.job);
    if (!opt.replace) {
      return fail(
          opt, k_exit_busy,
          fmt::format("{} is already running (supervisor {}); use --replace, or pg-ctl stop {}",
                      opt.name, st ? st->supervisor.pid : 0, opt.name),
          {{"state", st ? nlohmann::json(to_string(st->state)) : nlohmann::json(nullptr)},
           {"supervisor_pid", st ? nlohmann::json(st->supervisor.pid) : nlohmann::json(nullptr)}});
    }
    stop_running(*c.job, opt);
    c.replaced = true;
    const auto deadline = monotonic_now() + std::chrono::seconds(5);
    while (!try_lock(c.lock.get())) {
      if (monotonic_now() > deadline) {
        return fail(opt, k_exit_busy,
                    fmt::format("{}: the running supervisor did not let go of its lock", opt.name));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  // We hold the lock. A state that still says alive belonged to a supervisor that died (lost):
  // never start a second copy while processes of that run live.
  if (auto prev = read_state(*c.job); prev && is_live(prev->state)) {
    auto left = leftovers(*prev);
    if (!left.empty()) {
      if (!opt.replace) {
        return fail(opt, k_exit_busy,
                    fmt::format("{} is lost but {} of its processes still live ({}); use "
                                "--replace to end them first",
                                opt.name, left.size(), leftover_pids_text(left)),
                    {{"state", "lost"}});
      }
      c.replaced = true;
      if (!kill_leftovers(*prev)) {
        return fail(opt, k_exit_busy,
                    fmt::format("{}: leftovers of the lost job would not die", opt.name),
                    {{"state", "lost"}});
      }
    }
  }
  c.job->remove_stale_temps(); // a killed supervisor's half-written state, if any
  // The launch environment, for pg-ctl start and revive: a job that cannot be started again as
  // it was launched is refused now, not found out after a reboot.
  try {
    c.job->write_file("environ",
                      environ_text(opt.launch_env ? *opt.launch_env : current_environ()));
  } catch (const std::system_error& e) {
    return fail(opt, k_exit_env, fmt::format("cannot keep the launch environment: {}", e.what()));
  }
  c.log.reset(::open(opt.def.log.c_str(),
                     log_open_flags(opt.def.log == c.job->path() + "/output.log"), 0600));
  if (!c.log) {
    return fail(opt, k_exit_env, fmt::format("--log {}: {}", opt.def.log, std::strerror(errno)));
  }
  c.prior = prior_runs(*c.job, opt.keep_ack);
  return std::nullopt;
}

// PID 1 (a container's entrypoint): as tini does, PID 1 only reaps and forwards signals, and
// the supervisor runs as its child. Every orphan is PID 1's, so were the supervisor PID 1,
// what pg-run starts outside the job's tree (the alert helper) would be its child, counted and
// signalled as the job. Returns PID 1's exit status, or nullopt in the child.
std::optional<int> become_init(const Options& opt, Claim& c)
{
  sigset_t all = init_signals();
  ::sigprocmask(SIG_BLOCK, &all, nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t child = ::fork();
  if (child < 0) {
    return fail(opt, k_exit_env, std::string("fork: ") + std::strerror(errno));
  }
  if (child > 0) {
    // Nothing of the job's: its lock must go with the supervisor, not outlive it here.
    c = Claim{};
    // The alert helper's last hooks get their --alert-timeout, and a moment more.
    const Millis linger =
        opt.def.on_failure.empty() ? Millis(0) : opt.def.alert_timeout + Millis(2000);
    return init_loop(child, all, linger);
  }
  ::sigprocmask(SIG_UNBLOCK, &all, nullptr);
  return std::nullopt;
}

int run_foreground(const Options& opt, Claim& c)
{
  Supervisor sup(opt, c.prior, std::move(*c.job), std::move(c.lock), std::move(c.log), true);
  if (auto err = sup.start()) {
    const std::string msg = fmt::format("{}: {}", opt.name, after_replace(c.replaced, err->second));
    return is_exec_status(err->first) ? fail_exec(opt, err->first, msg, sup.state().last_exit)
                                      : fail(opt, err->first, msg);
  }
  if (!opt.quiet && opt.json) {
    // Our stdout carries the job's output: the receipt goes to stderr, JSON as asked.
    fmt::print(stderr, "{}\n", dump_line(sup.receipt()));
  } else if (!opt.quiet) {
    // Our stdout carries the job's output: the receipt goes to stderr.
    fmt::print(stderr, "pg-run: {}: running, pid {} (supervisor {}), log {}\n", opt.name,
               sup.state().pid.value_or(0), ::getpid(), opt.def.log);
  }
  return sup.loop();
}

// The detached supervisor, in the grandchild: execs pg-supervise with the plan's memfd, and
// never returns into the launcher's code (a failed exec is reported on the pipe, then _exit).
[[noreturn]] void exec_supervisor(const SupervisePlan& plan, int plan_fd, pid_t middle,
                                  int report_in, const std::string& supervise)
{
  // Until the middle process has exited, getppid() names it, not the parent we end up with
  // (init or a subreaper), which the state must record: wait for its exit on a pidfd.
  if (UniqueFd gone = pidfd_open(middle); gone) {
    wait_exit(gone.get(), Millis(5000));
  }
  ::close(report_in);
  point_stdio_at_devnull();
  const std::vector<int> keep{plan.job_fd, plan.lock_fd, plan.log_fd, plan.report_fd, plan_fd};
  close_inherited_fds(keep);
  for (int fd : keep) {
    ::fcntl(fd, F_SETFD, 0); // across the exec; pg-supervise makes them close-on-exec again
  }
  std::string why;
  if (::chdir("/") < 0) {
    why = fmt::format("chdir /: {}", std::strerror(errno));
  } else {
    const std::string fd_arg = std::to_string(plan_fd);
    const char* argv[] = {"pg-supervise", fd_arg.c_str(), plan.opt.name.c_str(), nullptr};
    ::execve(supervise.c_str(), const_cast<char* const*>(argv), environ);
    why = fmt::format("cannot run {}: {}", supervise, std::strerror(errno));
  }
  write_all(plan.report_fd, fmt::format("fail\t1\t{}\n", why));
  ::_exit(k_exit_env);
}

// The launcher's side: what the supervisor answered on the pipe, printed as the user asked.
int read_report(const Options& opt, const JobDir& job, int fd)
{
  std::string reply;
  char buf[4096];
  for (;;) {
    ssize_t n = retry_eintr([&] { return ::read(fd, buf, sizeof buf); });
    if (n <= 0) {
      break;
    }
    reply.append(buf, static_cast<size_t>(n));
  }
  if (reply.starts_with("ok\t")) {
    try {
      print_receipt(opt, nlohmann::json::parse(reply.substr(3)));
    } catch (const nlohmann::json::exception&) {
      return fail(opt, k_exit_env,
                  fmt::format("{}: started, but its receipt was garbled", opt.name));
    }
    return k_exit_ok;
  }
  if (reply.starts_with("ended\t")) {
    return report_early_end(opt, reply.substr(6));
  }
  if (reply.starts_with("fail\t")) {
    size_t tab = reply.find('\t', 5);
    int status = std::atoi(reply.substr(5, tab - 5).c_str());
    std::string why = tab == std::string::npos ? "" : reply.substr(tab + 1);
    while (!why.empty() && why.back() == '\n') {
      why.pop_back();
    }
    const std::string msg = fmt::format("{}: {}", opt.name, why);
    if (status > 0 && is_exec_status(status)) {
      auto st = read_state(job); // the supervisor recorded the attempt before it answered
      return fail_exec(opt, status, msg, st ? st->last_exit : std::nullopt);
    }
    return fail(opt, status > 0 ? status : k_exit_env, msg);
  }
  return fail(opt, k_exit_env,
              fmt::format("{}: the supervisor died before the job started", opt.name));
}

// Detaches: fork, setsid, fork; the supervisor (a grandchild) answers on a pipe once the job
// has exec'd (or when --wait is over). Returns the launcher's exit status.
int run_detached(const Options& opt, Claim& c, const std::string& supervise)
{
  std::optional<Pipe> report = make_pipe(O_CLOEXEC);
  if (!report) {
    return fail(opt, k_exit_env, std::string("pipe: ") + std::strerror(errno));
  }
  const SupervisePlan plan{
      opt,          c.prior,     c.job->fd(),         c.job->path(), c.job->mount_id(),
      c.lock.get(), c.log.get(), report->write.get(), c.replaced};
  UniqueFd plan_fd;
  if (auto why = write_plan_fd(plan, plan_fd)) {
    return fail(opt, k_exit_env, fmt::format("{}: {}", opt.name, after_replace(c.replaced, *why)));
  }
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t mid = ::fork();
  if (mid < 0) {
    return fail(opt, k_exit_env, std::string("fork: ") + std::strerror(errno));
  }
  if (mid == 0) {
    // A new session, then a second fork so the supervisor is no session leader and can never
    // acquire a terminal again.
    ::setsid();
    const pid_t middle = ::getpid();
    pid_t sup_pid = ::fork();
    if (sup_pid != 0) {
      ::_exit(sup_pid < 0 ? 1 : 0);
    }
    exec_supervisor(plan, plan_fd.get(), middle, report->read.get(), supervise);
  }
  report->write.reset();
  plan_fd.reset();
  int ws = 0;
  while (::waitpid(mid, &ws, 0) < 0 && errno == EINTR) {
  }
  return read_report(opt, *c.job, report->read.get());
}

} // namespace

int launch(const Options& opt)
{
  const bool foreground = opt.foreground || ::getpid() == 1;
  std::string supervise;
  if (!foreground) {
    auto found = find_pg_program("pg-supervise");
    if (!found) {
      return fail(opt, k_exit_env,
                  "cannot find pg-supervise, the supervisor (next to this program, or "
                  "in " PG_LIBEXEC_FROM_BIN " from it): is process-guardian installed whole?");
    }
    supervise = std::move(*found);
  }
  // Before anything is created or stopped: a cap that cannot be enforced refuses the launch.
  // The supervisor makes the job's cgroup (and refuses what this check let through).
  if (caps_of(opt.def).any()) {
    if (auto why = caps_unavailable(opt.def, discover_cgroup_host())) {
      return fail(opt, k_exit_env, *why);
    }
  }
  Claim c;
  if (auto failed = claim(opt, c)) {
    return *failed;
  }
  if (foreground && ::getpid() == 1) {
    if (auto status = become_init(opt, c)) {
      return *status;
    }
  }
  return foreground ? run_foreground(opt, c) : run_detached(opt, c, supervise);
}

} // namespace pg
