#include "harness.h"

#include "cgroup.h"
#include "clock.h"
#include "poll_until.h"
#include "proc.h"
#include "syscalls.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace pg::e2e {

namespace {

// argv[0] as execvp would find it, resolved before fork (only async-signal-safe calls after).
std::string resolve(const std::string& argv0)
{
  if (argv0.find('/') != std::string::npos) {
    return argv0;
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + argv0;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return argv0;
}

std::string key_of(const std::string& entry)
{
  return entry.substr(0, entry.find('='));
}

std::string shell_status_text(int ws)
{
  if (WIFEXITED(ws)) {
    return "exit " + std::to_string(WEXITSTATUS(ws));
  }
  return "signal " + std::to_string(WTERMSIG(ws));
}

int shell_status(int ws)
{
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

} // namespace

// ---- Child

Child::Child(const Args& argv, const std::vector<std::string>& env, const StartOptions& opt)
{
  // Everything the child needs is built before fork.
  const std::string exe = resolve(argv.at(0));
  std::vector<char*> cargv;
  for (const auto& a : argv) {
    cargv.push_back(const_cast<char*>(a.c_str()));
  }
  cargv.push_back(nullptr);
  std::vector<char*> cenv;
  for (const auto& e : env) {
    cenv.push_back(const_cast<char*>(e.c_str()));
  }
  cenv.push_back(nullptr);
  int out[2];
  int err[2];
  if (opt.stdout_pty) {
    // out[0] is the terminal's master side, read by the test; out[1] the child's stdout.
    if (::openpty(&out[0], &out[1], nullptr, nullptr, nullptr) < 0) {
      ADD_FAILURE() << "openpty: " << std::strerror(errno);
      return;
    }
    ::fcntl(out[0], F_SETFD, FD_CLOEXEC);
    ::fcntl(out[1], F_SETFD, FD_CLOEXEC);
  } else if (::pipe2(out, O_CLOEXEC) < 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return;
  }
  if (::pipe2(err, O_CLOEXEC) < 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return;
  }
  m_pid = ::fork();
  if (m_pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return;
  }
  if (m_pid == 0) {
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    for (int fd : opt.extra_fds) {
      ::dup2(devnull, fd); // dup2 leaves the new descriptor inheritable
    }
    for (int s : opt.ignore_signals) {
      ::signal(s, SIG_IGN);
    }
    sigset_t set;
    ::sigemptyset(&set);
    for (int s : opt.block_signals) {
      ::sigaddset(&set, s);
    }
    ::sigprocmask(SIG_SETMASK, &set, nullptr);
    if (opt.umask) {
      ::umask(static_cast<mode_t>(*opt.umask));
    }
    if (!opt.cwd.empty() && ::chdir(opt.cwd.c_str()) < 0) {
      ::_exit(126);
    }
    if ((opt.gid && (::setgroups(0, nullptr) < 0 || ::setgid(*opt.gid) < 0)) ||
        (opt.uid && ::setuid(*opt.uid) < 0)) {
      ::_exit(125);
    }
    ::execve(exe.c_str(), cargv.data(), cenv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  m_out = out[0];
  m_err = err[0];
}

Child::~Child()
{
  if (m_pid > 0 && !m_reaped) {
    ::kill(m_pid, SIGKILL);
    int ws = 0;
    while (::waitpid(m_pid, &ws, 0) < 0 && errno == EINTR) {
    }
  }
  if (m_out >= 0) {
    ::close(m_out);
  }
  if (m_err >= 0) {
    ::close(m_err);
  }
}

const std::string& Child::read_out(Millis wait)
{
  if (m_out < 0) {
    return m_out_so_far;
  }
  pollfd pfd{m_out, POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(wait.count())) > 0) {
    char buf[8192];
    ssize_t got = ::read(m_out, buf, sizeof buf);
    if (got > 0) {
      m_out_so_far.append(buf, static_cast<size_t>(got));
    } else if (got == 0) {
      ::close(m_out);
      m_out = -1;
    }
  }
  return m_out_so_far;
}

Result Child::finish(Millis timeout)
{
  Result r;
  if (m_pid <= 0 || m_reaped) {
    ADD_FAILURE() << "finish() of a child that was not started or already finished";
    return r;
  }
  r.out = std::move(m_out_so_far);
  const auto deadline = Clock::now() + timeout;
  int ws = 0;
  bool exited = false;
  char buf[8192];
  while (m_out >= 0 || m_err >= 0 || !exited) {
    if (!exited) {
      pid_t w = ::waitpid(m_pid, &ws, WNOHANG);
      exited = w == m_pid;
    }
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    if (left.count() <= 0) {
      break;
    }
    pollfd fds[2];
    nfds_t n = 0;
    for (int fd : {m_out, m_err}) {
      if (fd >= 0) {
        fds[n++] = pollfd{fd, POLLIN, 0};
      }
    }
    // Poll the pipes, and look at the child again every few ms once they are closed.
    const int wait_ms = n == 0 ? 2 : static_cast<int>(std::min<long long>(left.count(), 20));
    if (n == 0) {
      std::this_thread::sleep_for(Millis(wait_ms));
      continue;
    }
    if (::poll(fds, n, wait_ms) < 0 && errno != EINTR) {
      ADD_FAILURE() << "poll: " << std::strerror(errno);
      break;
    }
    for (nfds_t i = 0; i < n; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
        continue;
      }
      int& fd = fds[i].fd == m_out ? m_out : m_err;
      std::string& sink = fds[i].fd == m_out ? r.out : r.err;
      ssize_t got = ::read(fd, buf, sizeof buf);
      if (got > 0) {
        sink.append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        ::close(fd);
        fd = -1;
      }
    }
  }
  if (m_out < 0 && m_err < 0 && exited) {
    m_reaped = true;
    r.status = shell_status(ws);
    return r;
  }
  if (exited) {
    m_reaped = true;
    r.status = shell_status(ws);
    ADD_FAILURE() << "pid " << m_pid << " ended (" << shell_status_text(ws)
                  << ") but its stdout/stderr were not released within " << timeout.count()
                  << " ms; stdout so far: " << r.out << "; stderr so far: " << r.err;
    return r;
  }
  ADD_FAILURE() << "pid " << m_pid << " overran its deadline of " << timeout.count()
                << " ms and was killed; stdout so far: " << r.out << "; stderr so far: " << r.err;
  ::kill(m_pid, SIGKILL);
  while (::waitpid(m_pid, &ws, 0) < 0 && errno == EINTR) {
  }
  m_reaped = true;
  r.status = -1;
  return r;
}

// ---- free helpers

void must(bool ok)
{
  if (!ok) {
    throw Abort("the test cannot go on (see the failure above)");
  }
}

bool wait_until(const std::function<bool()>& pred, const std::string& what, Millis deadline)
{
  if (test::poll_until(pred, deadline)) {
    return true;
  }
  ADD_FAILURE() << "timed out after " << deadline.count() << " ms waiting until " << what;
  return false;
}

std::optional<ProcInfo> proc_info(pid_t pid)
{
  std::string text;
  if (pid <= 0 || !read_file("/proc/" + std::to_string(pid) + "/stat", text)) {
    return std::nullopt;
  }
  size_t close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) {
    return std::nullopt;
  }
  std::istringstream in(text.substr(close + 2));
  std::vector<std::string> f; // f[0] is field 3 (state)
  for (std::string w; in >> w;) {
    f.push_back(w);
  }
  if (f.size() < 20) {
    return std::nullopt;
  }
  ProcInfo p;
  p.state = f[0][0];
  p.ppid = static_cast<pid_t>(std::stol(f[1]));
  p.pgid = static_cast<pid_t>(std::stol(f[2]));
  p.sid = static_cast<pid_t>(std::stol(f[3]));
  p.start_time = std::stoull(f[19]);
  return p;
}

bool alive(pid_t pid)
{
  auto p = proc_info(pid);
  return p && p->state != 'Z' && p->state != 'X';
}

std::vector<std::string> cmdline(pid_t pid)
{
  std::string text;
  std::vector<std::string> out;
  if (!read_file("/proc/" + std::to_string(pid) + "/cmdline", text)) {
    return out;
  }
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\0', pos);
    if (end == std::string::npos) {
      end = text.size();
    }
    out.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

std::string proc_link(pid_t pid, const std::string& link)
{
  char buf[4096];
  std::string p = "/proc/" + std::to_string(pid) + "/" + link;
  ssize_t n = ::readlink(p.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

std::vector<std::pair<pid_t, char>> children_of(pid_t ppid)
{
  std::vector<std::pair<pid_t, char>> out;
  for (pid_t p : all_pids()) {
    if (auto info = proc_info(p); info && info->ppid == ppid) {
      out.emplace_back(p, info->state);
    }
  }
  return out;
}

std::string job_lines(const std::string& log)
{
  std::string out;
  size_t pos = 0;
  while (pos < log.size()) {
    size_t end = log.find('\n', pos);
    end = end == std::string::npos ? log.size() : end + 1;
    if (log.compare(pos, 8, "[pg-run ") != 0) {
      out.append(log, pos, end - pos);
    }
    pos = end;
  }
  return out;
}

// A loopback port that was free a moment ago.
int free_port()
{
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) < 0) {
    if (fd >= 0) {
      ::close(fd);
    }
    return -1;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string read_text(const std::string& path)
{
  std::string text;
  read_file(path, text);
  return text;
}

void write_text(const std::string& path, const std::string& text, unsigned mode)
{
  std::ofstream(path, std::ios::trunc) << text;
  ::chmod(path.c_str(), static_cast<mode_t>(mode));
}

bool starts_with(const std::string& s, const std::string& prefix)
{
  return s.rfind(prefix, 0) == 0;
}

bool contains(const std::string& s, const std::string& part)
{
  return s.find(part) != std::string::npos;
}

Args operator+(Args a, const Args& b)
{
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

unsigned mode_of(const std::string& path)
{
  struct stat st {};
  if (::lstat(path.c_str(), &st) < 0) {
    ADD_FAILURE() << "lstat " << path << ": " << std::strerror(errno);
    return 0;
  }
  return st.st_mode & 07777;
}

double seconds_between(const Json& a, const Json& b)
{
  auto ta = parse_rfc3339(a.value("at", ""));
  auto tb = parse_rfc3339(b.value("at", ""));
  if (!ta || !tb) {
    ADD_FAILURE() << "events without an RFC 3339 'at': " << a.dump() << " " << b.dump();
    return 0;
  }
  return std::chrono::duration<double>(*tb - *ta).count();
}

bool is_live_state(const std::string& s)
{
  return s == "starting" || s == "running" || s == "backoff" || s == "stopping";
}

bool is_final_state(const std::string& s)
{
  return s == "stopped" || s == "completed" || s == "failed";
}

// ---- E2e fixture

void E2e::SetUp()
{
  char templ[] = "/tmp/pg-e2e-XXXXXX";
  ASSERT_NE(::mkdtemp(templ), nullptr) << std::strerror(errno);
  m_tmp = templ;
  m_state = m_tmp + "/state";
  m_marker = "PG_E2E_MARK=" + m_tmp;
  ::mkdir(path("san").c_str(), 0700);
  ::mkdir(path("home").c_str(), 0700);
}

void E2e::TearDown()
{
  if (m_tmp.empty()) {
    return;
  }
  // By what was recorded: supervisors (same start time) and jobs' process groups, then pids
  // the test remembered. Each only if it still carries this test's marker (pids recycle, and
  // a supervisor recorded from inside a pid namespace names another process out here).
  end_jobs_of(m_state);
  for (const auto& d : m_extra_state_dirs) {
    end_jobs_of(d);
  }
  for (pid_t p : m_pids) {
    if (carries_marker(p)) {
      ::kill(p, SIGKILL);
    }
  }
  for (const auto& [p, start] : m_exact) {
    if (auto info = proc_info(p); info && info->start_time == start) {
      ::kill(p, SIGKILL);
    }
  }
  // Whatever else the test started carries its marker (escaped children, daemons, leftovers).
  std::vector<pid_t> left;
  const bool all_gone = wait_until(
      [&] {
        left = marked_processes();
        for (pid_t p : left) {
          ::kill(p, SIGKILL);
        }
        return left.empty();
      },
      "every process the test started is gone");
  if (!all_gone) {
    std::string pids;
    for (pid_t p : left) {
      pids += " " + std::to_string(p);
    }
    ADD_FAILURE() << "still alive:" << pids;
  }
  // A supervisor the teardown killed could not remove its job's cgroup: empty, it goes now.
  wait_until(
      [&] {
        bool gone = true;
        for (const std::string& dir : job_cgroup_dirs()) {
          gone = ::rmdir(dir.c_str()) == 0 && gone;
        }
        return gone;
      },
      "the test's job cgroups are removed");
  check_sanitizer_reports();
  std::error_code ec;
  std::filesystem::remove_all(m_tmp, ec);
}

void E2e::end_jobs_of(const std::string& dir)
{
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string text;
    if (!read_file(entry.path().string() + "/state.json", text)) {
      continue;
    }
    Json st = Json::parse(text, nullptr, false);
    if (st.is_discarded()) {
      continue;
    }
    const Json sup = st.value("supervisor", Json::object());
    const pid_t sp = sup.value("pid", 0);
    auto info = proc_info(sp);
    if (info && info->start_time == sup.value("start_time", 0ULL) && carries_marker(sp)) {
      ::kill(sp, SIGKILL);
    }
    if (st["pid"].is_number_integer()) {
      const pid_t jp = st["pid"].get<pid_t>();
      auto ji = proc_info(jp);
      if (ji && carries_marker(jp)) {
        if (ji->pgid == jp) {
          ::kill(-jp, SIGKILL);
        }
        ::kill(jp, SIGKILL);
      }
    }
  }
}

void E2e::remember_exact(pid_t pid)
{
  if (auto info = proc_info(pid)) {
    m_exact.emplace_back(pid, info->start_time);
  }
}

bool E2e::carries_marker(pid_t pid) const
{
  std::string env;
  if (pid <= 0 || pid == ::getpid() ||
      !read_file("/proc/" + std::to_string(pid) + "/environ", env)) {
    return false;
  }
  size_t pos = 0;
  while (pos < env.size()) {
    size_t end = env.find('\0', pos);
    if (end == std::string::npos) {
      end = env.size();
    }
    if (std::string_view(env).substr(pos, end - pos) == m_marker) {
      return true;
    }
    pos = end + 1;
  }
  return false;
}

std::vector<pid_t> E2e::marked_processes() const
{
  std::vector<pid_t> out;
  for (pid_t p : all_pids()) {
    if (carries_marker(p) && alive(p)) {
      out.push_back(p);
    }
  }
  return out;
}

void E2e::check_sanitizer_reports()
{
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(path("san"), ec)) {
    std::string text = read_text(entry.path().string());
    if (text.size() > 8000) {
      text.resize(8000);
    }
    ADD_FAILURE() << "sanitizer report " << entry.path().filename().string() << ":\n" << text;
  }
}

std::vector<std::string> E2e::environment(const StartOptions& opt) const
{
  std::vector<std::string> drop{"PG_STATE_DIR", "NOTIFY_SOCKET", "XDG_STATE_HOME", "HOME",
                                "PG_E2E_MARK"};
  drop.insert(drop.end(), opt.unset_env.begin(), opt.unset_env.end());
  if (!opt.preload.empty()) {
    drop.emplace_back("LD_PRELOAD");
  }
  for (const auto& [k, v] : opt.env) {
    drop.push_back(k);
  }
  std::string asan = "halt_on_error=1:detect_leaks=1";
  std::string ubsan = "halt_on_error=1:print_stacktrace=1";
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string key = key_of(entry);
    if (key == "ASAN_OPTIONS") {
      asan = entry.substr(key.size() + 1) + ":" + asan;
    } else if (key == "UBSAN_OPTIONS") {
      ubsan = entry.substr(key.size() + 1) + ":" + ubsan;
    } else if (std::find(drop.begin(), drop.end(), key) == drop.end()) {
      env.push_back(entry);
    }
  }
  if (!opt.preload.empty()) {
    asan += ":verify_asan_link_order=0";
    env.push_back("LD_PRELOAD=" + opt.preload);
  }
  // Detached supervisors' stderr is /dev/null: sanitizer reports go to files the teardown
  // checks (the last log_path wins over one inherited from the caller).
  if (std::find(drop.begin(), drop.end(), "ASAN_OPTIONS") == drop.end()) {
    env.push_back("ASAN_OPTIONS=" + asan + ":log_path=" + path("san/asan"));
  }
  if (std::find(drop.begin(), drop.end(), "UBSAN_OPTIONS") == drop.end()) {
    env.push_back("UBSAN_OPTIONS=" + ubsan + ":log_path=" + path("san/ubsan"));
  }
  env.push_back("HOME=" + path("home"));
  env.push_back(m_marker);
  for (const auto& [k, v] : opt.env) {
    env.push_back(k + "=" + v);
  }
  return env;
}

Result E2e::run(const Args& argv, const StartOptions& opt, Millis timeout)
{
  Child c(argv, environment(opt), opt);
  return c.finish(timeout);
}

std::unique_ptr<Child> E2e::start(const Args& argv, const StartOptions& opt)
{
  return std::make_unique<Child>(argv, environment(opt), opt);
}

Args E2e::pg_run(const Args& args) const
{
  return Args{k_pg_run, "--state-dir", m_state} + args;
}

Args E2e::job(const std::string& name, const Args& opts, const Args& fake_args) const
{
  return pg_run(Args{"-n", name} + opts + Args{k_fake} + fake_args);
}

Result E2e::launch(const std::string& name, const Args& opts, const Args& fake_args,
                   const StartOptions& start_opt)
{
  Result r = run(job(name, opts, fake_args), start_opt);
  EXPECT_EQ(r.status, 0) << "launch of " << name << " failed; stdout: " << r.out
                         << "; stderr: " << r.err;
  must(r.status == 0);
  return r;
}

std::optional<Json> E2e::try_state(const std::string& name) const
{
  std::string text;
  if (!read_file(m_state + "/" + name + "/state.json", text)) {
    return std::nullopt;
  }
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    return std::nullopt;
  }
  return j;
}

Json E2e::state(const std::string& name) const
{
  std::string text;
  if (!read_file(m_state + "/" + name + "/state.json", text)) {
    ADD_FAILURE() << "cannot read " << m_state << "/" << name << "/state.json";
    return Json();
  }
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    ADD_FAILURE() << name << "/state.json does not parse: " << text;
    return Json();
  }
  return j;
}

std::vector<Json> E2e::events(const std::string& name, const std::string& kind) const
{
  std::vector<Json> out;
  const std::string text = read_text(m_state + "/" + name + "/events.jsonl");
  // Only whole lines: a last line without its newline is being written, or is half a line a
  // failed write (a full disk) leaves for an instant before cutting it back. pg-ls skips it too.
  std::istringstream in(text.substr(0, text.rfind('\n') + 1));
  for (std::string line; std::getline(in, line);) {
    Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded()) {
      ADD_FAILURE() << name << "/events.jsonl holds a line that does not parse: " << line;
      continue;
    }
    if (kind.empty() || j.value("event", "") == kind) {
      out.push_back(std::move(j));
    }
  }
  return out;
}

pid_t E2e::supervisor_pid(const std::string& name) const
{
  return state(name)["supervisor"].value("pid", 0);
}

bool E2e::lock_held(const std::string& name) const
{
  const std::string p = m_state + "/" + name + "/lock";
  int fd = ::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  const bool held = ::fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
  ::close(fd);
  return held;
}

bool E2e::lost(const std::string& name) const
{
  auto st = try_state(name);
  return st && is_live_state(st->value("state", "")) && !lock_held(name);
}

Json E2e::wait_state(const std::string& name, const std::function<bool(const Json&)>& pred,
                     const std::string& what, Millis deadline)
{
  Json last;
  const bool ok = wait_until(
      [&] {
        auto st = try_state(name);
        if (!st) {
          return false;
        }
        last = std::move(*st);
        return pred(last);
      },
      what, deadline);
  if (!ok) {
    ADD_FAILURE() << name << "'s last state.json: " << last.dump();
  }
  must(ok);
  return last;
}

Json E2e::wait_running(const std::string& name, pid_t not_pid)
{
  return wait_state(
      name,
      [&](const Json& st) {
        const Json pid = st.value("pid", Json());
        return st.value("state", "") == "running" && pid.is_number_integer() &&
               pid.get<pid_t>() != not_pid;
      },
      name + " runs" + (not_pid != 0 ? " with a pid other than " + std::to_string(not_pid) : ""));
}

Json E2e::wait_end(const std::string& name, Millis deadline)
{
  return wait_state(
      name,
      [&](const Json& st) {
        if (!is_final_state(st.value("state", ""))) {
          return false;
        }
        const Json sup = st.value("supervisor", Json::object());
        auto info = proc_info(sup.value("pid", 0));
        const bool sup_gone =
            !info || info->state == 'Z' || info->start_time != sup.value("start_time", 0ULL);
        return sup_gone && !lock_held(name);
      },
      name + " ends and its supervisor is gone", deadline);
}

std::vector<Json> E2e::wait_events(const std::string& name, const std::string& kind, size_t n,
                                   Millis deadline)
{
  std::vector<Json> found;
  must(wait_until(
      [&] {
        found = events(name, kind);
        return found.size() >= n;
      },
      name + " has " + std::to_string(n) + " '" + kind + "' events", deadline));
  return found;
}

std::string E2e::wait_file(const std::string& file, Millis deadline)
{
  std::string text;
  must(wait_until([&] { return read_file(file, text) && !text.empty(); }, file + " is written",
                  deadline));
  return text;
}

pid_t E2e::wait_pidfile(const std::string& file)
{
  std::string text = wait_file(file);
  pid_t pid = static_cast<pid_t>(std::atoi(text.c_str()));
  EXPECT_GT(pid, 0) << file << " holds no pid: " << text;
  remember(pid);
  return pid;
}

std::map<std::string, std::string> E2e::wait_report(const std::string& file)
{
  std::map<std::string, std::string> kv;
  std::istringstream in(wait_file(file));
  for (std::string line; std::getline(in, line);) {
    size_t eq = line.find('=');
    if (eq != std::string::npos) {
      kv[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }
  return kv;
}

Args E2e::ctl(const Args& args) const
{
  return Args{PG_CTL_BIN, "--state-dir", state_dir()} + args;
}

Result E2e::pg_ctl(const Args& args)
{
  return run(ctl(args));
}

Args E2e::ls(const Args& args) const
{
  return Args{k_pg_ls, "--state-dir", m_state} + args;
}

Result E2e::pg_ls(const Args& args, const StartOptions& opt)
{
  return run(ls(args), opt);
}

void E2e::make_lost(const std::string& name)
{
  const Json st = wait_running(name);
  const pid_t pid = st["pid"].get<pid_t>();
  must(::kill(st["supervisor"]["pid"].get<pid_t>(), SIGKILL) == 0);
  must(wait_until([&] { return !alive(pid) && lost(name); },
                  name + "'s job ends and the job shows lost"));
}

std::vector<std::string> E2e::job_cgroup_dirs() const
{
  std::vector<std::string> out;
  if (m_state.empty()) {
    return out;
  }
  std::vector<std::string> prefixes{job_cgroup_name(::getuid(), m_state, "")};
  for (const std::string& dir : m_extra_state_dirs) {
    prefixes.push_back(job_cgroup_name(::getuid(), dir, ""));
  }
  namespace fs = std::filesystem;
  for (const CgroupMount& m : discover_cgroup_host().mounts) {
    std::error_code ec;
    fs::recursive_directory_iterator it(m.mount_point,
                                        fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_directory(ec)) {
        continue;
      }
      if (it.depth() >= 4) {
        it.disable_recursion_pending();
      }
      const std::string base = it->path().filename().string();
      if (std::any_of(prefixes.begin(), prefixes.end(),
                      [&](const std::string& p) { return starts_with(base, p); })) {
        out.push_back(it->path().string());
        it.disable_recursion_pending();
      }
    }
  }
  // Deepest first, so a rmdir of each in turn can succeed.
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

} // namespace pg::e2e
