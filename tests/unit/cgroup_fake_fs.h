// A fake cgroupfs for the cgroup unit tests: a temporary directory laid out like
// /sys/fs/cgroup and /proc/self, and a fake kernel (set_cgroup_fs_ops_for_test) whose mkdir makes
// the control files a real one would and whose rmdir refuses a cgroup with processes.
#pragma once

#include "cgroup.h"
#include "syscalls.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace pg::test {

// This machine's /proc/self/cgroup and the cgroup lines of its mountinfo (hybrid).
extern const char* const k_hybrid_cgroup;
extern const char* const k_hybrid_mountinfo;
// A pure v2 host: one mount at /sys/fs/cgroup.
extern const char* const k_v2_mountinfo;

// The fake kernel's knobs, reset by each FakeCgroupFs test.
extern bool g_fake_swap_accounting;         // a v2 memory cgroup gets memory.swap.max
extern std::set<std::string> g_fake_eacces; // mkdir of these paths fails with EACCES

std::string slurp(const std::string& path);
void put(const std::string& path, const std::string& text);
void add_files(const std::string& dir, std::initializer_list<const char*> names);

class FakeCgroupFs : public ::testing::Test {
protected:
  void SetUp() override;
  void TearDown() override;

  // A v2 cgroup directory with the files the kernel shows in it (the root has fewer).
  void v2_dir(const std::string& rel, const std::string& controllers, bool root = false);
  // A v1 cgroup directory with the given control files.
  void v1_dir(const std::string& rel, std::initializer_list<const char*> files);
  // The host as discovered from the fake /proc/self files written from these texts.
  CgroupHost host(const std::string& proc_cgroup, const std::string& mountinfo);
  // This machine's layout: v1 memory (deeper), pids, cpu (roots) and v2 at unified.
  CgroupHost hybrid(bool memsw = true);

  std::string read(const std::string& rel) { return slurp(m_root + rel); }
  bool exists(const std::string& rel);

  std::string m_root;
};

} // namespace pg::test
