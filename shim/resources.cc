#include "resources.h"

#include "tree_memory.h"

#include <fmt/format.h>

#include <algorithm>

namespace pg {

namespace {

int64_t micros(const timeval& tv)
{
  return static_cast<int64_t>(tv.tv_sec) * 1'000'000 + static_cast<int64_t>(tv.tv_usec);
}

} // namespace

void RunUsage::add(const struct rusage& ru)
{
  any = true;
  max_rss_kb = std::max(max_rss_kb, static_cast<uint64_t>(std::max(ru.ru_maxrss, 0L)));
  user_us += micros(ru.ru_utime);
  sys_us += micros(ru.ru_stime);
}

void RunUsage::fill(ExitRecord& rec) const
{
  if (!any) {
    rec.max_rss_kb.reset();
    rec.user_cpu_s.reset();
    rec.sys_cpu_s.reset();
    return;
  }
  rec.max_rss_kb = max_rss_kb;
  rec.user_cpu_s = static_cast<double>(user_us) / 1e6;
  rec.sys_cpu_s = static_cast<double>(sys_us) / 1e6;
}

std::string memory_limit_detail(uint64_t rss_bytes, uint64_t limit_bytes)
{
  return fmt::format("tree RSS {} above --max-memory {}", format_bytes(rss_bytes),
                     format_limit(limit_bytes));
}

} // namespace pg
