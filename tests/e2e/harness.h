// The end-to-end harness: runs the built binaries on real processes. Each test gets a fresh
// temporary directory (its STATE inside), every wait has a condition and a deadline, and the
// teardown ends every process the test started (found by pid it recorded, verified by start
// time, or by the test's unique environment marker), never by name.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace pg::e2e {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;
using Json = nlohmann::json;
using Args = std::vector<std::string>;
using Clock = std::chrono::steady_clock;

// Generous: CI machines are slow and the suite also runs under ASan.
inline constexpr Millis k_wait{10'000};
inline constexpr Millis k_run{20'000};

inline const std::string k_pg_run = PG_RUN_BIN;
inline const std::string k_pg_ls = PG_LS_BIN;
inline const std::string k_fake = FAKE_JOB_BIN;

// How a command ended, and what it printed.
struct Result {
  int status = -1; // exit code, 128+N for signal N, -1 when it overran its deadline
  std::string out;
  std::string err;
};

// What a started process inherits beyond argv: environment, signals, descriptors, cwd.
struct StartOptions {
  std::vector<std::pair<std::string, std::string>> env; // added or replaced
  std::vector<std::string> unset_env;
  std::vector<int> ignore_signals; // SIG_IGN, as nohup and & leave them
  std::vector<int> block_signals;
  std::vector<int> extra_fds; // left open (on /dev/null, not close-on-exec) at these numbers
  std::string cwd;
  std::optional<unsigned> umask;
  bool stdout_pty = false; // stdout on a pseudo-terminal (read by the test), not a pipe
  // LD_PRELOAD, for a fault to inject (tests/helpers); ASan is told that its runtime may come
  // after it in the library list.
  std::string preload;

  // Run as this user and group (the test runs as root): setgroups, setgid, setuid in the child.
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

// A started command whose stdout and stderr are pipes read by the test.
class Child {
public:
  Child(const Args& argv, const std::vector<std::string>& env, const StartOptions& opt);
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child(); // kills (by pid) and reaps it if the test did not finish it

  pid_t pid() const { return m_pid; }
  // Reads stdout and stderr to EOF and reaps the child. When the deadline passes first, kills
  // it by pid and fails the test (a command that exited but left its pipes open also fails).
  Result finish(Millis timeout = k_run);
  // Reads what stdout has within wait (returning as soon as some came) and keeps it: the text
  // read so far, which finish()'s out starts with. For a command that prints as it goes.
  const std::string& read_out(Millis wait);

private:
  std::string m_out_so_far; // read by read_out()
  pid_t m_pid = -1;
  int m_out = -1;
  int m_err = -1;
  bool m_reaped = false;
};

// Thrown by the harness's helpers after a failure that leaves the test nothing to check (a
// launch that failed, a wait that timed out): gtest reports it and the teardown still runs.
struct Abort : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Throws Abort unless ok.
void must(bool ok);

// Polls pred every few ms until it holds; on the deadline, fails the test naming what.
bool wait_until(const std::function<bool()>& pred, const std::string& what,
                Millis deadline = k_wait);

// /proc/PID/stat, the fields the tests need; nullopt when the process is gone.
struct ProcInfo {
  char state = '?';
  pid_t ppid = 0;
  pid_t pgid = 0;
  pid_t sid = 0;
  unsigned long long start_time = 0;
};
std::optional<ProcInfo> proc_info(pid_t pid);
// Exists and is not a zombie.
bool alive(pid_t pid);
// The process's argv from /proc/PID/cmdline; empty when gone.
std::vector<std::string> cmdline(pid_t pid);
// Where /proc/PID/LINK points ("exe", "fd/0", "cwd"); empty when unreadable.
std::string proc_link(pid_t pid, const std::string& link);
// Every live (non-zombie) process whose parent is ppid, with its state.
std::vector<std::pair<pid_t, char>> children_of(pid_t ppid);

// A loopback port that was free a moment ago (-1 when none could be had).
int free_port();

std::string read_text(const std::string& path);
// The job's own output in a log, without pg-run's marked lines ("[pg-run TIME] ...").
std::string job_lines(const std::string& log);
void write_text(const std::string& path, const std::string& text, unsigned mode = 0644);
bool starts_with(const std::string& s, const std::string& prefix);
bool contains(const std::string& s, const std::string& part);
// "a" + "b": argument lists glued together.
Args operator+(Args a, const Args& b);
// Mode bits (st_mode & 07777) of path, not following a final symlink.
unsigned mode_of(const std::string& path);

// Seconds from event a's "at" to event b's "at" (RFC 3339 times).
double seconds_between(const Json& a, const Json& b);

// States in which a supervisor should be alive, and those after the job's end.
bool is_live_state(const std::string& s);
bool is_final_state(const std::string& s);

class E2e : public ::testing::Test {
protected:
  void SetUp() override;
  void TearDown() override;

  const std::string& tmp() const { return m_tmp; }
  const std::string& state_dir() const { return m_state; }
  // TMP/rel
  std::string path(const std::string& rel) const { return m_tmp + "/" + rel; }

  // Runs argv to its end (stdout and stderr read to EOF) within timeout.
  Result run(const Args& argv, const StartOptions& opt = {}, Millis timeout = k_run);
  // Starts argv and returns at once; finish() it later.
  std::unique_ptr<Child> start(const Args& argv, const StartOptions& opt = {});
  // pg-run --state-dir STATE ARGS...
  Args pg_run(const Args& args) const;
  // pg-run --state-dir STATE -n NAME OPTS... FAKE JOB...
  Args job(const std::string& name, const Args& opts, const Args& fake_args) const;
  // pg-ctl --state-dir STATE ARGS..., and running it to its end.
  Args ctl(const Args& args) const;
  Result pg_ctl(const Args& args);
  // pg-ls --state-dir STATE ARGS..., and running it to its end.
  Args ls(const Args& args) const;
  Result pg_ls(const Args& args, const StartOptions& opt = {});
  // SIGKILL to the supervisor of a running job: the job dies of its parent-death signal and the
  // job shows lost. Fails the test when that does not happen in time.
  void make_lost(const std::string& name);
  // Runs job(...) and expects the launch to succeed (exit 0); Abort when it does not.
  Result launch(const std::string& name, const Args& opts, const Args& fake_args,
                const StartOptions& start_opt = {});

  // STATE/NAME/state.json, or nullopt while missing or unparsable.
  std::optional<Json> try_state(const std::string& name) const;
  // STATE/NAME/state.json; fails the test (and returns null) when it cannot be read.
  Json state(const std::string& name) const;
  // Every line of STATE/NAME/events.jsonl; with kind, only those whose "event" is kind.
  std::vector<Json> events(const std::string& name, const std::string& kind = "") const;
  // state.json's supervisor.pid.
  pid_t supervisor_pid(const std::string& name) const;
  // The lock of STATE/NAME is held (probed with F_OFD_GETLK, never taken).
  bool lock_held(const std::string& name) const;
  // state.json says alive while the lock is free.
  bool lost(const std::string& name) const;

  // The wait_* helpers fail the test and throw Abort when their deadline passes.
  // Waits until the job's state.json satisfies pred and returns it; a timeout names what and
  // the last state read.
  Json wait_state(const std::string& name, const std::function<bool(const Json&)>& pred,
                  const std::string& what, Millis deadline = k_wait);
  // Waits until the job runs with a pid (other than not_pid) and returns its state.
  Json wait_running(const std::string& name, pid_t not_pid = 0);
  // Waits until the job is over (a final state) and its supervisor is gone; returns the state.
  Json wait_end(const std::string& name, Millis deadline = k_wait);
  // Waits until events.jsonl holds at least n events of kind; returns them.
  std::vector<Json> wait_events(const std::string& name, const std::string& kind, size_t n,
                                Millis deadline = k_wait);
  // Waits for a file some process writes whole (temp + rename); returns its text.
  std::string wait_file(const std::string& file, Millis deadline = k_wait);
  // Waits for a pidfile, records the pid for the teardown, returns it.
  pid_t wait_pidfile(const std::string& file);
  // Waits for fake_job's --report file and parses its key=value lines.
  std::map<std::string, std::string> wait_report(const std::string& file);

  // Every cgroup directory named for a job of this test's state directories (pg-<uid>-<hash>-*),
  // under any cgroup hierarchy mounted here (the job's own cgroups, issue 19).
  std::vector<std::string> job_cgroup_dirs() const;

  // Teardown also kills this pid (if it still carries the test's marker).
  void remember(pid_t pid) { m_pids.push_back(pid); }
  // Teardown also kills this pid if it is still the process it is now (same start time): for
  // a program that overwrites its environment, marker included (redis's process title).
  void remember_exact(pid_t pid);
  // Teardown also ends the jobs recorded in this state directory.
  void remember_state_dir(const std::string& dir) { m_extra_state_dirs.push_back(dir); }

private:
  std::vector<std::string> environment(const StartOptions& opt) const;
  std::vector<pid_t> marked_processes() const;
  void end_jobs_of(const std::string& dir);
  bool carries_marker(pid_t pid) const;
  void check_sanitizer_reports();

  std::string m_tmp;
  std::string m_state;
  std::string m_marker; // PG_E2E_MARK=..., inherited by everything the test starts
  std::vector<pid_t> m_pids;
  std::vector<std::pair<pid_t, unsigned long long>> m_exact; // remember_exact(): pid, start time
  std::vector<std::string> m_extra_state_dirs;
};

} // namespace pg::e2e
