// bench_drive: the precise parts of bench/run.sh. Times are CLOCK_MONOTONIC, printed in
// microseconds; every process it spawns it waits for. It never signals anything but the job
// pid a stamp file names (restart). Subcommands:
//   launch STAMP -- CMD...        run CMD (stdio /dev/null), wait for it and for STAMP's first
//                                 line: prints "EXEC_US RETURN_US" (job exec'd, launcher returned)
//   restart STAMP MIN_AGE_MS      once the newest job is MIN_AGE_MS old, SIGKILL it and wait for
//                                 its successor's stamp: prints "US" (kill to successor exec)
//   jobpid STAMP | ppid STAMP     the newest job's pid, or its parent's (the supervisor)
//   mem PID...                    summed "RSS_KB PSS_KB" from /proc/PID/smaps_rollup
//   idle SECONDS PID...           per PID, over SECONDS: "TICKS VOLUNTARY_CTXT_SWITCHES"
//   rate FILE SECONDS             growth of FILE in bytes per second over SECONDS
//   time N [--out FILE] -- CMD... run CMD N times (stdout to FILE or /dev/null): "US" per run
//   launch-wait -- CMD...         run CMD (a `pg-run --json` launch), then wait until the
//                                 supervisor_pid it printed has exited: prints "US" in all
//   waitgone MS PID...            wait until every PID is gone; exit 1 after MS
//   report TSV                    markdown tables of TSV lines "SECTION METRIC SUBJECT RUN VALUE"
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using Ns = long long;

Ns now_ns()
{
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<Ns>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& what)
{
  std::fprintf(stderr, "bench_drive: %s\n", what.c_str());
  std::exit(1);
}

void nap()
{
  std::this_thread::sleep_for(std::chrono::microseconds(200));
}

std::string slurp(const std::string& path)
{
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Stamp {
  Ns at = 0;
  pid_t pid = 0;
  size_t lines = 0;
};

// The newest complete line of a stamp file ("NS PID").
Stamp read_stamp(const std::string& path)
{
  Stamp s;
  std::istringstream in(slurp(path));
  std::string line;
  while (std::getline(in, line)) {
    long long at = 0;
    int pid = 0;
    if (std::sscanf(line.c_str(), "%lld %d", &at, &pid) == 2) {
      s = {at, pid, s.lines + 1};
    }
  }
  return s;
}

Stamp wait_stamp(const std::string& path, size_t more_than, Ns deadline)
{
  for (;;) {
    Stamp s = read_stamp(path);
    if (s.lines > more_than)
      return s;
    if (now_ns() > deadline)
      die("no stamp in " + path);
    nap();
  }
}

// Spawns argv with stdin /dev/null, stdout to out ("" = /dev/null, "-" = a pipe read into
// captured), stderr /dev/null; waits for it. Returns the exit status.
int run(const std::vector<std::string>& args, const std::string& out, std::string* captured)
{
  std::vector<char*> argv;
  for (const auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  int pipefd[2] = {-1, -1};
  if (out == "-") {
    if (::pipe2(pipefd, O_CLOEXEC) < 0)
      die("pipe");
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  } else {
    posix_spawn_file_actions_addopen(&fa, 1, out.empty() ? "/dev/null" : out.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
  }
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    die("cannot run " + args[0] + ": " + std::strerror(rc));
  if (pipefd[1] >= 0) {
    ::close(pipefd[1]);
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0)
      captured->append(buf, static_cast<size_t>(n));
    ::close(pipefd[0]);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::vector<std::string> after_dashes(int argc, char** argv, int from)
{
  std::vector<std::string> cmd;
  bool seen = false;
  for (int i = from; i < argc; ++i) {
    if (seen)
      cmd.emplace_back(argv[i]);
    else if (std::strcmp(argv[i], "--") == 0)
      seen = true;
  }
  if (cmd.empty())
    die("no command after --");
  return cmd;
}

long long us(Ns ns)
{
  return ns / 1000;
}

pid_t parent_of(pid_t pid)
{
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos)
    die("no such process " + std::to_string(pid));
  char state = 0;
  int ppid = 0;
  std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid);
  return ppid;
}

// utime+stime (fields 14, 15 of /proc/PID/stat) and voluntary_ctxt_switches.
std::pair<long long, long long> activity(pid_t pid)
{
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos)
    die("no such process " + std::to_string(pid));
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  long long ticks = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i >= 14)
      ticks += std::stoll(field);
  }
  long long vcsw = -1;
  std::istringstream status(slurp("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("voluntary_ctxt_switches:", 0) == 0)
      vcsw = std::stoll(line.substr(24));
  }
  return {ticks, vcsw};
}

// Gone, or a zombie its (foreign) parent has not reaped yet.
bool gone(pid_t pid)
{
  if (::kill(pid, 0) < 0 && errno == ESRCH)
    return true;
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return close == std::string::npos || (close + 2 < stat.size() && stat[close + 2] == 'Z');
}

double median(std::vector<double> v)
{
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string num(double v)
{
  char buf[64];
  if (v != 0 && (v >= 100000 || v < 0.01))
    std::snprintf(buf, sizeof buf, "%.3g", v);
  else if (v >= 100)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

// One table per SECTION/METRIC: a row per subject (in order of first appearance) with median,
// min, max and n, and pg ÷ subject as the median of the ratios of runs with the same RUN.
int report(const std::string& path)
{
  struct Series {
    std::vector<std::string> order;
    std::map<std::string, std::map<std::string, double>> by_subject; // subject -> run -> value
  };
  std::vector<std::string> keys;
  std::map<std::string, Series> all;
  std::istringstream in(slurp(path));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string section, metric, subject, runid, value;
    if (!std::getline(f, section, '\t') || !std::getline(f, metric, '\t') ||
        !std::getline(f, subject, '\t') || !std::getline(f, runid, '\t') ||
        !std::getline(f, value, '\t'))
      continue;
    std::string key = section + " — " + metric;
    if (!all.count(key))
      keys.push_back(key);
    Series& s = all[key];
    if (!s.by_subject.count(subject))
      s.order.push_back(subject);
    s.by_subject[subject][runid] = std::stod(value);
  }
  for (const auto& key : keys) {
    Series& s = all[key];
    std::printf("\n#### %s\n\n| subject | median | min | max | runs | pg ÷ subject |\n"
                "|---|---:|---:|---:|---:|---:|\n",
                key.c_str());
    const auto* pg = s.by_subject.count("pg") ? &s.by_subject["pg"] : nullptr;
    for (const auto& subject : s.order) {
      const auto& runs = s.by_subject[subject];
      std::vector<double> v, ratios;
      for (const auto& [runid, value] : runs) {
        v.push_back(value);
        if (pg && subject != "pg" && pg->count(runid) && value != 0)
          ratios.push_back(pg->at(runid) / value);
      }
      std::string ratio = ratios.empty() ? "" : num(median(ratios)) + "×";
      std::printf("| %s | %s | %s | %s | %zu | %s |\n", subject.c_str(), num(median(v)).c_str(),
                  num(*std::min_element(v.begin(), v.end())).c_str(),
                  num(*std::max_element(v.begin(), v.end())).c_str(), v.size(), ratio.c_str());
    }
  }
  return 0;
}

constexpr Ns k_deadline = 30'000'000'000LL;

// launch STAMP -- CMD...: "JOB_EXEC_US LAUNCHER_RETURNED_US"
int cmd_launch(int argc, char** argv)
{
  std::string stamp = argv[2];
  auto args = after_dashes(argc, argv, 3);
  Ns t0 = now_ns();
  int status = run(args, "", nullptr);
  Ns t1 = now_ns();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    die("launcher " + args[0] + " failed, status " + std::to_string(status));
  Stamp s = wait_stamp(stamp, 0, t0 + k_deadline);
  std::printf("%lld %lld\n", us(s.at - t0), us(t1 - t0));
  return 0;
}

// restart STAMP MIN_AGE_MS: SIGKILL the newest job once that old, the successor's latency (µs)
int cmd_restart(char** argv)
{
  std::string stamp = argv[2];
  Ns min_age = std::stoll(argv[3]) * 1'000'000LL;
  Stamp s = wait_stamp(stamp, 0, now_ns() + k_deadline);
  while (now_ns() - s.at < min_age)
    nap();
  Ns t0 = now_ns();
  if (::kill(s.pid, SIGKILL) < 0)
    die("kill " + std::to_string(s.pid) + ": " + std::strerror(errno));
  Stamp next = wait_stamp(stamp, s.lines, t0 + k_deadline);
  std::printf("%lld\n", us(next.at - t0));
  return 0;
}

// mem PID...: "RSS_KB PSS_KB" summed from smaps_rollup
int cmd_mem(int argc, char** argv)
{
  long long rss = 0, pss = 0;
  for (int i = 2; i < argc; ++i) {
    std::istringstream in(slurp(std::string("/proc/") + argv[i] + "/smaps_rollup"));
    std::string key;
    long long kb = 0;
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream l(line);
      if (!(l >> key >> kb))
        continue;
      if (key == "Rss:")
        rss += kb;
      else if (key == "Pss:")
        pss += kb;
    }
  }
  std::printf("%lld %lld\n", rss, pss);
  return 0;
}

// idle SECONDS PID...: per pid, "CPU_TICKS VOLUNTARY_SWITCHES" over the window
int cmd_idle(int argc, char** argv)
{
  int seconds = std::atoi(argv[2]);
  std::vector<std::pair<long long, long long>> before;
  for (int i = 3; i < argc; ++i)
    before.push_back(activity(std::atoi(argv[i])));
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  for (int i = 3; i < argc; ++i) {
    auto after = activity(std::atoi(argv[i]));
    auto b = before[static_cast<size_t>(i - 3)];
    std::printf("%lld %lld\n", after.first - b.first, after.second - b.second);
  }
  return 0;
}

// rate FILE SECONDS: the file's growth in bytes per second over the window
int cmd_rate(char** argv)
{
  auto size = [&] {
    std::ifstream f(argv[2], std::ios::ate | std::ios::binary);
    return f ? static_cast<long long>(f.tellg()) : 0LL;
  };
  long long n0 = size();
  Ns t0 = now_ns();
  std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(argv[3]) * 1000));
  long long n1 = size();
  Ns t1 = now_ns();
  std::printf("%.1f\n", static_cast<double>(n1 - n0) * 1e9 / static_cast<double>(t1 - t0));
  return 0;
}

// time N [--out FILE] -- CMD...: N runs, each one's time (µs)
int cmd_time(int argc, char** argv)
{
  int n = std::atoi(argv[2]);
  std::string out;
  if (argc > 4 && std::strcmp(argv[3], "--out") == 0)
    out = argv[4];
  auto args = after_dashes(argc, argv, 3);
  for (int i = 0; i < n; ++i) {
    Ns t0 = now_ns();
    int status = run(args, out, nullptr);
    Ns t1 = now_ns();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      die(args[0] + " failed, status " + std::to_string(status));
    std::printf("%lld\n", us(t1 - t0));
  }
  return 0;
}

// launch-wait -- CMD...: from the launch until the supervisor it names has exited (µs)
int cmd_launch_wait(int argc, char** argv)
{
  auto args = after_dashes(argc, argv, 2);
  std::string out;
  Ns t0 = now_ns();
  int status = run(args, "-", &out);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    die("launcher failed: " + out);
  auto at = out.find("\"supervisor_pid\":");
  if (at == std::string::npos)
    die("no supervisor_pid in: " + out);
  pid_t sup = std::atoi(out.c_str() + at + 17);
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, sup, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    ::close(pidfd);
  } else {
    while (!gone(sup))
      nap();
  }
  std::printf("%lld\n", us(now_ns() - t0));
  return 0;
}

// waitgone MS PID...: 0 once every pid is gone, 1 at the deadline
int cmd_waitgone(int argc, char** argv)
{
  Ns deadline = now_ns() + std::stoll(argv[2]) * 1'000'000LL;
  for (int i = 3; i < argc; ++i) {
    pid_t pid = std::atoi(argv[i]);
    while (!gone(pid)) {
      if (now_ns() > deadline)
        return 1;
      nap();
    }
  }
  return 0;
}

} // namespace

int main(int argc, char** argv)
{
  if (argc < 2)
    die("usage: bench_drive launch|restart|jobpid|ppid|mem|idle|rate|time|launch-wait|"
        "waitgone|report ...");
  const std::string cmd = argv[1];
  if (cmd == "launch" && argc > 3)
    return cmd_launch(argc, argv);
  if (cmd == "restart" && argc == 4)
    return cmd_restart(argv);
  if ((cmd == "jobpid" || cmd == "ppid") && argc == 3) {
    Stamp s = wait_stamp(argv[2], 0, now_ns() + k_deadline);
    std::printf("%d\n", cmd == "jobpid" ? s.pid : parent_of(s.pid));
    return 0;
  }
  if (cmd == "mem" && argc > 2)
    return cmd_mem(argc, argv);
  if (cmd == "idle" && argc > 3)
    return cmd_idle(argc, argv);
  if (cmd == "rate" && argc == 4)
    return cmd_rate(argv);
  if (cmd == "time" && argc > 3)
    return cmd_time(argc, argv);
  if (cmd == "launch-wait")
    return cmd_launch_wait(argc, argv);
  if (cmd == "waitgone" && argc > 2)
    return cmd_waitgone(argc, argv);
  if (cmd == "report" && argc == 3)
    return report(argv[2]);
  die("bad arguments for " + cmd);
}
