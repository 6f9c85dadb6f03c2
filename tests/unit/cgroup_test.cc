// common/cgroup against text fixtures and a fake cgroupfs in a temporary directory: parsing,
// naming, the ownership check, the v2 and v1 set-up paths (files written), refusals, observing,
// removal. The real-host tests are in cgroup_real_test.cc.
#include "cgroup.h"
#include "syscalls.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

namespace pg {
namespace {

namespace fs = std::filesystem;

// This machine's /proc/self/cgroup and the cgroup lines of its mountinfo (hybrid).
constexpr const char* k_hybrid_cgroup = "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n"
                                        "5:devices:/\n4:memory:/process_api/f231\n3:cpuset:/\n"
                                        "2:cpuacct:/\n1:cpu:/\n0::/\n";
constexpr const char* k_hybrid_mountinfo =
    "22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n"
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime shared:7 - cgroup cgroup rw,pids\n"
    "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup "
    "rw,xattr,release_agent=/x,name=systemd\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

// A pure v2 host: one mount, the supervisor in a delegated scope.
constexpr const char* k_v2_mountinfo =
    "35 24 0:30 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate\n";

std::string slurp(const std::string& path)
{
  std::string out;
  EXPECT_TRUE(read_file(path, out)) << path;
  return out;
}

void put(const std::string& path, const std::string& text)
{
  std::ofstream(path, std::ios::trunc) << text;
}

// The fake kernel: a new cgroup directory gets the control files the real one would.
bool g_fake_swap_accounting = true;
std::set<std::string> g_fake_eacces; // mkdir of these paths fails with EACCES

void add_files(const std::string& dir, std::initializer_list<const char*> names)
{
  for (const char* n : names) {
    put(dir + "/" + n, "");
  }
}

int fake_mkdir(const char* path, mode_t mode)
{
  if (g_fake_eacces.count(path) != 0) {
    errno = EACCES;
    return -1;
  }
  if (::mkdir(path, mode) < 0) {
    return -1;
  }
  const std::string dir = path;
  const std::string parent = fs::path(dir).parent_path();
  if (fs::exists(parent + "/cgroup.controllers")) { // v2
    std::string enabled;
    read_file(parent + "/cgroup.subtree_control", enabled); // a directory in one test: ""
    add_files(dir, {"cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "cgroup.kill"});
    put(dir + "/cgroup.controllers", enabled);
    put(dir + "/cgroup.events", "populated 0\nfrozen 0\n");
    if (enabled.find("memory") != std::string::npos) {
      add_files(dir, {"memory.max", "memory.current", "memory.events"});
      if (g_fake_swap_accounting) {
        add_files(dir, {"memory.swap.max"});
      }
    }
    if (enabled.find("pids") != std::string::npos) {
      add_files(dir, {"pids.max", "pids.current"});
    }
    if (enabled.find("cpu") != std::string::npos) {
      add_files(dir, {"cpu.max"});
    }
    return 0;
  }
  for (const auto& e : fs::directory_iterator(parent)) { // v1: the parent's files
    if (e.is_regular_file() && e.path().filename() != "release_agent") {
      put(dir + "/" + e.path().filename().string(), "");
    }
  }
  return 0;
}

int fake_rmdir(const char* path)
{
  const std::string dir = path;
  std::string procs;
  if (read_file(dir + "/cgroup.procs", procs) && !procs.empty()) {
    errno = EBUSY;
    return -1;
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file()) {
      fs::remove(e.path());
    }
  }
  return ::rmdir(path);
}

const CgroupFsOps k_fake_ops{fake_mkdir, fake_rmdir};

class FakeCgroupFs : public ::testing::Test {
protected:
  void SetUp() override
  {
    char tmpl[] = "/tmp/pg-cgroup-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    m_root = tmpl;
    fs::create_directories(m_root + "/proc/self");
    put(m_root + "/proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n");
    g_fake_swap_accounting = true;
    g_fake_eacces.clear();
    set_cgroup_fs_ops_for_test(&k_fake_ops);
  }
  void TearDown() override
  {
    set_cgroup_fs_ops_for_test(nullptr);
    fs::remove_all(m_root);
  }

  // A v2 cgroup directory with the files the kernel shows in it.
  void v2_dir(const std::string& rel, const std::string& controllers, bool root = false)
  {
    const std::string d = m_root + rel;
    fs::create_directories(d);
    put(d + "/cgroup.controllers", controllers + "\n");
    add_files(d, {"cgroup.subtree_control", "cgroup.procs", "cgroup.threads"});
    if (!root) {
      add_files(d, {"cgroup.kill"});
      put(d + "/cgroup.events", "populated 1\n");
    }
  }

  // A v1 cgroup directory with the given control files.
  void v1_dir(const std::string& rel, std::initializer_list<const char*> files)
  {
    const std::string d = m_root + rel;
    fs::create_directories(d);
    add_files(d, {"cgroup.procs", "tasks", "notify_on_release"});
    add_files(d, files);
  }

  CgroupHost host(const std::string& proc_cgroup, const std::string& mountinfo)
  {
    put(m_root + "/proc/self/cgroup", proc_cgroup);
    put(m_root + "/proc/self/mountinfo", mountinfo);
    return discover_cgroup_host(m_root);
  }

  // This machine's layout: v1 memory (deeper), pids, cpu (roots) and v2 at unified.
  CgroupHost hybrid(bool memsw = true)
  {
    v2_dir("/sys/fs/cgroup/unified", "hugetlb", true);
    if (memsw) {
      v1_dir("/sys/fs/cgroup/memory/process_api/f231",
             {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.usage_in_bytes",
              "memory.oom_control", "cgroup.event_control"});
    } else {
      v1_dir("/sys/fs/cgroup/memory/process_api/f231",
             {"memory.limit_in_bytes", "memory.usage_in_bytes", "memory.oom_control"});
    }
    v1_dir("/sys/fs/cgroup/pids", {"pids.max", "pids.current"});
    v1_dir("/sys/fs/cgroup/cpu", {"cpu.cfs_period_us", "cpu.cfs_quota_us"});
    return host(k_hybrid_cgroup, k_hybrid_mountinfo);
  }

  std::string read(const std::string& rel) { return slurp(m_root + rel); }
  bool exists(const std::string& rel) { return fs::exists(m_root + rel); }

  std::string m_root;
};

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
} // namespace pg
