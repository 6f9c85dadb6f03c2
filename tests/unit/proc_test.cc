#include "proc.h"

#include <gtest/gtest.h>

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

} // namespace
} // namespace pg
