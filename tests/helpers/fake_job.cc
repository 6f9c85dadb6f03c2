// fake_job: the supervised job of the end-to-end tests. It does what its flags say, in a fixed
// order: report what it inherited, install signal dispositions, print, fork the children it
// was asked for (waiting until each wrote its pidfile), allocate memory and burn CPU (--alloc-mb,
// --burn), write its own pidfile (so a test knows all of the above is in place), sleep, then exit
// or kill itself. Usage errors exit 64; an unexpected failure exits 70.
#include <dirent.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int k_usage = 64;
constexpr int k_failure = 70;

struct Named {
  int number;
  const char* name;
};

constexpr Named k_signals[] = {
    {SIGHUP, "HUP"},   {SIGINT, "INT"},   {SIGQUIT, "QUIT"}, {SIGILL, "ILL"},   {SIGTRAP, "TRAP"},
    {SIGABRT, "ABRT"}, {SIGBUS, "BUS"},   {SIGFPE, "FPE"},   {SIGKILL, "KILL"}, {SIGUSR1, "USR1"},
    {SIGSEGV, "SEGV"}, {SIGUSR2, "USR2"}, {SIGPIPE, "PIPE"}, {SIGALRM, "ALRM"}, {SIGTERM, "TERM"},
    {SIGCHLD, "CHLD"}, {SIGCONT, "CONT"}, {SIGSTOP, "STOP"}, {SIGTSTP, "TSTP"}, {SIGWINCH, "WINCH"},
};

const char* signal_name(int sig)
{
  for (const auto& s : k_signals) {
    if (s.number == sig) {
      return s.name;
    }
  }
  return "UNKNOWN";
}

std::optional<int> parse_signal(std::string_view text)
{
  if (text.starts_with("SIG")) {
    text.remove_prefix(3);
  }
  for (const auto& s : k_signals) {
    if (text == s.name) {
      return s.number;
    }
  }
  char* end = nullptr;
  std::string copy(text);
  long n = std::strtol(copy.c_str(), &end, 10);
  if (!copy.empty() && *end == '\0' && n > 0 && n < NSIG) {
    return static_cast<int>(n);
  }
  return std::nullopt;
}

// "250ms", "2s", "5m", "1h", or a bare number of seconds.
std::optional<long long> parse_millis(std::string_view text)
{
  std::string copy(text);
  char* end = nullptr;
  long long n = std::strtoll(copy.c_str(), &end, 10);
  if (end == copy.c_str() || n < 0) {
    return std::nullopt;
  }
  std::string_view unit(end);
  if (unit.empty() || unit == "s") {
    return n * 1000;
  }
  if (unit == "ms") {
    return n;
  }
  if (unit == "m") {
    return n * 60'000;
  }
  if (unit == "h") {
    return n * 3'600'000;
  }
  return std::nullopt;
}

struct Options {
  std::vector<std::pair<int, std::string>> prints; // 1 = stdout, 2 = stderr
  std::string report;
  std::vector<std::string> report_env;
  std::vector<int> traps;
  std::string trap_file;
  bool ignore_term = false;
  bool term_exit0 = false;
  std::string fork_daemon;
  long long daemon_ms = 60'000;
  bool daemon_clear_env = false; // the daemon re-executes itself without PG_* in its environment
  std::string leave_child;
  std::string escape_child;
  int orphans = 0;
  std::string orphans_file;
  std::string pidfile;
  long long alloc_mb = 0; // --alloc-mb: allocate and touch this much, kept until the end
  long long burn_ms = 0;  // --burn: spend this much CPU time (user) before the pidfile
  long long sleep_ms = 0;
  bool core = false;
  int raise_signal = 0;
  int exit_code = 0;
  std::vector<std::string> argv;
};

[[noreturn]] void usage(const std::string& why)
{
  std::fprintf(stderr, "fake_job: %s\n", why.c_str());
  std::exit(k_usage);
}

Options parse(int argc, char** argv)
{
  Options o;
  for (int i = 0; i < argc; ++i) {
    o.argv.emplace_back(argv[i]);
  }
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--") {
      break; // the rest is only recorded (--report's argv), never interpreted
    }
    if (a == "--ignore-term") {
      o.ignore_term = true;
      continue;
    }
    if (a == "--term-exit0") {
      o.term_exit0 = true;
      continue;
    }
    if (a == "--core") {
      o.core = true;
      continue;
    }
    if (a == "--daemon-clear-env") {
      o.daemon_clear_env = true;
      continue;
    }
    if (i + 1 >= argc) {
      usage("missing value or unknown flag: " + std::string(a));
    }
    const std::string v = argv[++i];
    auto millis = [&] {
      auto ms = parse_millis(v);
      if (!ms) {
        usage("not a duration: " + v);
      }
      return *ms;
    };
    auto sig = [&] {
      auto s = parse_signal(v);
      if (!s) {
        usage("not a signal: " + v);
      }
      return *s;
    };
    if (a == "--print") {
      o.prints.emplace_back(1, v);
    } else if (a == "--stderr") {
      o.prints.emplace_back(2, v);
    } else if (a == "--report") {
      o.report = v;
    } else if (a == "--report-env") {
      o.report_env.push_back(v);
    } else if (a == "--trap") {
      o.traps.push_back(sig());
    } else if (a == "--trap-file") {
      o.trap_file = v;
    } else if (a == "--fork-daemon") {
      o.fork_daemon = v;
    } else if (a == "--daemon-sleep") {
      o.daemon_ms = millis();
    } else if (a == "--leave-child") {
      o.leave_child = v;
    } else if (a == "--escape-child") {
      o.escape_child = v;
    } else if (a == "--orphans") {
      o.orphans = std::atoi(v.c_str());
    } else if (a == "--orphans-file") {
      o.orphans_file = v;
    } else if (a == "--pidfile") {
      o.pidfile = v;
    } else if (a == "--sleep") {
      o.sleep_ms = millis();
    } else if (a == "--raise") {
      o.raise_signal = sig();
    } else if (a == "--alloc-mb") {
      o.alloc_mb = std::atoll(v.c_str());
    } else if (a == "--burn") {
      o.burn_ms = millis();
    } else if (a == "--exit") {
      o.exit_code = std::atoi(v.c_str());
    } else {
      usage("unknown flag: " + std::string(a));
    }
  }
  return o;
}

// Sleeps the whole time even when signal handlers interrupt it.
void sleep_ms(long long ms)
{
  timespec until{};
  ::clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += static_cast<time_t>(ms / 1000);
  until.tv_nsec += static_cast<long>((ms % 1000) * 1'000'000);
  if (until.tv_nsec >= 1'000'000'000) {
    until.tv_sec += 1;
    until.tv_nsec -= 1'000'000'000;
  }
  while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) == EINTR) {
  }
}

// Writes text to path through a temporary file and rename, so readers see all of it or none.
void write_whole(const std::string& path, const std::string& text)
{
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      ::close(fd) < 0 || ::rename(tmp.c_str(), path.c_str()) < 0) {
    std::fprintf(stderr, "fake_job: cannot write %s: %s\n", path.c_str(), std::strerror(errno));
    ::_exit(k_failure);
  }
}

// Waits (up to 10 s) until path exists: a child wrote it, so the caller may go on.
void wait_for_file(const std::string& path)
{
  for (int i = 0; i < 10'000 && ::access(path.c_str(), F_OK) < 0; ++i) {
    sleep_ms(1);
  }
}

std::string join_ints(const std::vector<int>& v)
{
  std::string s;
  for (int x : v) {
    s += (s.empty() ? "" : ",") + std::to_string(x);
  }
  return s;
}

// key=value lines: what this process inherited from whoever started it.
void write_report(const Options& o)
{
  std::vector<int> fds;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    const int own = ::dirfd(d);
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') {
        continue;
      }
      int fd = std::atoi(e->d_name);
      if (fd > 2 && fd != own) {
        fds.push_back(fd);
      }
    }
    ::closedir(d);
  }
  sigset_t mask;
  ::sigprocmask(SIG_SETMASK, nullptr, &mask);
  std::vector<int> blocked;
  std::vector<int> ignored;
  std::vector<int> caught;
  for (int s = 1; s < NSIG; ++s) {
    if (::sigismember(&mask, s) == 1) {
      blocked.push_back(s);
    }
    struct sigaction sa {};
    if (::sigaction(s, nullptr, &sa) == 0) {
      if (sa.sa_handler == SIG_IGN) {
        ignored.push_back(s);
      } else if (sa.sa_handler != SIG_DFL) {
        caught.push_back(s);
      }
    }
  }
  char buf[4096];
  std::string cwd = ::getcwd(buf, sizeof buf) != nullptr ? buf : "?";
  ssize_t n = ::readlink("/proc/self/fd/0", buf, sizeof buf - 1);
  std::string stdin_target = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?";
  const mode_t mask_bits = ::umask(0);
  ::umask(mask_bits);
  char umask_text[8];
  std::snprintf(umask_text, sizeof umask_text, "%04o", static_cast<unsigned>(mask_bits));

  std::string r;
  auto put = [&](const std::string& k, const std::string& v) { r += k + "=" + v + "\n"; };
  put("pid", std::to_string(::getpid()));
  put("ppid", std::to_string(::getppid()));
  put("pgid", std::to_string(::getpgrp()));
  put("sid", std::to_string(::getsid(0)));
  put("cwd", cwd);
  put("umask", umask_text);
  put("stdin", stdin_target);
  put("fds", join_ints(fds));
  put("blocked", join_ints(blocked));
  put("ignored", join_ints(ignored));
  put("caught", join_ints(caught));
  put("argc", std::to_string(o.argv.size()));
  for (size_t i = 0; i < o.argv.size(); ++i) {
    put("argv" + std::to_string(i), o.argv[i]);
  }
  std::vector<std::string> keys{"PG_NAME", "PG_RUN_ID", "NOTIFY_SOCKET"};
  keys.insert(keys.end(), o.report_env.begin(), o.report_env.end());
  for (const auto& k : keys) {
    if (const char* v = std::getenv(k.c_str())) {
      put("env." + k, v);
    } else {
      put("unset." + k, "1");
    }
  }
  write_whole(o.report, r);
}

int g_trap_fd = -1;

void record(int sig)
{
  if (g_trap_fd < 0) {
    return;
  }
  char line[32];
  const char* name = signal_name(sig);
  size_t len = std::strlen(name);
  std::memcpy(line, name, len);
  line[len] = '\n';
  ssize_t ignored = ::write(g_trap_fd, line, len + 1);
  (void)ignored;
}

void on_trap(int sig)
{
  record(sig);
}

// The seeds' bug: a SIGTERM handler that calls exit(0), disguising a kill as a clean finish.
void on_term_exit0(int sig)
{
  record(sig);
  ::_exit(0);
}

void install(int sig, void (*handler)(int))
{
  struct sigaction sa {};
  sa.sa_handler = handler;
  ::sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(sig, &sa, nullptr);
}

void set_default(int sig)
{
  struct sigaction sa {};
  sa.sa_handler = SIG_DFL;
  ::sigaction(sig, &sa, nullptr);
}

// A start script that backgrounds a daemon: setsid + double fork; the daemon writes its pid.
void fork_daemon(const Options& o)
{
  pid_t mid = ::fork();
  if (mid < 0) {
    ::_exit(k_failure);
  }
  if (mid == 0) {
    ::setsid();
    pid_t daemon = ::fork();
    if (daemon != 0) {
      ::_exit(daemon < 0 ? k_failure : 0);
    }
    set_default(SIGTERM);
    if (o.daemon_clear_env) {
      // As a program that rewrites its environment (redis's and nginx's process titles, a
      // daemon that clears it): the same pid, with no PG_NAME or PG_RUN_ID in /proc/PID/environ.
      std::vector<std::string> env;
      for (char** e = environ; *e != nullptr; ++e) {
        if (!std::string_view(*e).starts_with("PG_NAME=") &&
            !std::string_view(*e).starts_with("PG_RUN_ID=")) {
          env.emplace_back(*e);
        }
      }
      std::vector<std::string> args{o.argv[0], "--pidfile", o.fork_daemon, "--sleep",
                                    std::to_string(o.daemon_ms) + "ms"};
      std::vector<char*> argv_p;
      std::vector<char*> env_p;
      for (auto& a : args) {
        argv_p.push_back(a.data());
      }
      argv_p.push_back(nullptr);
      for (auto& e : env) {
        env_p.push_back(e.data());
      }
      env_p.push_back(nullptr);
      ::execve("/proc/self/exe", argv_p.data(), env_p.data());
      ::_exit(k_failure);
    }
    write_whole(o.fork_daemon, std::to_string(::getpid()) + "\n");
    sleep_ms(o.daemon_ms);
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(mid, &status, 0) < 0 && errno == EINTR) {
  }
  wait_for_file(o.fork_daemon);
}

// A child that sleeps; escape: it leaves the process group (setsid) and ignores SIGTERM.
void fork_sleeper(const std::string& pidfile, bool escape)
{
  pid_t pid = ::fork();
  if (pid < 0) {
    ::_exit(k_failure);
  }
  if (pid == 0) {
    if (escape) {
      ::setsid();
      ::signal(SIGTERM, SIG_IGN);
    } else {
      set_default(SIGTERM);
    }
    write_whole(pidfile, std::to_string(::getpid()) + "\n");
    sleep_ms(60'000);
    ::_exit(0);
  }
  wait_for_file(pidfile);
}

// Short-lived grandchildren whose parent exits at once: they are reparented to the nearest
// subreaper (the supervisor), which must reap them. Their pids go to o.orphans_file.
void fork_orphans(const Options& o)
{
  pid_t mid = ::fork();
  if (mid < 0) {
    ::_exit(k_failure);
  }
  if (mid == 0) {
    std::string pids;
    for (int i = 0; i < o.orphans; ++i) {
      pid_t p = ::fork();
      if (p == 0) {
        sleep_ms(20 + (i % 10) * 5);
        ::_exit(i % 3);
      }
      if (p > 0) {
        pids += std::to_string(p) + "\n";
      }
    }
    if (!o.orphans_file.empty()) {
      write_whole(o.orphans_file, pids);
    }
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(mid, &status, 0) < 0 && errno == EINTR) {
  }
}

// Memory that counts in RSS: every page written. Never freed (the process keeps it to the end).
void alloc_and_touch(long long mb)
{
  const size_t size = static_cast<size_t>(mb) << 20;
  auto* p = static_cast<volatile char*>(std::malloc(size));
  if (p == nullptr) {
    std::fprintf(stderr, "fake_job: cannot allocate %lld MiB\n", mb);
    ::_exit(k_failure);
  }
  for (size_t i = 0; i < size; i += 4096) {
    p[i] = 1;
  }
}

// Spins until this process has used ms of CPU time.
void burn_cpu(long long ms)
{
  volatile unsigned long spin = 0;
  for (;;) {
    timespec used{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &used);
    if (static_cast<long long>(used.tv_sec) * 1000 + used.tv_nsec / 1'000'000 >= ms) {
      return;
    }
    for (int i = 0; i < 100'000; ++i) {
      spin = spin + 1;
    }
  }
}

[[noreturn]] void die_of(int sig, bool core)
{
  if (core) {
    rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
    if (::setrlimit(RLIMIT_CORE, &unlimited) < 0) {
      rlimit soft{};
      ::getrlimit(RLIMIT_CORE, &soft);
      soft.rlim_cur = soft.rlim_max;
      ::setrlimit(RLIMIT_CORE, &soft);
    }
    ::prctl(PR_SET_DUMPABLE, 1);
  }
  set_default(sig);
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, sig);
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
  ::raise(sig);
  ::_exit(125); // the signal did not end us (its default action is to ignore it)
}

} // namespace

int main(int argc, char** argv)
{
  const Options o = parse(argc, argv);
  if (!o.report.empty()) {
    write_report(o);
  }
  if (!o.trap_file.empty()) {
    g_trap_fd = ::open(o.trap_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (g_trap_fd < 0) {
      std::fprintf(stderr, "fake_job: %s: %s\n", o.trap_file.c_str(), std::strerror(errno));
      return k_failure;
    }
  }
  if (o.ignore_term) {
    ::signal(SIGTERM, SIG_IGN);
  }
  if (o.term_exit0) {
    install(SIGTERM, on_term_exit0);
  }
  for (int sig : o.traps) {
    install(sig, on_trap);
  }
  for (const auto& [stream, text] : o.prints) {
    std::FILE* f = stream == 1 ? stdout : stderr;
    std::fprintf(f, "%s\n", text.c_str());
    std::fflush(f);
  }
  if (!o.fork_daemon.empty()) {
    fork_daemon(o);
  }
  if (!o.leave_child.empty()) {
    fork_sleeper(o.leave_child, false);
  }
  if (!o.escape_child.empty()) {
    fork_sleeper(o.escape_child, true);
  }
  if (o.orphans > 0) {
    fork_orphans(o);
  }
  if (o.alloc_mb > 0) {
    alloc_and_touch(o.alloc_mb);
  }
  if (o.burn_ms > 0) {
    burn_cpu(o.burn_ms);
  }
  if (!o.pidfile.empty()) {
    write_whole(o.pidfile, std::to_string(::getpid()) + "\n");
  }
  if (o.sleep_ms > 0) {
    sleep_ms(o.sleep_ms);
  }
  if (o.raise_signal != 0) {
    die_of(o.raise_signal, o.core);
  }
  return o.exit_code;
}
