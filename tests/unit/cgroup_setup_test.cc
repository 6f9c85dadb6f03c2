// Setting up a job cgroup on a fake cgroupfs: the v2 path (subtree_control, the supervisor leaf,
// memory.max, memory.swap.max, pids.max, cpu.max), the v1 path of a hybrid host, refusals.
#include "cgroup.h"
#include "cgroup_fake_fs.h"
#include "syscalls.h"

#include <fcntl.h>
#include <poll.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <regex>

namespace pg::test {
namespace {

namespace fs = std::filesystem;

// --- set-up on cgroup v2 ---

TEST_F(FakeCgroupFs, V2AtTheRootEnablesControllersAndWritesEveryCap)
{
  v2_dir("/sys/fs/cgroup", "cpuset cpu io memory pids", true);
  CgroupHost h = host("0::/\n", k_v2_mountinfo);
  const std::string n = job_cgroup_name(0, "/s", "web");
  CgroupSetup s = setup_job_cgroup(h, n, {512ULL << 20, 64, 150});
  ASSERT_EQ(s.error, "");
  const std::string job = "/sys/fs/cgroup/" + n;
  EXPECT_EQ(s.cgroup.dirs, std::vector<std::string>{m_root + job});
  EXPECT_EQ(s.cgroup.supervisor_leaf, ""); // the root is exempt from no-internal-processes
  EXPECT_EQ(read("/sys/fs/cgroup/cgroup.subtree_control"), "+memory +pids +cpu");
  EXPECT_EQ(read(job + "/memory.max"), "536870912");
  EXPECT_EQ(read(job + "/memory.swap.max"), "0");
  EXPECT_EQ(read(job + "/pids.max"), "64");
  EXPECT_EQ(read(job + "/cpu.max"), "150000 100000");
  EXPECT_EQ(s.cgroup.enforce, (std::vector<std::string>{"memory.max=536870912", "memory.swap.max=0",
                                                        "pids.max=64", "cpu.max=150000 100000"}));
}

TEST_F(FakeCgroupFs, V2BelowTheRootMovesTheSupervisorIntoASiblingLeaf)
{
  const std::string scope = "/sys/fs/cgroup/user.slice/run-u7.scope";
  v2_dir("/sys/fs/cgroup", "cpu memory pids", true);
  v2_dir(scope, "cpu memory pids");
  CgroupHost h = host("0::/user.slice/run-u7.scope\n", k_v2_mountinfo);
  const std::string n = job_cgroup_name(1000, "/s", "web");
  CgroupSetup s = setup_job_cgroup(h, n, {{}, 10, {}});
  ASSERT_EQ(s.error, "");
  EXPECT_EQ(s.cgroup.supervisor_leaf, m_root + scope + "/" + n + "@sup");
  EXPECT_EQ(read(scope + "/" + n + "@sup/cgroup.procs"), "0"); // "0": the writer, moved
  EXPECT_EQ(read(scope + "/cgroup.subtree_control"), "+pids");
  EXPECT_EQ(read(scope + "/" + n + "/pids.max"), "10");
  EXPECT_FALSE(exists(scope + "/" + n + "/memory.max")); // only what was asked is enabled

  // A second set-up from inside the leaf (the supervisor rediscovered its cgroup) makes the
  // job's cgroup beside the leaf, not inside it.
  CgroupHost again = host("0::/user.slice/run-u7.scope/" + n + "@sup\n", k_v2_mountinfo);
  CgroupSetup s2 = setup_job_cgroup(again, n, {{}, 10, {}});
  ASSERT_EQ(s2.error, "");
  EXPECT_EQ(s2.cgroup.dirs, std::vector<std::string>{m_root + scope + "/" + n});
  EXPECT_EQ(s2.cgroup.supervisor_leaf, m_root + scope + "/" + n + "@sup");
}

TEST_F(FakeCgroupFs, V2WithoutTheControllerAndNoV1RefusesWithTheDelegationHint)
{
  v2_dir("/sys/fs/cgroup", "cpu memory pids", true);
  v2_dir("/sys/fs/cgroup/user.slice/u.scope", "pids"); // memory not delegated
  CgroupHost h = host("0::/user.slice/u.scope\n", k_v2_mountinfo);
  CgroupSetup s = setup_job_cgroup(h, job_cgroup_name(1000, "/s", "web"), {1 << 30, {}, {}});
  EXPECT_TRUE(s.cgroup.empty());
  EXPECT_NE(s.error.find("a memory cap needs the memory controller"), std::string::npos) << s.error;
  EXPECT_NE(s.error.find("only pids"), std::string::npos) << s.error;
  EXPECT_NE(s.error.find("systemd-run --user --scope -p Delegate=yes pg-run"), std::string::npos);
  EXPECT_FALSE(exists("/sys/fs/cgroup/user.slice/u.scope/" + job_cgroup_name(1000, "/s", "web")));
}

TEST_F(FakeCgroupFs, V2PermissionDeniedRefusesACapButOnlyNotesTracking)
{
  v2_dir("/sys/fs/cgroup", "cpu memory pids", true);
  v2_dir("/sys/fs/cgroup/user.slice/u.scope", "cpu memory pids");
  CgroupHost h = host("0::/user.slice/u.scope\n", k_v2_mountinfo);
  const std::string n = job_cgroup_name(1000, "/s", "web");
  const std::string scope = m_root + "/sys/fs/cgroup/user.slice/u.scope";
  g_fake_eacces = {scope + "/" + n, scope + "/" + n + "@sup"};
  CgroupSetup capped = setup_job_cgroup(h, n, {{}, {}, 50});
  EXPECT_NE(capped.error.find("a cpu quota cannot be enforced"), std::string::npos) << capped.error;
  EXPECT_NE(capped.error.find("Permission denied"), std::string::npos) << capped.error;
  EXPECT_NE(capped.error.find("Delegate=yes"), std::string::npos) << capped.error;

  CgroupSetup tracking = setup_job_cgroup(h, n, {});
  EXPECT_EQ(tracking.error, "");
  EXPECT_TRUE(tracking.cgroup.empty());
  EXPECT_NE(tracking.note.find("Permission denied"), std::string::npos) << tracking.note;
}

TEST_F(FakeCgroupFs, V2OtherProcessesInTheSupervisorsCgroupRefuse)
{
  v2_dir("/sys/fs/cgroup", "memory", true);
  v2_dir("/sys/fs/cgroup/user.slice/session-1.scope", "memory");
  CgroupHost h = host("0::/user.slice/session-1.scope\n", k_v2_mountinfo);
  // The kernel refuses subtree_control (EBUSY) while the shell is still in the scope: a
  // directory stands in for the file, so the write fails (EISDIR) and the message names it.
  const std::string scope = "/sys/fs/cgroup/user.slice/session-1.scope";
  fs::remove(m_root + scope + "/cgroup.subtree_control");
  fs::create_directory(m_root + scope + "/cgroup.subtree_control");
  CgroupSetup s = setup_job_cgroup(h, job_cgroup_name(1000, "/s", "web"), {64 << 20, {}, {}});
  EXPECT_NE(s.error.find("cannot enable +memory in"), std::string::npos) << s.error;
  EXPECT_TRUE(s.cgroup.empty());
}

TEST_F(FakeCgroupFs, V2WithoutSwapAccountingRefusesWhenSwapIsOn)
{
  v2_dir("/sys/fs/cgroup", "memory", true);
  g_fake_swap_accounting = false;
  put(m_root + "/proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/swap file 1048572 0 -2\n");
  CgroupHost h = host("0::/\n", k_v2_mountinfo);
  const std::string n = job_cgroup_name(0, "/s", "web");
  CgroupSetup s = setup_job_cgroup(h, n, {64 << 20, {}, {}});
  EXPECT_NE(s.error.find("cannot include swap"), std::string::npos) << s.error;
  EXPECT_FALSE(exists("/sys/fs/cgroup/" + n)); // what the set-up made is gone again

  put(m_root + "/proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n");
  CgroupSetup ok = setup_job_cgroup(h, n, {64 << 20, {}, {}});
  EXPECT_EQ(ok.error, "");
  EXPECT_EQ(read("/sys/fs/cgroup/" + n + "/memory.max"), "67108864");
}

// --- set-up on cgroup v1 (this machine's hybrid) ---

TEST_F(FakeCgroupFs, HybridPutsCapsInV1AndTracksInV2)
{
  CgroupHost h = hybrid();
  const std::string n = job_cgroup_name(0, "/s", "web");
  CgroupSetup s = setup_job_cgroup(h, n, {256 << 20, 32, 20});
  ASSERT_EQ(s.error, "");
  const std::string mem = "/sys/fs/cgroup/memory/process_api/f231/" + n;
  EXPECT_EQ(s.cgroup.dirs,
            (std::vector<std::string>{m_root + "/sys/fs/cgroup/unified/" + n, m_root + mem,
                                      m_root + "/sys/fs/cgroup/pids/" + n,
                                      m_root + "/sys/fs/cgroup/cpu/" + n}));
  EXPECT_EQ(s.cgroup.supervisor_leaf, "");
  EXPECT_EQ(read("/sys/fs/cgroup/unified/cgroup.subtree_control"), ""); // nothing enabled
  EXPECT_EQ(read(mem + "/memory.limit_in_bytes"), "268435456");
  EXPECT_EQ(read(mem + "/memory.memsw.limit_in_bytes"), "268435456");
  EXPECT_EQ(read("/sys/fs/cgroup/pids/" + n + "/pids.max"), "32");
  EXPECT_EQ(read("/sys/fs/cgroup/cpu/" + n + "/cpu.cfs_period_us"), "100000");
  EXPECT_EQ(read("/sys/fs/cgroup/cpu/" + n + "/cpu.cfs_quota_us"), "20000");
}

TEST_F(FakeCgroupFs, HybridWithoutCapsTracksInV2Only)
{
  CgroupHost h = hybrid();
  const std::string n = job_cgroup_name(0, "/s", "web");
  CgroupSetup s = setup_job_cgroup(h, n, {});
  ASSERT_EQ(s.error, "");
  EXPECT_EQ(s.cgroup.dirs, std::vector<std::string>{m_root + "/sys/fs/cgroup/unified/" + n});
  EXPECT_TRUE(s.cgroup.enforce.empty());
}

TEST_F(FakeCgroupFs, V1OnlyTracksInPidsWithoutCaps)
{
  v1_dir("/sys/fs/cgroup/pids", {"pids.max", "pids.current"});
  CgroupHost h =
      host("8:pids:/\n", "38 30 0:35 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n");
  CgroupSetup s = setup_job_cgroup(h, "pg-0-00000000-web", {});
  ASSERT_EQ(s.error, "");
  EXPECT_EQ(s.cgroup.dirs,
            std::vector<std::string>{m_root + "/sys/fs/cgroup/pids/pg-0-00000000-web"});
}

TEST_F(FakeCgroupFs, V1WithoutMemswRefusesWhenSwapIsOnAndAcceptsWithoutSwap)
{
  CgroupHost h = hybrid(false);
  const std::string n = job_cgroup_name(0, "/s", "web");
  put(m_root + "/proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/dev/sda2 partition 9 0 -2\n");
  CgroupSetup s = setup_job_cgroup(h, n, {64 << 20, {}, {}});
  EXPECT_NE(s.error.find("a memory cap cannot be enforced: a memory cap cannot include swap"),
            std::string::npos)
      << s.error;
  EXPECT_NE(s.error.find("memory.memsw.limit_in_bytes is missing"), std::string::npos) << s.error;
  // Rolled back: neither the v1 memory cgroup nor the v2 tracking one is left.
  EXPECT_FALSE(exists("/sys/fs/cgroup/memory/process_api/f231/" + n));
  EXPECT_FALSE(exists("/sys/fs/cgroup/unified/" + n));

  put(m_root + "/proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n");
  CgroupSetup ok = setup_job_cgroup(h, n, {64 << 20, {}, {}});
  ASSERT_EQ(ok.error, "");
  EXPECT_EQ(read("/sys/fs/cgroup/memory/process_api/f231/" + n + "/memory.limit_in_bytes"),
            "67108864");
  EXPECT_EQ(ok.cgroup.enforce.back(), "swap=none on the host");
}

TEST_F(FakeCgroupFs, NoControllerAnywhereNamesIt)
{
  CgroupHost h = hybrid();
  fs::remove_all(m_root + "/sys/fs/cgroup/pids");
  CgroupHost no_pids = host("4:memory:/process_api/f231\n0::/\n", k_hybrid_mountinfo);
  CgroupSetup s = setup_job_cgroup(no_pids, "pg-0-00000000-web", {{}, 5, {}});
  EXPECT_NE(s.error.find("a tasks cap needs the pids controller"), std::string::npos) << s.error;
  EXPECT_NE(s.error.find("no cgroup v1 pids hierarchy"), std::string::npos) << s.error;
}

TEST_F(FakeCgroupFs, ExistingCgroupIsReusedWhenEmptyAndRefusedWithProcesses)
{
  CgroupHost h = hybrid();
  const std::string n = job_cgroup_name(0, "/s", "web");
  ASSERT_EQ(setup_job_cgroup(h, n, {{}, 8, {}}).error, "");
  CgroupSetup again = setup_job_cgroup(h, n, {{}, 9, {}});
  ASSERT_EQ(again.error, "");
  EXPECT_EQ(read("/sys/fs/cgroup/pids/" + n + "/pids.max"), "9");

  put(m_root + "/sys/fs/cgroup/pids/" + n + "/cgroup.procs", "4242\n4243\n");
  CgroupSetup busy = setup_job_cgroup(h, n, {{}, 9, {}});
  EXPECT_NE(busy.error.find("holds processes (pid 4242 and 1 more)"), std::string::npos)
      << busy.error;
  // The directories made before (reused) are not removed by the failed set-up.
  EXPECT_TRUE(exists("/sys/fs/cgroup/unified/" + n));
}

TEST_F(FakeCgroupFs, ReusedCgroupLosesTheCapsNotAskedForAnyMore)
{
  v2_dir("/sys/fs/cgroup", "memory pids cpu", true);
  CgroupHost h = host("0::/\n", k_v2_mountinfo);
  const std::string n = job_cgroup_name(0, "/s", "web");
  ASSERT_EQ(setup_job_cgroup(h, n, {64 << 20, 8, 50}).error, "");
  CgroupSetup s = setup_job_cgroup(h, n, {{}, 8, {}}); // a crashed supervisor's, reused
  ASSERT_EQ(s.error, "");
  EXPECT_EQ(read("/sys/fs/cgroup/" + n + "/memory.max"), "max");
  EXPECT_EQ(read("/sys/fs/cgroup/" + n + "/memory.swap.max"), "max");
  EXPECT_EQ(read("/sys/fs/cgroup/" + n + "/cpu.max"), "max 100000");
  EXPECT_EQ(read("/sys/fs/cgroup/" + n + "/pids.max"), "8");
  EXPECT_EQ(s.cgroup.enforce, std::vector<std::string>{"pids.max=8"});
}

} // namespace
} // namespace pg::test
