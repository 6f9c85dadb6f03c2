#include "proc.h"
#include "syscalls.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace pg {
namespace {

TEST(ProcStat, ParsesAfterACommHoldingSpacesAndParentheses)
{
  // Fields 14-17 (utime stime cutime cstime) after a comm holding ") (" and spaces.
  const std::string stat = "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 "
                           "250 50 7 3 20 0 1 0 12345 1000 100\n";
  const auto st = parse_proc_stat(4242, stat);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->comm, "a) b (c");
  EXPECT_EQ(st->state, 'S');
  EXPECT_EQ(st->ppid, 1);
  EXPECT_EQ(st->pgid, 4242);
  EXPECT_EQ(st->flags, 4194560u); // field 9
  EXPECT_EQ(st->cpu_ticks, 310u); // user, system and reaped children's
  EXPECT_EQ(st->rss_pages, 100u);
}

TEST(ProcStat, RefusesMalformedLines)
{
  EXPECT_EQ(parse_proc_stat(1, "4242 (a) S 1 2"), std::nullopt);
  EXPECT_EQ(parse_proc_stat(1, "no parenthesis"), std::nullopt);
  EXPECT_EQ(parse_proc_stat(1, "1 (a) S 1 1 1 0 -1 0 0 0 0 0 x 0 0 0 20 0 1 0 5 6 7\n"),
            std::nullopt);
}

TEST(ReadKernelFile, ReadsWholeWhatTakesOneReadOrMany)
{
  // One short read is the whole of a kernel's small file.
  std::string stat;
  ASSERT_TRUE(read_kernel_file("/proc/self/stat", stat));
  const auto st = parse_proc_stat(::getpid(), stat);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->threads, 1U);
  // A read that fills the buffer is not taken for the end: 20 000 bytes come whole.
  char tmpl[] = "/tmp/pg-readkernel-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  const std::string text = [] {
    std::string t;
    for (int i = 0; i < 4000; ++i) {
      t += std::to_string(10000 + i) + "\n"; // short records, as cgroup.procs holds
    }
    return t;
  }();
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  std::string got;
  EXPECT_TRUE(read_kernel_file(tmpl, got));
  ::unlink(tmpl);
  EXPECT_EQ(got, text);
  EXPECT_FALSE(read_kernel_file(std::string(tmpl) + "-gone", got));
}

} // namespace
} // namespace pg
