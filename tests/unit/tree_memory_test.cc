#include "tree_memory.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace pg {
namespace {

namespace fs = std::filesystem;

TEST(TreeMemory, ParsesChildren)
{
  EXPECT_EQ(parse_children("12 34 "), (std::vector<pid_t>{12, 34}));
  EXPECT_EQ(parse_children(""), std::vector<pid_t>{});
  EXPECT_EQ(parse_children("7\n"), std::vector<pid_t>{7});
  EXPECT_EQ(parse_children("0 5 junk 6"), (std::vector<pid_t>{5, 6}));
}

TEST(TreeMemory, FormatsSizes)
{
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1024), "1.0 KiB");
  EXPECT_EQ(format_bytes(312ULL * 1024 * 1024), "312.0 MiB");
  EXPECT_EQ(format_bytes(3ULL * 512 * 1024 * 1024), "1.5 GiB");
  EXPECT_EQ(format_limit(256ULL * 1024 * 1024), "256 MiB");
  EXPECT_EQ(format_limit(1ULL << 30), "1 GiB");
  EXPECT_EQ(format_limit(1536ULL * 1024), "1536 KiB");
  EXPECT_EQ(format_limit(100), "100 B");
  EXPECT_EQ(format_limit(1500), "1.5 KiB");
  EXPECT_EQ(format_limit(0), "0 B");
}

// A fake /proc: PID/task/TID/children and PID/stat files written by the test.
class FakeProc : public ::testing::Test {
protected:
  void SetUp() override
  {
    char templ[] = "/tmp/pg-tree-unit-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    m_dir = templ;
  }
  void TearDown() override
  {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }
  void task(pid_t pid, pid_t tid, const std::string& children)
  {
    const std::string d = m_dir + "/" + std::to_string(pid) + "/task/" + std::to_string(tid);
    fs::create_directories(d);
    std::ofstream(d + "/children") << children;
  }
  // PID/stat of a process in state S with `threads` threads and `rss` resident pages.
  void stat(pid_t pid, uint64_t rss, uint64_t threads = 1)
  {
    fs::create_directories(m_dir + "/" + std::to_string(pid));
    std::ofstream(m_dir + "/" + std::to_string(pid) + "/stat")
        << pid << " (x y) S 1 " << pid << " 0 0 0 0 0 0 0 0 0 0 0 0 0 0 " << threads << " 0 0 0 "
        << rss << " 0 0\n";
  }
  static std::vector<pid_t> pids(const std::vector<ProcStat>& tree)
  {
    std::vector<pid_t> out;
    for (const ProcStat& p : tree) {
      out.push_back(p.pid);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static uint64_t pages(const std::vector<ProcStat>& tree)
  {
    uint64_t n = 0;
    for (const ProcStat& p : tree) {
      n += p.rss_pages;
    }
    return n;
  }
  std::string m_dir;
};

TEST_F(FakeProc, SumsTheWholeTreeThroughEveryThread)
{
  // 100 (the supervisor, not counted) -> 200 (two threads: 300 from one, 400 from the other)
  // 300 -> 500; and 600 adopted by 100 (an orphan).
  task(100, 100, "200 600 ");
  stat(100, 999999);
  task(200, 200, "300 ");
  task(200, 201, "400 ");
  stat(200, 10, 2);
  task(300, 300, "500 ");
  stat(300, 20);
  task(400, 400, "");
  stat(400, 30);
  task(500, 500, "");
  stat(500, 40);
  task(600, 600, "");
  stat(600, 1000);
  const std::vector<ProcStat> tree = tree_stats(100, false, m_dir);
  EXPECT_EQ(pids(tree), (std::vector<pid_t>{200, 300, 400, 500, 600}));
  EXPECT_EQ(pages(tree), 10u + 20 + 30 + 40 + 1000);
  EXPECT_EQ(rss_bytes(tree), pages(tree) * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)));
}

TEST_F(FakeProc, SkipsProcessesGoneDuringTheWalk)
{
  task(100, 100, "200 201 ");
  task(200, 200, "");
  stat(200, 5);
  // 201 is listed but gone: no directory at all.
  const std::vector<ProcStat> tree = tree_stats(100, false, m_dir);
  EXPECT_EQ(pids(tree), std::vector<pid_t>{200});
  EXPECT_EQ(pages(tree), 5u);
}

TEST_F(FakeProc, NoChildrenMeansNothing)
{
  task(100, 100, "");
  const std::vector<ProcStat> tree = tree_stats(100, false, m_dir);
  EXPECT_TRUE(tree.empty());
  EXPECT_EQ(rss_bytes(tree), 0u);
}

TEST_F(FakeProc, FallsBackWhenTheKernelHasNoChildrenFiles)
{
  // Task directories without children files (CONFIG_PROC_CHILDREN off).
  fs::create_directories(m_dir + "/100/task/100");
  stat(200, 3);
  stat(300, 4);
  std::vector<pid_t> asked;
  auto fallback = [&](pid_t root) {
    asked.push_back(root);
    return std::vector<pid_t>{200, 300};
  };
  const std::vector<ProcStat> tree = tree_stats(100, false, m_dir, fallback);
  EXPECT_EQ(asked, std::vector<pid_t>{100});
  EXPECT_EQ(pids(tree), (std::vector<pid_t>{200, 300}));
  EXPECT_EQ(pages(tree), 7u);
}

TEST_F(FakeProc, ARecycledPidNeverLoops)
{
  task(100, 100, "200 ");
  task(200, 200, "300 ");
  task(300, 300, "200 "); // impossible in a real tree, but a walk over changing data must end
  stat(200, 1);
  stat(300, 1);
  EXPECT_EQ(pids(tree_stats(100, false, m_dir)), (std::vector<pid_t>{200, 300}));
}

TEST_F(FakeProc, TheTreeIsReadNotEveryProcess)
{
  // pg-ls's CPU and memory figures, and the supervisor's record of its tree: a machine of 2 000
  // processes made a listing of 200 jobs take 21 s when each job's tree came from a scan of all
  // of /proc. The walk asks for no scan (the fallback) while the children files are there.
  task(100, 100, "200 ");
  task(200, 200, "300 ");
  task(300, 300, "");
  stat(200, 1);
  stat(300, 1);
  task(900, 900, "901 "); // another job's tree
  task(901, 901, "");
  stat(900, 1);
  stat(901, 1);
  std::vector<pid_t> asked;
  auto scan = [&](pid_t root) {
    asked.push_back(root);
    return std::vector<pid_t>{};
  };
  EXPECT_EQ(pids(tree_stats(100, false, m_dir, scan)), (std::vector<pid_t>{200, 300}));
  EXPECT_TRUE(asked.empty());
}

TEST(TreeMemory, TreeStatsOfARealChild)
{
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  const std::vector<ProcStat> tree = tree_stats(::getpid());
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_EQ(
      std::count_if(tree.begin(), tree.end(), [&](const ProcStat& p) { return p.pid == child; }),
      1);
  for (const ProcStat& p : tree) {
    EXPECT_NE(p.pid, ::getpid()); // the root is not its own tree
  }
}

TEST(TreeMemory, TheStatsOfATreeFindTheChildrenOfEveryThread)
{
  // A child of two threads whose second thread forks the grandchild: the grandchild is listed in
  // that thread's children file only, so the walk must list the child's task directory.
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::thread t([&] {
      const pid_t grandchild = ::fork();
      if (grandchild == 0) {
        ::pause();
        ::_exit(0);
      }
      if (::write(ready[1], &grandchild, sizeof grandchild) != sizeof grandchild) {
        ::_exit(1);
      }
      ::pause();
    });
    t.join();
    ::_exit(0);
  }
  pid_t grandchild = 0;
  ASSERT_EQ(::read(ready[0], &grandchild, sizeof grandchild),
            static_cast<ssize_t>(sizeof grandchild));
  const std::vector<ProcStat> tree = tree_stats(::getpid(), true); // this test runs one thread
  ::kill(grandchild, SIGKILL);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::close(ready[0]);
  ::close(ready[1]);
  auto count = [&](pid_t pid) {
    return std::count_if(tree.begin(), tree.end(), [&](const ProcStat& p) { return p.pid == pid; });
  };
  EXPECT_EQ(count(child), 1);
  EXPECT_EQ(count(grandchild), 1);
  for (const ProcStat& p : tree) {
    if (p.pid == child) {
      EXPECT_EQ(p.threads, 2U);
    }
  }
}

TEST(TreeMemory, CountsARealChild)
{
  // This process's own tree: a child that touched 8 MiB shows up with at least that much.
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    constexpr size_t size = 8u << 20;
    char* p = static_cast<char*>(std::malloc(size));
    for (size_t i = 0; i < size; i += 4096) {
      p[i] = 1;
    }
    char c = 'x';
    if (::write(ready[1], &c, 1) != 1) {
      ::_exit(1);
    }
    ::pause();
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  const std::vector<ProcStat> tree = tree_stats(::getpid());
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(ready[0]);
  ::close(ready[1]);
  EXPECT_GE(tree.size(), 1u);
  EXPECT_GE(rss_bytes(tree), 8u << 20);
}

} // namespace
} // namespace pg
