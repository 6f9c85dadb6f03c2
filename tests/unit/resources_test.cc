#include "resources.h"

#include <gtest/gtest.h>

namespace pg {
namespace {

struct rusage usage(long maxrss_kb, long user_ms, long sys_ms)
{
  struct rusage ru {};
  ru.ru_maxrss = maxrss_kb;
  ru.ru_utime.tv_sec = user_ms / 1000;
  ru.ru_utime.tv_usec = (user_ms % 1000) * 1000;
  ru.ru_stime.tv_sec = sys_ms / 1000;
  ru.ru_stime.tv_usec = (sys_ms % 1000) * 1000;
  return ru;
}

TEST(RunUsage, NothingReapedLeavesTheRecordNull)
{
  RunUsage u;
  ExitRecord rec;
  rec.max_rss_kb = 5; // a stale value is cleared
  u.fill(rec);
  EXPECT_FALSE(rec.max_rss_kb);
  EXPECT_FALSE(rec.user_cpu_s);
  EXPECT_FALSE(rec.sys_cpu_s);
  EXPECT_EQ(usage_text(rec), "");
}

TEST(RunUsage, PeakOfTheLargestCpuSummed)
{
  RunUsage u;
  u.add(usage(12'000, 1'200, 300));
  u.add(usage(50'000, 250, 50));
  u.add(usage(8'000, 1'550, 1'650));
  ExitRecord rec;
  u.fill(rec);
  ASSERT_TRUE(rec.max_rss_kb && rec.user_cpu_s && rec.sys_cpu_s);
  EXPECT_EQ(*rec.max_rss_kb, 50'000u);
  EXPECT_DOUBLE_EQ(*rec.user_cpu_s, 3.0);
  EXPECT_DOUBLE_EQ(*rec.sys_cpu_s, 2.0);
}

TEST(RunUsage, AProcessThatUsedNothingStillCounts)
{
  RunUsage u;
  u.add(usage(0, 0, 0));
  ExitRecord rec;
  u.fill(rec);
  EXPECT_EQ(rec.max_rss_kb, 0u);
  EXPECT_EQ(rec.user_cpu_s, 0.0);
}

TEST(RunUsage, Text)
{
  ExitRecord rec;
  rec.max_rss_kb = 12'595; // 12.3 MiB
  rec.user_cpu_s = 1.2;
  rec.sys_cpu_s = 0.3;
  EXPECT_EQ(usage_text(rec), "max RSS 12.3 MiB, CPU 1.20s user + 0.30s sys");
}

TEST(RunUsage, FromAnExitEvent)
{
  nlohmann::json ev = {
      {"event", "exit"}, {"max_rss_kb", 2048}, {"user_cpu_s", 0.5}, {"sys_cpu_s", 0.25}};
  EXPECT_EQ(usage_text(exit_record_usage(ev)), "max RSS 2.0 MiB, CPU 0.50s user + 0.25s sys");
  nlohmann::json none = {
      {"event", "exit"}, {"max_rss_kb", nullptr}, {"user_cpu_s", nullptr}, {"sys_cpu_s", nullptr}};
  EXPECT_EQ(usage_text(exit_record_usage(none)), "");
  EXPECT_EQ(usage_text(exit_record_usage({{"event", "exit"}})), "");
  nlohmann::json unsigned_rss = {{"max_rss_kb", uint64_t{1024}}};
  EXPECT_EQ(exit_record_usage(unsigned_rss).max_rss_kb, 1024u);
  EXPECT_FALSE(exit_record_usage({{"max_rss_kb", "lots"}}).max_rss_kb);
}

TEST(MemoryLimit, Detail)
{
  EXPECT_EQ(memory_limit_detail(312ULL << 20, 256ULL << 20),
            "tree RSS 312.0 MiB above --max-memory 256 MiB");
  EXPECT_EQ(memory_limit_detail(1610612736ULL, 1ULL << 30),
            "tree RSS 1.5 GiB above --max-memory 1 GiB");
}

} // namespace
} // namespace pg
