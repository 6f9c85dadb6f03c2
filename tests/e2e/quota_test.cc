// The seeds' "quota regression" suite: --memory-cap, --tasks-cap and --cpu-quota held by the
// kernel through the job's own cgroup, on real processes. An allocation past the cap is
// OOM-killed and recorded as oom (an outside SIGKILL is not), a fork loop is held, a busy loop
// gets its fifth of a CPU, a daemonized grandchild ends with the job's stop, and no cgroup of
// the test's state directory is left once its jobs are stopped and forgotten. Skipped (with the
// reason) where this process cannot give a job a cgroup: not root, or no such controller.
#include "harness.h"

#include "cgroup.h"
#include "syscalls.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace pg::e2e {
namespace {

const std::string k_python = "/usr/bin/python3";

// The controller c where a job's cgroup could get it: a v1 hierarchy, or our v2 cgroup.
bool controller_here(const std::string& c)
{
  const CgroupHost host = discover_cgroup_host();
  if (host.v1(c) != nullptr) {
    return true;
  }
  if (const CgroupHierarchy* v2 = host.v2()) {
    std::string text;
    read_file(v2->own_dir + "/cgroup.controllers", text);
    return (" " + text + " ").find(" " + c + " ") != std::string::npos;
  }
  return false;
}

class Quota : public E2e {
protected:
  void SetUp() override
  {
    E2e::SetUp();
    if (::geteuid() != 0) {
      GTEST_SKIP() << "caps need a cgroup pg-run may write: run the suite as root";
    }
    for (const char* c : {"memory", "pids", "cpu"}) {
      if (!controller_here(c)) {
        GTEST_SKIP() << "no cgroup " << c << " controller on this host";
      }
    }
  }

  // pg-run --state-dir STATE -n NAME OPTS... -- COMMAND...
  Result launch_cmd(const std::string& name, const Args& opts, const Args& command)
  {
    Result r = run(pg_run(Args{"-n", name} + opts + Args{"--"} + command));
    EXPECT_EQ(r.status, 0) << r.err;
    must(r.status == 0);
    return r;
  }

  // The value of a file of the job's recorded cgroup (the first directory that has it).
  std::optional<uint64_t> cgroup_value(const std::string& name, const std::string& file)
  {
    const Json dirs = state(name)["job_cgroup"];
    for (const auto& dir : dirs) {
      std::ifstream in(dir.get<std::string>() + "/" + file);
      uint64_t value = 0;
      if (in >> value) {
        return value;
      }
    }
    return std::nullopt;
  }

  void stop_and_forget(const std::string& name)
  {
    Result stop = pg_ctl({"stop", name});
    EXPECT_EQ(stop.status, 0) << stop.err;
    wait_end(name);
    Result forget = pg_ctl({"forget", name});
    EXPECT_EQ(forget.status, 0) << forget.err;
    EXPECT_EQ(job_cgroup_dirs(), std::vector<std::string>{}) << "no cgroup is left behind";
  }
};

// CPU seconds (user + system) of pid so far, from /proc/PID/stat.
double cpu_seconds(pid_t pid)
{
  std::string text;
  read_file("/proc/" + std::to_string(pid) + "/stat", text);
  std::istringstream in(text.substr(text.rfind(')') + 2));
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) {
      utime = std::stoull(field);
    } else if (i == 15) {
      stime = std::stoull(field);
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

TEST_F(Quota, AnAllocationPastTheMemoryCapIsKilledAndRecordedAsOom)
{
  launch_cmd("hog", {"--memory-cap", "64M", "--max-restarts", "1", "--restart-delay", "10ms"},
             {k_python, "-c", "b = bytearray(512 << 20)"});
  const Json st = wait_end("hog");
  EXPECT_EQ(st["state"], "failed") << st.dump();
  const Json exit = st["last_exit"];
  EXPECT_EQ(exit["outcome"], "failed") << exit.dump();
  const std::string cause = exit["cause"].get<std::string>();
  EXPECT_TRUE(contains(cause, "oom: the kernel killed pid ")) << cause;
  EXPECT_TRUE(contains(cause, " (python3) at the 64M cap")) << cause;
  // The restart policy applied: one restart after the first OOM kill, then gave up.
  EXPECT_EQ(events("hog", "restart").size(), 1U);
  const auto exits = events("hog", "exit");
  ASSERT_EQ(exits.size(), 2U);
  EXPECT_TRUE(starts_with(exits[0]["cause"].get<std::string>(), "oom: ")) << exits[0].dump();
  // The evidence: the OOM event with the memory at the kill, and a line in the log.
  const auto ooms = events("hog", "oom");
  ASSERT_FALSE(ooms.empty());
  // The event says what the cause says, however soon after the kill the watch woke.
  for (const Json& oom : ooms) {
    EXPECT_TRUE(contains(oom["detail"].get<std::string>(), "the kernel killed pid ")) << oom.dump();
    EXPECT_EQ(oom["process"], "python3") << oom.dump();
  }
  EXPECT_TRUE(contains(cause, "oom: " + ooms.back()["detail"].get<std::string>() + ";")) << cause;
  const uint64_t memory = ooms.back()["memory_bytes"].get<uint64_t>();
  EXPECT_GE(memory, 60ULL << 20) << ooms.back().dump();
  EXPECT_LE(memory, 64ULL << 20) << ooms.back().dump();
  std::printf("[ quota ] memory at the OOM kill: %llu bytes (cap 64M)\n",
              static_cast<unsigned long long>(memory));
  EXPECT_TRUE(contains(read_text(state_dir() + "/hog/output.log"), "oom: the kernel killed"));
  Result ls = pg_ls({"hog"});
  EXPECT_TRUE(contains(ls.out, "oom: the kernel killed pid")) << ls.out;
  EXPECT_EQ(job_cgroup_dirs(), std::vector<std::string>{}) << "removed at the job's end";
}

// The kernel chose a child while the main process lives: the cause says so, and our own stop's
// SIGKILL of the main process (systemd's OOMPolicy=stop) is not taken for the kernel's.
TEST_F(Quota, AChildKilledByTheKernelIsNotTakenForTheMainProcess)
{
  launch_cmd("family", {"--memory-cap", "64M", "--restart", "never"},
             {"/bin/sh", "-c", k_python + " -c 'b = bytearray(512 << 20)' & exec sleep 3600"});
  const Json st = wait_end("family");
  const std::string cause = st["last_exit"]["cause"].get<std::string>();
  EXPECT_TRUE(starts_with(cause, "oom: the kernel killed a process of the job's tree (not its "
                                 "main process) at the 64M cap"))
      << cause;
  EXPECT_EQ(st["last_exit"]["outcome"], "failed") << st.dump();
  const auto ooms = events("family", "oom");
  ASSERT_EQ(ooms.size(), 1U);
  EXPECT_FALSE(ooms[0].contains("pid") && !ooms[0]["pid"].is_null()) << ooms[0].dump();
  EXPECT_EQ(job_cgroup_dirs(), std::vector<std::string>{}) << "removed at the job's end";
}

TEST_F(Quota, AnOutsideSigkillUnderACapIsASignalNotOom)
{
  launch("killed", {"--memory-cap", "64M", "--restart", "never"}, {"--sleep", "1h"});
  const pid_t pid = wait_running("killed")["pid"].get<pid_t>();
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  const Json st = wait_end("killed");
  const std::string cause = st["last_exit"]["cause"].get<std::string>();
  EXPECT_TRUE(starts_with(cause, "signal: SIGKILL")) << cause;
  EXPECT_TRUE(events("killed", "oom").empty());
}

TEST_F(Quota, AForkLoopIsHeldByTheTasksCap)
{
  const std::string script = "import os, time\n"
                             "n = 0\n"
                             "for i in range(50):\n"
                             "    try:\n"
                             "        pid = os.fork()\n"
                             "    except OSError:\n"
                             "        continue\n"
                             "    if pid == 0:\n"
                             "        time.sleep(3600)\n"
                             "        os._exit(0)\n"
                             "    n += 1\n"
                             "print('forked', n, flush=True)\n"
                             "time.sleep(3600)\n";
  launch_cmd("forks", {"--tasks-cap", "10"}, {k_python, "-c", script});
  std::string log;
  wait_until(
      [&] {
        log = read_text(state_dir() + "/forks/output.log");
        return contains(log, "forked ");
      },
      "the fork loop is over");
  const size_t at = log.find("forked ");
  const int forked = std::stoi(log.substr(at + 7));
  EXPECT_LT(forked, 10) << log;
  EXPECT_GT(forked, 0) << log;
  const auto tasks = cgroup_value("forks", "pids.current");
  ASSERT_TRUE(tasks) << state("forks").dump();
  EXPECT_LE(*tasks, 10U);
  std::printf("[ quota ] forks let through under --tasks-cap 10: %d of 50 (pids.current %llu)\n",
              forked, static_cast<unsigned long long>(*tasks));
  Result ls = pg_ls({"forks", "--json"});
  const Json j = Json::parse(ls.out).at(0);
  EXPECT_LE(j["tasks"].get<uint64_t>(), 10U) << ls.out;
  EXPECT_EQ(j["job_cgroup"], state("forks")["job_cgroup"]) << ls.out;
  stop_and_forget("forks");
}

TEST_F(Quota, ABusyLoopGetsAFifthOfACpuAtTwentyPercent)
{
  launch_cmd("busy", {"--cpu-quota", "20%"}, {"/bin/sh", "-c", "while :; do :; done"});
  const pid_t pid = wait_running("busy")["pid"].get<pid_t>();
  const double cpu0 = cpu_seconds(pid);
  const auto t0 = Clock::now();
  wait_until([&] { return Clock::now() - t0 >= 3s; }, "3 s of the busy loop");
  const double cpu = cpu_seconds(pid) - cpu0;
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_GE(cpu / wall, 0.1) << cpu << " s of CPU in " << wall << " s";
  EXPECT_LE(cpu / wall, 0.35) << cpu << " s of CPU in " << wall << " s";
  std::printf("[ quota ] CPU under --cpu-quota 20%%: %.2f s in %.2f s\n", cpu, wall);
  stop_and_forget("busy");
}

TEST_F(Quota, StopEndsADaemonizedGrandchildThroughTheCgroup)
{
  const std::string pidfile = path("daemon.pid");
  launch_cmd("daemon", {"--tasks-cap", "20"},
             {"/bin/sh", "-c",
              "setsid /bin/sh -c 'echo $$ > " + pidfile + "; exec sleep 3600' & exec sleep 3600"});
  const pid_t daemon = wait_pidfile(pidfile);
  const Json st = state("daemon");
  ASSERT_FALSE(st["job_cgroup"].empty()) << st.dump();
  const auto members = cgroup_members(st["job_cgroup"][0].get<std::string>());
  EXPECT_NE(std::find(members.begin(), members.end(), daemon), members.end());
  Result ls = pg_ls({"daemon"});
  EXPECT_TRUE(contains(ls.out, "Cgroup:")) << ls.out;
  stop_and_forget("daemon");
  EXPECT_TRUE(wait_until([&] { return !alive(daemon); }, "the daemonized grandchild ended"));
}

} // namespace
} // namespace pg::e2e
