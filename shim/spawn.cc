#include "spawn.h"

#include "cgroup.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstring>

namespace pg {

namespace {

// The step at which the child failed before its exec.
enum class ChildStep { None, Chdir, Execve, Setup, Limit, CgroupJoin };

struct ChildError {
  int error;
  ChildStep step;
  size_t limit; // with ChildStep::Limit: the index of the limit in the request
};

// A --limit as setrlimit(2) takes it, made before the clone.
struct ChildLimit {
  int resource;
  struct rlimit value;
};

// What the child needs, prepared by the parent before the clone. The child shares the
// parent's memory (CLONE_VM) while the parent is suspended (CLONE_VFORK) until the child has
// exec'd or exited: it calls only async-signal-safe functions, and writes nothing of the
// parent's but err and self_pid_digits.
struct ChildArgs {
  const SpawnRequest* req;
  char* const* argv;
  char* const* envp;
  char* self_pid_digits;
  const std::vector<ChildLimit>* limits;
  pid_t parent;
  ChildError err;              // set (step not None) by a child that failed before its exec
  size_t born_in = ~size_t{0}; // the index of the cgroup.procs of the cgroup it was created in
};

[[noreturn]] __attribute__((no_sanitize("address"))) void child_fail(ChildArgs* a, ChildStep step,
                                                                     size_t limit = 0)
{
  a->err = ChildError{errno, step, limit};
  ::_exit(127);
}

// Async-signal-safe: v's digits and a NUL into out (room for 24 chars).
__attribute__((no_sanitize("address"))) void write_decimal(char* out, pid_t v)
{
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0 && n < 23);
  for (int i = 0; i < n; ++i) {
    out[i] = digits[n - 1 - i];
  }
  out[n] = '\0';
}

// The child, on its own small stack. Not instrumented by ASan: it runs on a stack ASan does
// not know, and ends in exec or _exit without unwinding, which would leave poisoned shadow.
__attribute__((no_sanitize("address"))) int child_main(void* arg)
{
  auto* a = static_cast<ChildArgs*>(arg);
  const SpawnRequest& req = *a->req;
  // Default dispositions, then an empty mask (every signal is blocked until then, so no
  // handler of the parent's runs here), whatever pg-run inherited (nohup, &).
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) {
    if (s != SIGKILL && s != SIGSTOP &&
        (req.reset_signals == nullptr || ::sigismember(req.reset_signals, s) == 1)) {
      ::sigaction(s, &dfl, nullptr);
    }
  }
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::setpgid(0, 0) < 0) {
    child_fail(a, ChildStep::Setup);
  }
  // Into the job's cgroup before anything else: every process it starts is born there.
  if (int e = cgroup_join_fds(req.cgroup_fds, req.cgroup_fd_count, a->born_in); e != 0) {
    errno = e;
    child_fail(a, ChildStep::CgroupJoin);
  }
  if (req.pdeath_signal != 0) {
    // PR_SET_PDEATHSIG follows the thread that forked us; the supervisor has one thread.
    ::prctl(PR_SET_PDEATHSIG, req.pdeath_signal);
    if (::getppid() != a->parent) {
      ::_exit(128 + req.pdeath_signal); // the supervisor is already gone
    }
  }
  int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull < 0 || ::dup2(devnull, 0) < 0 || ::dup2(req.stdout_fd, 1) < 0 ||
      ::dup2(req.stderr_fd, 2) < 0) {
    child_fail(a, ChildStep::Setup);
  }
  // No descriptor of pg-run's beyond 0-2.
  ::close_range(3, ~0U, 0);
  ::umask(static_cast<mode_t>(req.umask));
  // The job's own limits: a limit that cannot be set fails the run (it never runs without).
  const std::vector<ChildLimit>& limits = *a->limits;
  for (size_t i = 0; i < limits.size(); ++i) {
    if (::setrlimit(static_cast<__rlimit_resource_t>(limits[i].resource), &limits[i].value) < 0) {
      child_fail(a, ChildStep::Limit, i);
    }
  }
  if (a->self_pid_digits != nullptr) {
    write_decimal(a->self_pid_digits, ::getpid());
  }
  if (::chdir(req.cwd.c_str()) < 0) {
    child_fail(a, ChildStep::Chdir);
  }
  ::execve(req.command.c_str(), a->argv, a->envp);
  child_fail(a, ChildStep::Execve);
}

#if defined(__x86_64__)
// clone3(2)'s arguments (linux/sched.h, struct clone_args; the kernel's ABI, fixed since 5.7).
struct Clone3Args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
      set_tid_size, cgroup;
};
constexpr uint64_t k_clone_into_cgroup = 0x200000000ULL; // CLONE_INTO_CGROUP

// clone3 with the child running fn(arg) on the stack args names, as glibc's clone(3) does for
// clone(2) (glibc has no clone3 wrapper): the child never returns here; it execs or exits, and
// exits with fn's value should fn return. The parent gets the pid or -errno.
__attribute__((no_sanitize("address"))) long clone3_run(Clone3Args* args, int (*fn)(void*),
                                                        void* arg)
{
  long ret;
  register int (*r12)(void*) asm("r12") = fn;
  register void* r13 asm("r13") = arg;
  asm volatile("syscall\n\t"
               "test %%rax, %%rax\n\t"
               "jnz 1f\n\t"
               "xor %%ebp, %%ebp\n\t" // the child: on its own stack, 16-byte aligned
               "mov %%r13, %%rdi\n\t"
               "call *%%r12\n\t"
               "mov %%eax, %%edi\n\t"
               "mov $60, %%eax\n\t" // exit(2)
               "syscall\n\t"
               "hlt\n"
               "1:\n\t"
               : "=a"(ret)
               : "a"(SYS_clone3), "D"(args), "S"(sizeof(Clone3Args)), "r"(r12), "r"(r13)
               : "rcx", "r11", "memory");
  return ret;
}
#endif

// Starts child_main(args) on stack, vfork-style, in req's cgroup2 directory when there is one
// and the kernel can (clone3 with CLONE_INTO_CGROUP, Linux 5.7): then the child is born in the
// job's cgroup and does not move itself there, a move costing ~10 ms (an RCU grace period) each
// start. Else clone(2), and the child joins by cgroup.procs. The pid, or -1 with errno.
pid_t clone_child(const SpawnRequest& req, ChildArgs& args, char* stack, size_t size)
{
#if defined(__x86_64__)
  // Refused for good once (an older kernel, a seccomp filter, a cgroup the kernel will not
  // create in): not tried again by this supervisor. A passing failure (EAGAIN of a pids cap or
  // RLIMIT_NPROC, ENOMEM) falls back for this start only.
  static bool no_clone3 = false;
  if (req.cgroup_into_fd >= 0 && !no_clone3) {
    Clone3Args c{};
    c.flags = CLONE_VM | CLONE_VFORK | k_clone_into_cgroup;
    c.exit_signal = SIGCHLD;
    c.stack = reinterpret_cast<uint64_t>(stack);
    c.stack_size = size;
    c.cgroup = static_cast<uint64_t>(req.cgroup_into_fd);
    args.born_in = req.cgroup_into_index;
    const long pid = clone3_run(&c, child_main, &args);
    if (pid >= 0) {
      return static_cast<pid_t>(pid);
    }
    args.born_in = ~size_t{0};
    for (const long refused : {ENOSYS, EINVAL, E2BIG, EPERM, EOPNOTSUPP, EBADF}) {
      no_clone3 = no_clone3 || pid == -refused;
    }
  }
#else
  (void)req;
#endif
  return ::clone(child_main, stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
}

// What a child that failed before its exec (err) reports for req.
SpawnResult child_failed(const SpawnRequest& req, const ChildError& err)
{
  SpawnResult r;
  r.error = err.error;
  switch (err.step) {
  case ChildStep::Chdir:
    r.what = "chdir " + req.cwd;
    break;
  case ChildStep::Execve:
    r.what = "execve " + req.command;
    break;
  case ChildStep::Limit:
    r.what = "setrlimit " + limit_text(req.limits[err.limit]);
    r.failure = SpawnResult::Failure::Limit;
    break;
  case ChildStep::CgroupJoin:
    r.what = "joining the job's cgroup (writing to its cgroup.procs)";
    r.failure = SpawnResult::Failure::Cgroup;
    break;
  case ChildStep::None:
  case ChildStep::Setup:
    r.what = "setting up the child";
    break;
  }
  return r;
}

} // namespace

SpawnResult SpawnResult::failed_setup(std::string why)
{
  SpawnResult r;
  r.failure = Failure::Cgroup;
  r.detail = std::move(why);
  return r;
}

int SpawnResult::shell_status() const
{
  if (failure != Failure::Command) {
    return 1;
  }
  return error == ENOENT ? 127 : 126;
}

std::string SpawnResult::message() const
{
  if (!detail.empty()) {
    return detail;
  }
  std::string m = what + ": " + std::strerror(error);
  if (failure == Failure::Limit && error == EPERM) {
    m += " (a hard limit above pg-run's own takes root or CAP_SYS_RESOURCE";
    m += what.starts_with("setrlimit nofile=") ? "; nofile at most fs.nr_open)" : ")";
  }
  return m;
}

sigset_t non_default_signals()
{
  sigset_t set;
  ::sigemptyset(&set);
  for (int s = 1; s < NSIG; ++s) {
    struct sigaction now {};
    // glibc's own signals (32, 33) are refused: never the job's business.
    if (s != SIGKILL && s != SIGSTOP && ::sigaction(s, nullptr, &now) == 0 &&
        now.sa_handler != SIG_DFL) {
      ::sigaddset(&set, s);
    }
  }
  return set;
}

SpawnResult spawn(const SpawnRequest& req)
{
  // Everything the child needs is built before fork: only async-signal-safe calls follow.
  std::vector<char*> argv;
  for (const auto& a : req.argv) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : req.env) {
    envp.push_back(const_cast<char*>(e.c_str()));
  }
  // KEY=<pid>: room for the digits now, written by the child (only it knows its pid).
  std::string self_pid;
  char* self_pid_digits = nullptr;
  if (!req.self_pid_var.empty()) {
    self_pid = req.self_pid_var + "=" + std::string(24, '\0');
    self_pid_digits = self_pid.data() + req.self_pid_var.size() + 1;
    envp.push_back(self_pid.data());
  }
  envp.push_back(nullptr);
  std::vector<ChildLimit> limits;
  for (const Limit& l : req.limits) {
    limits.push_back({limit_resource_id(l), to_rlimit(l)});
  }

  ChildArgs args{&req,
                 argv.data(),
                 envp.data(),
                 self_pid_digits,
                 &limits,
                 ::getpid(),
                 {0, ChildStep::None, 0},
                 ~size_t{0}};
  // The child's stack; the parent is suspended while the child uses it.
  alignas(16) static char stack[16384];
  // Every signal blocked across the clone: no handler may run in the child on shared memory.
  sigset_t all;
  sigset_t old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t pid = clone_child(req, args, stack, sizeof stack);
  const int clone_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    SpawnResult f;
    f.error = clone_errno;
    f.what = "fork";
    return f;
  }
  if (args.err.step == ChildStep::None) {
    SpawnResult ok;
    ok.pid = pid;
    return ok;
  }
  // The child failed before exec: reap it here, so the event loop never sees it.
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return child_failed(req, args.err);
}

Resolved resolve_command(const std::string& argv0, const std::string& path_var,
                         const std::string& cwd)
{
  auto absolute = [&](const std::string& p) { return p[0] == '/' ? p : cwd + "/" + p; };
  auto check = [](const std::string& p) -> int {
    struct stat st {};
    if (::stat(p.c_str(), &st) < 0) {
      return errno == ENOENT || errno == ENOTDIR ? ENOENT : errno;
    }
    if (S_ISDIR(st.st_mode)) {
      return EISDIR;
    }
    if (::faccessat(AT_FDCWD, p.c_str(), X_OK, AT_EACCESS) < 0) {
      return EACCES;
    }
    return 0;
  };
  if (argv0.empty()) {
    return {"", ENOENT};
  }
  if (argv0.find('/') != std::string::npos) {
    std::string p = absolute(argv0);
    return {p, check(p)};
  }
  // As execvp: the first executable match wins; a non-executable match is remembered (126).
  Resolved found{"", ENOENT};
  size_t start = 0;
  for (;;) {
    size_t colon = path_var.find(':', start);
    std::string dir = path_var.substr(start, colon == std::string::npos ? colon : colon - start);
    std::string p = absolute((dir.empty() ? "." : dir) + "/" + argv0);
    int e = check(p);
    if (e == 0) {
      return {p, 0};
    }
    if (e != ENOENT && found.error == ENOENT) {
      found = {p, e};
    }
    if (colon == std::string::npos) {
      break;
    }
    start = colon + 1;
  }
  return found;
}

} // namespace pg
