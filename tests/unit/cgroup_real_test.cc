// common/cgroup on this host's real hierarchies (as root; skipped with the reason otherwise):
// a job cgroup in v1 memory/pids/cpu and the v2 hierarchy, a child that joins and execs, its
// memory and task count, membership in every hierarchy, kill, remove; and an OOM kill under a
// 32M cap counted by the cgroup. Every test removes its cgroups, even when it fails.
#include "cgroup.h"
#include "poll_until.h"
#include "syscalls.h"

#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <functional>

namespace pg {
namespace {

// A unique name per test process, so parallel runs never meet.
std::string test_name(const char* job)
{
  return job_cgroup_name(::geteuid(), "/tmp/pg-cgroup-real-test-" + std::to_string(::getpid()),
                         job);
}

// Ends what a test started, by recorded pid only, and removes its cgroups, whatever happened.
class Cleanup {
public:
  Cleanup(const CgroupHost& host, std::string name) : m_host(host), m_name(std::move(name)) {}
  Cleanup(const Cleanup&) = delete;
  Cleanup& operator=(const Cleanup&) = delete;
  ~Cleanup()
  {
    if (m_pid > 0) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, nullptr, 0);
    }
    if (!m_cg.empty()) {
      std::string why = remove_job_cgroup(m_host, m_cg, m_name);
      if (!why.empty()) {
        ADD_FAILURE() << "cleanup: " << why;
      }
    }
  }
  void track(const JobCgroup& cg) { m_cg = cg; }
  void started(pid_t pid) { m_pid = pid; }
  void reaped() { m_pid = -1; }

private:
  const CgroupHost& m_host;
  std::string m_name;
  JobCgroup m_cg;
  pid_t m_pid = -1;
};

// Why these tests cannot run here, or "".
std::string unavailable(const CgroupHost& h, bool need_v1)
{
  if (::geteuid() != 0) {
    return "needs root to make cgroups in this host's hierarchies";
  }
  if (h.v2() == nullptr) {
    return "no cgroup v2 hierarchy mounted";
  }
  if (need_v1 && (h.v1("memory") == nullptr || h.v1("pids") == nullptr || h.v1("cpu") == nullptr)) {
    return "needs cgroup v1 memory, pids and cpu hierarchies (a hybrid host)";
  }
  return "";
}

// Forks a child that joins the job's cgroups, then runs body (after fork: nothing else).
template <typename Body> pid_t fork_joined(const CgroupJoin& join, Body body)
{
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (cgroup_join_fds(join.fds(), join.size()) != 0) {
      ::_exit(126);
    }
    body();
    ::_exit(127);
  }
  return pid;
}

// True once pid has exec'd sleep (its comm).
bool process_command_is_sleep(pid_t pid)
{
  std::string comm;
  return read_file("/proc/" + std::to_string(pid) + "/comm", comm) && comm == "sleep\n";
}

// The line of /proc/PID/cgroup for the hierarchy dir lives in ends with dir's path in it.
bool proc_in(pid_t pid, const CgroupHost& host, const std::string& dir)
{
  std::string text;
  if (!read_file("/proc/" + std::to_string(pid) + "/cgroup", text)) {
    return false;
  }
  for (const auto& m : host.mounts) {
    if (dir.starts_with(m.mount_point + "/")) {
      const std::string rel = dir.substr(m.mount_point.size());
      return text.find(":" + rel + "\n") != std::string::npos;
    }
  }
  return false;
}

TEST(CgroupRealHost, CapsJoinObserveKillAndRemove)
{
  const CgroupHost host = discover_cgroup_host();
  if (std::string why = unavailable(host, true); !why.empty()) {
    GTEST_SKIP() << why;
  }
  const std::string name = test_name("real");
  Cleanup cleanup(host, name);
  CgroupSetup s = setup_job_cgroup(host, name, {64ULL << 20, 16, 50});
  cleanup.track(s.cgroup);
  ASSERT_EQ(s.error, "");
  ASSERT_EQ(s.cgroup.dirs.size(), 4U); // v2 (tracking), v1 memory, pids, cpu
  std::string text;
  ASSERT_TRUE(read_file(s.cgroup.dirs[1] + "/memory.limit_in_bytes", text));
  EXPECT_EQ(text, "67108864\n");
  ASSERT_TRUE(read_file(s.cgroup.dirs[2] + "/pids.max", text));
  EXPECT_EQ(text, "16\n");
  ASSERT_TRUE(read_file(s.cgroup.dirs[3] + "/cpu.cfs_quota_us", text));
  EXPECT_EQ(text, "50000\n");

  std::string err;
  CgroupJoin join = CgroupJoin::open(s.cgroup, err);
  ASSERT_EQ(err, "");
  const pid_t pid =
      fork_joined(join, [] { ::execl("/bin/sleep", "sleep", "60", static_cast<char*>(nullptr)); });
  ASSERT_GT(pid, 0);
  cleanup.started(pid);
  ASSERT_TRUE(test::poll_until(
      [&] {
        auto m = cgroup_members(s.cgroup);
        return m.size() == 1 && m[0] == pid && process_command_is_sleep(pid);
      },
      std::chrono::seconds(5)));
  for (const auto& d : s.cgroup.dirs) {
    EXPECT_TRUE(proc_in(pid, host, d)) << d;
  }
  EXPECT_TRUE(cgroup_populated(s.cgroup));
  EXPECT_GT(cgroup_memory_current(s.cgroup).value_or(0), 0U);
  EXPECT_EQ(cgroup_task_count(s.cgroup), 1U);
  EXPECT_EQ(cgroup_oom_kills(s.cgroup), 0U);

  EXPECT_EQ(kill_job_cgroup(host, s.cgroup, name), "");
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  cleanup.reaped();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  EXPECT_FALSE(cgroup_populated(s.cgroup));
  EXPECT_EQ(remove_job_cgroup(host, s.cgroup, name), "");
  for (const auto& d : s.cgroup.dirs) {
    EXPECT_NE(::access(d.c_str(), F_OK), 0) << d << " is left";
  }
}

// What spawn.cc's child gets: the join descriptors and a prebuilt argv, in shared memory.
struct VmChildArgs {
  const CgroupJoin* join;
  char* const* argv;
  int join_error;
};

// As spawn.cc's child: on a small stack, sharing the parent's memory until the exec.
__attribute__((no_sanitize("address"))) int vm_child(void* arg)
{
  auto* a = static_cast<VmChildArgs*>(arg);
  a->join_error = cgroup_join_fds(a->join->fds(), a->join->size());
  if (a->join_error != 0) {
    ::_exit(126);
  }
  ::execve("/bin/sleep", a->argv, environ);
  ::_exit(127);
}

TEST(CgroupRealHost, JoinFromACloneVmChildAsSpawnDoes)
{
  const CgroupHost host = discover_cgroup_host();
  if (std::string why = unavailable(host, true); !why.empty()) {
    GTEST_SKIP() << why;
  }
  const std::string name = test_name("vm");
  Cleanup cleanup(host, name);
  CgroupSetup s = setup_job_cgroup(host, name, {64ULL << 20, 8, {}});
  cleanup.track(s.cgroup);
  ASSERT_EQ(s.error, "");
  std::string err;
  CgroupJoin join = CgroupJoin::open(s.cgroup, err);
  ASSERT_EQ(err, "");
  std::string a0 = "sleep";
  std::string a1 = "60";
  char* argv[] = {a0.data(), a1.data(), nullptr};
  VmChildArgs args{&join, argv, -1};
  alignas(16) static char stack[16384];
  const pid_t pid =
      ::clone(vm_child, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  ASSERT_GT(pid, 0);
  cleanup.started(pid);
  ASSERT_EQ(args.join_error, 0); // CLONE_VFORK: the child has exec'd (or exited) by now
  EXPECT_EQ(cgroup_members(s.cgroup), std::vector<pid_t>{pid});
  for (const auto& d : s.cgroup.dirs) {
    EXPECT_TRUE(proc_in(pid, host, d)) << d;
  }
  // The exec'd program's memory is the job's (a new mm, owned by the child).
  EXPECT_GT(cgroup_memory_current(s.cgroup).value_or(0), 0U);
  EXPECT_EQ(cgroup_task_count(s.cgroup), 1U);
  EXPECT_EQ(kill_job_cgroup(host, s.cgroup, name), "");
  ASSERT_EQ(::waitpid(pid, nullptr, 0), pid);
  cleanup.reaped();
  EXPECT_EQ(remove_job_cgroup(host, s.cgroup, name), "");
}

TEST(CgroupRealHost, TrackingOnlyUsesV2AndItsCgroupKill)
{
  const CgroupHost host = discover_cgroup_host();
  if (std::string why = unavailable(host, false); !why.empty()) {
    GTEST_SKIP() << why;
  }
  const std::string name = test_name("track");
  Cleanup cleanup(host, name);
  CgroupSetup s = setup_job_cgroup(host, name, {});
  cleanup.track(s.cgroup);
  ASSERT_EQ(s.error, "");
  ASSERT_EQ(s.cgroup.dirs.size(), 1U);
  EXPECT_TRUE(s.cgroup.dirs[0].starts_with(host.v2()->own_dir + "/"));
  std::string err;
  CgroupJoin join = CgroupJoin::open(s.cgroup, err);
  ASSERT_EQ(err, "");
  // A child that leaves a grandchild behind: the tree is still found and ended whole.
  const pid_t pid = fork_joined(join, [] {
    ::execl("/bin/sh", "sh", "-c", "sleep 60 & exec sleep 61", static_cast<char*>(nullptr));
  });
  ASSERT_GT(pid, 0);
  cleanup.started(pid);
  ASSERT_TRUE(test::poll_until([&] { return cgroup_members(s.cgroup).size() == 2; },
                               std::chrono::seconds(5)));
  EXPECT_EQ(kill_job_cgroup(host, s.cgroup, name), "");
  ASSERT_EQ(::waitpid(pid, nullptr, 0), pid);
  cleanup.reaped();
  EXPECT_TRUE(cgroup_members(s.cgroup).empty());
  EXPECT_EQ(remove_job_cgroup(host, s.cgroup, name), "");
  EXPECT_NE(::access(s.cgroup.dirs[0].c_str(), F_OK), 0);
}

// The job's cgroup2 directory is opened for clone3's CLONE_INTO_CGROUP (spawn creates the job
// in it: no move, which would cost an RCU grace period at every start); the created child is a
// member from its first instruction.
TEST(CgroupRealHost, TheV2DirectoryIsOpenedToCreateTheChildInIt)
{
  const CgroupHost host = discover_cgroup_host();
  if (std::string why = unavailable(host, false); !why.empty()) {
    GTEST_SKIP() << why;
  }
  const std::string name = test_name("into");
  Cleanup cleanup(host, name);
  CgroupSetup s = setup_job_cgroup(host, name, {});
  cleanup.track(s.cgroup);
  ASSERT_EQ(s.error, "");
  std::string err;
  CgroupJoin join = CgroupJoin::open(s.cgroup, err);
  ASSERT_EQ(err, "");
  ASSERT_GE(join.into_fd(), 0);
  EXPECT_EQ(join.into_index(), 0U);
  struct clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
  } args{};
  args.flags = 0x200000000ULL; // CLONE_INTO_CGROUP
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(join.into_fd());
  const long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) {
    ::pause();
    ::_exit(0);
  }
  if (pid < 0 && (errno == ENOSYS || errno == EINVAL)) {
    GTEST_SKIP() << "no clone3 with CLONE_INTO_CGROUP here (Linux < 5.7)";
  }
  ASSERT_GT(pid, 0) << std::strerror(errno);
  cleanup.started(static_cast<pid_t>(pid));
  const std::vector<pid_t> members = cgroup_members(s.cgroup);
  EXPECT_EQ(members, std::vector<pid_t>{static_cast<pid_t>(pid)});
  ::kill(static_cast<pid_t>(pid), SIGKILL);
  ASSERT_EQ(::waitpid(static_cast<pid_t>(pid), nullptr, 0), pid);
  cleanup.reaped();
  EXPECT_EQ(remove_job_cgroup(host, s.cgroup, name), "");
}

TEST(CgroupRealHost, V1AloneEndsTheWholeTreeWithoutCgroupKill)
{
  const CgroupHost host = discover_cgroup_host();
  if (std::string why = unavailable(host, true); !why.empty()) {
    GTEST_SKIP() << why;
  }
  const std::string name = test_name("v1kill");
  Cleanup cleanup(host, name);
  CgroupSetup s = setup_job_cgroup(host, name, {{}, 16, {}});
  cleanup.track(s.cgroup);
  ASSERT_EQ(s.error, "");
  ASSERT_EQ(s.cgroup.dirs.size(), 2U); // v2 (tracking), v1 pids
  // As a pure v1 host would have it: only the pids cgroup, which has no cgroup.kill.
  JobCgroup v1_only = s.cgroup;
  v1_only.dirs.erase(v1_only.dirs.begin());
  std::string err;
  CgroupJoin join = CgroupJoin::open(v1_only, err);
  ASSERT_EQ(err, "");
  const pid_t pid = fork_joined(join, [] {
    ::execl("/bin/sh", "sh", "-c", "sleep 60 & sleep 60 & exec sleep 61",
            static_cast<char*>(nullptr));
  });
  ASSERT_GT(pid, 0);
  cleanup.started(pid);
  ASSERT_TRUE(test::poll_until([&] { return cgroup_members(v1_only).size() == 3; },
                               std::chrono::seconds(5)));
  EXPECT_EQ(cgroup_task_count(v1_only), 3U);
  EXPECT_EQ(kill_job_cgroup(host, v1_only, name), ""); // one by one, through pidfds
  ASSERT_EQ(::waitpid(pid, nullptr, 0), pid);
  cleanup.reaped();
  EXPECT_TRUE(cgroup_members(v1_only).empty());
  EXPECT_EQ(remove_job_cgroup(host, s.cgroup, name), "");
}

// Allocates and touches 200M in 1M steps; never returns when the cap holds.
[[noreturn]] void eat_memory()
{
  constexpr size_t k_step = 1 << 20;
  for (int i = 0; i < 200; ++i) {
    void* p = ::mmap(nullptr, k_step, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      ::_exit(3);
    }
    std::memset(p, 1, k_step);
  }
  ::_exit(0);
}

TEST(CgroupRealHost, OomKillUnderAMemoryCapIsCounted)
{
  const CgroupHost host = discover_cgroup_host();
  if (std::string why = unavailable(host, true); !why.empty()) {
    GTEST_SKIP() << why;
  }
  const std::string name = test_name("oom");
  Cleanup cleanup(host, name);
  CgroupSetup s = setup_job_cgroup(host, name, {32ULL << 20, {}, {}});
  cleanup.track(s.cgroup);
  ASSERT_EQ(s.error, "");
  std::string err;
  OomWatch watch = OomWatch::open(s.cgroup, err);
  ASSERT_TRUE(watch.valid()) << err;
  const uint64_t before = cgroup_oom_kills(s.cgroup).value_or(99);
  EXPECT_EQ(before, 0U);
  CgroupJoin join = CgroupJoin::open(s.cgroup, err);
  ASSERT_EQ(err, "");
  const pid_t pid = fork_joined(join, eat_memory);
  ASSERT_GT(pid, 0);
  cleanup.started(pid);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  cleanup.reaped();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  EXPECT_GE(cgroup_oom_kills(s.cgroup).value_or(0), before + 1);
  pollfd p{watch.fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 1000), 1) << "the OOM watch did not wake";
  watch.drain();
  EXPECT_EQ(remove_job_cgroup(host, s.cgroup, name), "");
}

} // namespace
} // namespace pg
