// common/cgroup against text fixtures: parsing /proc/self/cgroup and mountinfo, naming,
// the ownership check. The set-up, observing and removal tests run on a fake cgroupfs
// (cgroup_setup_test.cc, cgroup_observe_test.cc); the real-host ones are in cgroup_real_test.cc.
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

// --- parsing and discovery ---

TEST(CgroupParse, ProcSelfCgroupOfAHybridHost)
{
  auto m = parse_proc_cgroup(k_hybrid_cgroup);
  ASSERT_EQ(m.size(), 10U);
  EXPECT_EQ(m[0].hierarchy_id, 9);
  EXPECT_EQ(m[0].controllers, std::vector<std::string>{"name=systemd"});
  EXPECT_EQ(m[5].controllers, std::vector<std::string>{"memory"});
  EXPECT_EQ(m[5].path, "/process_api/f231");
  EXPECT_EQ(m[9].hierarchy_id, 0);
  EXPECT_TRUE(m[9].controllers.empty());
  EXPECT_EQ(m[9].path, "/");
}

TEST(CgroupParse, ProcSelfCgroupKeepsColonsInPathsAndSkipsJunk)
{
  auto m = parse_proc_cgroup("junk\n2:cpu,cpuacct:/a:b\nx:memory:/\n0::/user.slice/u@1000\n");
  ASSERT_EQ(m.size(), 2U);
  EXPECT_EQ(m[0].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_EQ(m[0].path, "/a:b");
  EXPECT_EQ(m[1].path, "/user.slice/u@1000");
}

TEST(CgroupParse, MountinfoKeepsOnlyCgroupMounts)
{
  auto m = parse_cgroup_mounts(k_hybrid_mountinfo);
  ASSERT_EQ(m.size(), 6U);
  EXPECT_EQ(m[0].mount_point, "/sys/fs/cgroup/cpu");
  EXPECT_EQ(m[0].version, CgroupVersion::V1);
  EXPECT_EQ(m[0].controllers, std::vector<std::string>{"cpu"});
  EXPECT_EQ(m[3].controllers, std::vector<std::string>{"pids"}); // optional field skipped
  EXPECT_EQ(m[4].controllers, std::vector<std::string>{"name=systemd"});
  EXPECT_EQ(m[5].version, CgroupVersion::V2);
  EXPECT_EQ(m[5].mount_point, "/sys/fs/cgroup/unified");
  EXPECT_EQ(m[5].root, "/");
}

TEST(CgroupParse, MountinfoDecodesOctalEscapes)
{
  auto m = parse_cgroup_mounts("1 2 0:3 /a\\040b /mnt/my\\040cg rw - cgroup2 none rw\n");
  ASSERT_EQ(m.size(), 1U);
  EXPECT_EQ(m[0].root, "/a b");
  EXPECT_EQ(m[0].mount_point, "/mnt/my cg");
}

TEST(CgroupParse, HybridHostPlacesEachHierarchy)
{
  CgroupHost h = describe_cgroup_host(k_hybrid_cgroup, k_hybrid_mountinfo, "/P");
  ASSERT_NE(h.v2(), nullptr);
  EXPECT_EQ(h.v2()->mount_point, "/P/sys/fs/cgroup/unified");
  EXPECT_TRUE(h.v2()->own_is_root());
  ASSERT_NE(h.v1("memory"), nullptr);
  EXPECT_EQ(h.v1("memory")->own_dir, "/P/sys/fs/cgroup/memory/process_api/f231");
  EXPECT_FALSE(h.v1("memory")->own_is_root());
  ASSERT_NE(h.v1("pids"), nullptr);
  EXPECT_TRUE(h.v1("pids")->own_is_root());
  ASSERT_NE(h.v1("cpu"), nullptr);
  EXPECT_EQ(h.v1("cpu")->mount_point, "/P/sys/fs/cgroup/cpu");
  EXPECT_EQ(h.v1("blkio"), nullptr); // in /proc/self/cgroup, not mounted
}

TEST(CgroupParse, MountOfASubtreeMapsThePath)
{
  // A container sees /docker/abc of the host's hierarchy at /sys/fs/cgroup.
  CgroupHost h = describe_cgroup_host(
      "0::/docker/abc/app\n", "35 24 0:30 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
  ASSERT_NE(h.v2(), nullptr);
  EXPECT_EQ(h.v2()->own_dir, "/sys/fs/cgroup/app");
  // Our cgroup outside what is mounted: unusable.
  CgroupHost out = describe_cgroup_host(
      "0::/elsewhere\n", "35 24 0:30 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
  EXPECT_EQ(out.v2(), nullptr);
}

TEST(CgroupParse, CombinedV1ControllersMatchTheirMount)
{
  CgroupHost h = describe_cgroup_host(
      "3:cpu,cpuacct:/user.slice\n",
      "1 2 0:3 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n");
  ASSERT_NE(h.v1("cpu"), nullptr);
  EXPECT_EQ(h.v1("cpu")->own_dir, "/sys/fs/cgroup/cpu,cpuacct/user.slice");
  EXPECT_EQ(h.v1("cpu"), h.v1("cpuacct"));
}

TEST(CgroupParse, KeyedValues)
{
  const char* events = "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\noom_group_kill 0\n";
  EXPECT_EQ(parse_keyed_value(events, "oom_kill"), 2U);
  EXPECT_EQ(parse_keyed_value(events, "oom"), 1U);
  EXPECT_EQ(parse_keyed_value(events, "oom_group"), std::nullopt);
  EXPECT_EQ(parse_keyed_value("oom_kill_disable 0\nunder_oom 0\noom_kill 7", "oom_kill"), 7U);
  EXPECT_EQ(parse_keyed_value("populated x\n", "populated"), std::nullopt);
}

// --- naming and ownership ---

TEST(CgroupName, UserHashAndJob)
{
  const std::string n = job_cgroup_name(1000, "/home/a/.local/state/pg", "web");
  EXPECT_TRUE(std::regex_match(n, std::regex("pg-1000-[0-9a-f]{8}-web"))) << n;
  EXPECT_EQ(n, job_cgroup_name(1000, "/home/a/.local/state/pg", "web"));
  EXPECT_NE(n, job_cgroup_name(1000, "/srv/pg", "web"));
  EXPECT_NE(n, job_cgroup_name(0, "/home/a/.local/state/pg", "web"));
  EXPECT_EQ(supervisor_leaf_name(n), n + "@sup");
}

TEST(CgroupName, HashIsFnv1a64Folded)
{
  // FNV-1a 64 of "" is cbf29ce484222325; of "a" af63dc4c8601ec8c.
  EXPECT_EQ(cgroup_name_hash(""), 0xcbf29ce4U ^ 0x84222325U);
  EXPECT_EQ(cgroup_name_hash("a"), 0xaf63dc4cU ^ 0x8601ec8cU);
}

TEST(CgroupOwnership, AcceptsTheJobsCgroupAndRefusesEverythingElse)
{
  CgroupHost h = describe_cgroup_host(k_hybrid_cgroup, k_hybrid_mountinfo);
  const std::string n = job_cgroup_name(0, "/s", "web");
  const std::string mem = "/sys/fs/cgroup/memory/process_api/f231/";
  EXPECT_EQ(check_job_cgroup_path(h, mem + n, n), "");
  EXPECT_EQ(check_job_cgroup_path(h, "/sys/fs/cgroup/unified/" + n, n), "");
  EXPECT_EQ(check_job_cgroup_path(h, mem + supervisor_leaf_name(n), n), "");
  // Roots, parents, foreign names, other jobs, other users, paths outside cgroupfs.
  EXPECT_NE(check_job_cgroup_path(h, "/sys/fs/cgroup/unified", n), "");
  EXPECT_NE(check_job_cgroup_path(h, "/sys/fs/cgroup/memory/process_api/f231", n), "");
  EXPECT_NE(check_job_cgroup_path(h, "/sys/fs/cgroup/unified/user.slice", n), "");
  EXPECT_NE(check_job_cgroup_path(h, mem + job_cgroup_name(0, "/s", "db"), n), "");
  EXPECT_NE(check_job_cgroup_path(h, mem + job_cgroup_name(1000, "/s", "web"), n), "");
  EXPECT_NE(check_job_cgroup_path(h, "/tmp/" + n, n), "");
  EXPECT_NE(check_job_cgroup_path(h, "sys/fs/cgroup/unified/" + n, n), "");
  EXPECT_NE(check_job_cgroup_path(h, "/sys/fs/cgroup/unified/../unified/" + n, n), "");
  EXPECT_NE(check_job_cgroup_path(h, "/sys/fs/cgroup/unified/" + n, ""), "");
  // A name not made by job_cgroup_name is no name of ours, whatever the path.
  EXPECT_NE(check_job_cgroup_path(h, "/sys/fs/cgroup/unified/user.slice", "user.slice"), "");
  EXPECT_NE(check_job_cgroup_path(h, "/sys/fs/cgroup/unified/pg-x-00000000-a", "pg-x-00000000-a"),
            "");
  EXPECT_NE(check_job_cgroup_path(h, "/sys/fs/cgroup/unified/pg-0-0000000g-a", "pg-0-0000000g-a"),
            "");
}

TEST(CgroupRecord, PathsRoundTripThroughStateJson)
{
  JobCgroup cg{
      "pg-0-00000000-web",
      {"/sys/fs/cgroup/unified/pg-0-00000000-web", "/sys/fs/cgroup/pids/pg-0-00000000-web"},
      "/sys/fs/cgroup/unified/pg-0-00000000-web@sup",
      {"pids.max=5"}};
  std::vector<std::string> rec = cg.recorded_paths();
  ASSERT_EQ(rec.size(), 3U);
  EXPECT_EQ(rec.back(), cg.supervisor_leaf);
  JobCgroup back = JobCgroup::from_recorded("pg-0-00000000-web", rec);
  EXPECT_EQ(back.dirs, cg.dirs);
  EXPECT_EQ(back.supervisor_leaf, cg.supervisor_leaf);
  EXPECT_EQ(back.name, cg.name);
}

TEST(CgroupOwnership, RefusesTheCallersOwnCgroupAndItsParents)
{
  const std::string n = job_cgroup_name(0, "/s", "web");
  // A process that sits in a cgroup named like the job (say, the job's own supervisor leaf
  // mistaken for the job) or below one.
  CgroupHost h = describe_cgroup_host("0::/" + n + "/inner\n", k_v2_mountinfo);
  std::string why = check_job_cgroup_path(h, "/sys/fs/cgroup/" + n, n);
  EXPECT_NE(why.find("own cgroup or one of its parents"), std::string::npos) << why;
  CgroupHost self = describe_cgroup_host("0::/" + n + "\n", k_v2_mountinfo);
  EXPECT_NE(check_job_cgroup_path(self, "/sys/fs/cgroup/" + n, n), "");
}

} // namespace
} // namespace pg::test
