// A job cgroup once made, on a fake cgroupfs: join, observe (memory, tasks, OOM, members), the
// OOM watch, kill and remove (and their refusal of what is not the job's).
#include "cgroup.h"
#include "cgroup_fake_fs.h"
#include "syscalls.h"

#include <fcntl.h>
#include <poll.h>

#include <gtest/gtest.h>

#include <fstream>

#include <algorithm>
#include <filesystem>
#include <regex>

namespace pg::test {
namespace {

namespace fs = std::filesystem;

// --- join, observe, remove ---

TEST_F(FakeCgroupFs, JoinWritesZeroToEveryCgroupProcs)
{
  CgroupHost h = hybrid();
  const std::string n = job_cgroup_name(0, "/s", "web");
  CgroupSetup s = setup_job_cgroup(h, n, {1 << 30, 100, {}});
  ASSERT_EQ(s.error, "");
  std::string err;
  CgroupJoin j = CgroupJoin::open(s.cgroup, err);
  ASSERT_EQ(err, "");
  ASSERT_EQ(j.size(), 3U);
  for (size_t i = 0; i < j.size(); ++i) {
    EXPECT_NE(::fcntl(j.fds()[i], F_GETFD) & FD_CLOEXEC, 0);
  }
  EXPECT_EQ(cgroup_join_fds(j.fds(), j.size()), 0);
  for (const auto& d : s.cgroup.dirs) {
    EXPECT_EQ(slurp(d + "/cgroup.procs"), "0") << d;
  }
  // A fake tree is no cgroup2 filesystem: nothing to be created in, every file is written.
  EXPECT_EQ(j.into_fd(), -1);
  // A child created in one of the cgroups (clone3's CLONE_INTO_CGROUP) skips that file.
  for (const auto& d : s.cgroup.dirs) {
    std::ofstream(d + "/cgroup.procs", std::ios::trunc).flush();
  }
  CgroupJoin again = CgroupJoin::open(s.cgroup, err);
  ASSERT_EQ(err, "");
  EXPECT_EQ(cgroup_join_fds(again.fds(), again.size(), 1), 0);
  for (size_t i = 0; i < s.cgroup.dirs.size(); ++i) {
    EXPECT_EQ(slurp(s.cgroup.dirs[i] + "/cgroup.procs"), i == 1 ? "" : "0") << s.cgroup.dirs[i];
  }
  JobCgroup missing{"x", {m_root + "/nowhere"}, "", {}};
  CgroupJoin none = CgroupJoin::open(missing, err);
  EXPECT_NE(err.find("open " + m_root + "/nowhere/cgroup.procs"), std::string::npos) << err;
  EXPECT_EQ(none.size(), 0U);
}

TEST_F(FakeCgroupFs, ObservesMemoryTasksOomAndMembers)
{
  CgroupHost h = hybrid();
  const std::string n = job_cgroup_name(0, "/s", "web");
  CgroupSetup s = setup_job_cgroup(h, n, {1 << 30, 100, {}});
  ASSERT_EQ(s.error, "");
  const std::string mem = m_root + "/sys/fs/cgroup/memory/process_api/f231/" + n;
  const std::string v2 = m_root + "/sys/fs/cgroup/unified/" + n;
  put(mem + "/memory.usage_in_bytes", "1048576\n");
  put(m_root + "/sys/fs/cgroup/pids/" + n + "/pids.current", "3\n");
  put(mem + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  put(v2 + "/cgroup.procs", "10\n11\n");
  fs::create_directory(v2 + "/inner");
  put(v2 + "/inner/cgroup.procs", "12\n");
  put(v2 + "/cgroup.events", "populated 1\nfrozen 0\n");
  EXPECT_EQ(cgroup_memory_current(s.cgroup), 1048576U);
  EXPECT_EQ(cgroup_task_count(s.cgroup), 3U);
  EXPECT_EQ(cgroup_oom_kills(s.cgroup), 2U);
  std::vector<pid_t> members = cgroup_members(s.cgroup);
  std::sort(members.begin(), members.end());
  EXPECT_EQ(members, (std::vector<pid_t>{10, 11, 12}));
  EXPECT_TRUE(cgroup_populated(s.cgroup));
  put(v2 + "/cgroup.events", "populated 0\nfrozen 0\n");
  EXPECT_FALSE(cgroup_populated(s.cgroup));

  // v2 files win where they exist (pure v2 host).
  JobCgroup only_v2{n, {v2}, "", {}};
  put(v2 + "/memory.current", "4096\n");
  put(v2 + "/memory.events", "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n");
  put(v2 + "/cgroup.threads", "10\n11\n13\n");
  EXPECT_EQ(cgroup_memory_current(only_v2), 4096U);
  EXPECT_EQ(cgroup_oom_kills(only_v2), 1U);
  EXPECT_EQ(cgroup_task_count(only_v2), 3U); // no pids controller: cgroup.threads lines
}

TEST_F(FakeCgroupFs, AListingTriesAFileItsSiblingsLackOnceAndEachParentOnItsOwn)
{
  // Two sibling job cgroups without the memory controller, and one under another parent with it.
  const std::string a = m_root + "/sys/fs/cgroup/unified/pg-a";
  const std::string b = m_root + "/sys/fs/cgroup/unified/pg-b";
  const std::string c = m_root + "/sys/fs/cgroup/memory/pg-c";
  for (const auto& d : {a, b, c}) {
    fs::create_directories(d);
  }
  put(a + "/cgroup.threads", "10\n");
  put(b + "/cgroup.threads", "20\n21\n");
  put(c + "/memory.usage_in_bytes", "8192\n");
  CgroupAbsentFiles absent;
  const JobCgroup ja{"a", {a}, "", {}};
  const JobCgroup jb{"b", {b}, "", {}};
  const JobCgroup jc{"c", {c}, "", {}};
  EXPECT_FALSE(cgroup_memory_current(ja, &absent));
  EXPECT_EQ(cgroup_task_count(ja, &absent), 1U);
  // What a's sibling lacked is not tried in b: a memory.current that appeared there meanwhile is
  // not read within this listing (a new listing reads it).
  put(b + "/memory.current", "4096\n");
  EXPECT_FALSE(cgroup_memory_current(jb, &absent));
  EXPECT_EQ(cgroup_memory_current(jb), 4096U);
  EXPECT_EQ(cgroup_task_count(jb, &absent), 2U); // cgroup.threads was found: still read
  // Another parent is its own: its memory file is read.
  EXPECT_EQ(cgroup_memory_current(jc, &absent), 8192U);
  EXPECT_TRUE(absent.absent(a, "memory.current"));
  EXPECT_TRUE(absent.absent(b, "pids.current"));
  EXPECT_TRUE(absent.absent(c, "memory.current")); // v1: tried, then memory.usage_in_bytes
  EXPECT_FALSE(absent.absent(c, "memory.usage_in_bytes"));
}

TEST_F(FakeCgroupFs, OomWatchWakesOnAChangeOfMemoryEvents)
{
  v2_dir("/sys/fs/cgroup", "memory", true);
  CgroupHost h = host("0::/\n", k_v2_mountinfo);
  CgroupSetup s = setup_job_cgroup(h, job_cgroup_name(0, "/s", "web"), {64 << 20, {}, {}});
  ASSERT_EQ(s.error, "");
  std::string err;
  OomWatch w = OomWatch::open(s.cgroup, err);
  ASSERT_TRUE(w.valid()) << err;
  pollfd p{w.fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);
  put(s.cgroup.dirs[0] + "/memory.events", "oom_kill 1\n");
  EXPECT_EQ(::poll(&p, 1, 1000), 1);
  w.drain();
  EXPECT_EQ(::poll(&p, 1, 0), 0);

  JobCgroup no_memory{"x", {m_root + "/sys/fs/cgroup"}, "", {}};
  OomWatch none = OomWatch::open(no_memory, err);
  EXPECT_FALSE(none.valid());
  EXPECT_NE(err.find("no memory controller"), std::string::npos) << err;
}

TEST_F(FakeCgroupFs, OomWatchOnV1RegistersAnEventfd)
{
  CgroupHost h = hybrid();
  CgroupSetup s = setup_job_cgroup(h, job_cgroup_name(0, "/s", "web"), {64 << 20, {}, {}});
  ASSERT_EQ(s.error, "");
  std::string err;
  OomWatch w = OomWatch::open(s.cgroup, err);
  ASSERT_TRUE(w.valid()) << err;
  const std::string ctl = slurp(s.cgroup.dirs[1] + "/cgroup.event_control");
  EXPECT_TRUE(std::regex_match(ctl, std::regex(std::to_string(w.fd()) + " [0-9]+"))) << ctl;
}

TEST_F(FakeCgroupFs, RemoveTakesEveryDirectoryAndTheLeaf)
{
  const std::string scope = "/sys/fs/cgroup/user.slice/run-u7.scope";
  v2_dir("/sys/fs/cgroup", "pids", true);
  v2_dir(scope, "pids");
  // The supervisor's cgroup as it will be after the move (the fake does not move processes).
  CgroupHost h = host("0::/user.slice/run-u7.scope\n", k_v2_mountinfo);
  const std::string n = job_cgroup_name(0, "/s", "web");
  CgroupSetup s = setup_job_cgroup(h, n, {{}, 5, {}});
  ASSERT_EQ(s.error, "");
  fs::create_directory(s.cgroup.dirs[0] + "/made-by-the-job");
  put(s.cgroup.dirs[0] + "/made-by-the-job/cgroup.procs", "");
  put(s.cgroup.supervisor_leaf + "/cgroup.procs", ""); // the supervisor has left
  EXPECT_EQ(remove_job_cgroup(h, s.cgroup, n), "");
  EXPECT_FALSE(exists(scope + "/" + n));
  EXPECT_FALSE(exists(scope + "/" + n + "@sup"));
  EXPECT_TRUE(exists(scope));
}

TEST_F(FakeCgroupFs, RemoveOfABusyCgroupGivesUpAtTheDeadline)
{
  CgroupHost h = hybrid();
  const std::string n = job_cgroup_name(0, "/s", "web");
  CgroupSetup s = setup_job_cgroup(h, n, {});
  ASSERT_EQ(s.error, "");
  put(s.cgroup.dirs[0] + "/cgroup.procs", "4242\n");
  std::string why = remove_job_cgroup(h, s.cgroup, n, std::chrono::milliseconds(50));
  EXPECT_NE(why.find("cannot remove cgroup"), std::string::npos) << why;
  EXPECT_NE(why.find("busy"), std::string::npos) << why;
  put(s.cgroup.dirs[0] + "/cgroup.procs", "");
  EXPECT_EQ(remove_job_cgroup(h, s.cgroup, n), "");
}

TEST_F(FakeCgroupFs, KillAndRemoveRefuseWhatIsNotTheJobs)
{
  CgroupHost h = hybrid();
  const std::string n = job_cgroup_name(0, "/s", "web");
  const std::string pids_root = m_root + "/sys/fs/cgroup/pids";
  put(pids_root + "/cgroup.procs", "1\n");
  // A tampered record naming a hierarchy root, a parent, another job: nothing is touched.
  for (const std::string& d :
       {pids_root, m_root + "/sys/fs/cgroup/memory/process_api",
        m_root + "/sys/fs/cgroup/unified/" + job_cgroup_name(0, "/s", "db")}) {
    JobCgroup bad{n, {d}, "", {}};
    EXPECT_NE(kill_job_cgroup(h, bad, n), "") << d;
    EXPECT_NE(remove_job_cgroup(h, bad, n), "") << d;
  }
  EXPECT_TRUE(fs::exists(pids_root));
  EXPECT_EQ(slurp(pids_root + "/cgroup.procs"), "1\n");
}

TEST_F(FakeCgroupFs, KillWritesCgroupKillWhereTheKernelHasIt)
{
  CgroupHost h = hybrid();
  const std::string n = job_cgroup_name(0, "/s", "web");
  CgroupSetup s = setup_job_cgroup(h, n, {{}, 4, {}});
  ASSERT_EQ(s.error, "");
  EXPECT_EQ(kill_job_cgroup(h, s.cgroup, n), ""); // empty: done at once
  EXPECT_EQ(slurp(s.cgroup.dirs[0] + "/cgroup.kill"), "1");
  EXPECT_FALSE(fs::exists(s.cgroup.dirs[1] + "/cgroup.kill")); // v1 has none
}

} // namespace
} // namespace pg::test
