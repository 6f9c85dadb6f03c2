#include "cgroup_fake_fs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace pg::test {

namespace fs = std::filesystem;

const char* const k_hybrid_cgroup = "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n"
                                    "5:devices:/\n4:memory:/process_api/f231\n3:cpuset:/\n"
                                    "2:cpuacct:/\n1:cpu:/\n0::/\n";
const char* const k_hybrid_mountinfo =
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
const char* const k_v2_mountinfo =
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

bool g_fake_swap_accounting = true;
std::set<std::string> g_fake_eacces;

void add_files(const std::string& dir, std::initializer_list<const char*> names)
{
  for (const char* n : names) {
    put(dir + "/" + n, "");
  }
}

namespace {

// The fake kernel: a new cgroup directory gets the control files the real one would.

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

} // namespace

void FakeCgroupFs::SetUp()
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

void FakeCgroupFs::TearDown()
{
  set_cgroup_fs_ops_for_test(nullptr);
  fs::remove_all(m_root);
}

void FakeCgroupFs::v2_dir(const std::string& rel, const std::string& controllers, bool root)
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

void FakeCgroupFs::v1_dir(const std::string& rel, std::initializer_list<const char*> files)
{
  const std::string d = m_root + rel;
  fs::create_directories(d);
  add_files(d, {"cgroup.procs", "tasks", "notify_on_release"});
  add_files(d, files);
}

CgroupHost FakeCgroupFs::host(const std::string& proc_cgroup, const std::string& mountinfo)
{
  put(m_root + "/proc/self/cgroup", proc_cgroup);
  put(m_root + "/proc/self/mountinfo", mountinfo);
  return discover_cgroup_host(m_root);
}

CgroupHost FakeCgroupFs::hybrid(bool memsw)
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

bool FakeCgroupFs::exists(const std::string& rel)
{
  return fs::exists(m_root + rel);
}

} // namespace pg::test
