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

std::string usage_text(const ExitRecord& rec)
{
  if (!rec.max_rss_kb && !rec.user_cpu_s && !rec.sys_cpu_s) {
    return {};
  }
  return fmt::format("max RSS {}, CPU {:.2f}s user + {:.2f}s sys",
                     format_bytes(rec.max_rss_kb.value_or(0) * 1024), rec.user_cpu_s.value_or(0),
                     rec.sys_cpu_s.value_or(0));
}

ExitRecord exit_record_usage(const nlohmann::json& ev)
{
  ExitRecord rec;
  if (auto it = ev.find("max_rss_kb"); it != ev.end() && it->is_number_integer()) {
    rec.max_rss_kb = static_cast<uint64_t>(std::max<int64_t>(it->get<int64_t>(), 0));
  }
  if (auto it = ev.find("user_cpu_s"); it != ev.end() && it->is_number()) {
    rec.user_cpu_s = it->get<double>();
  }
  if (auto it = ev.find("sys_cpu_s"); it != ev.end() && it->is_number()) {
    rec.sys_cpu_s = it->get<double>();
  }
  return rec;
}

std::string memory_limit_detail(uint64_t rss_bytes, uint64_t limit_bytes)
{
  return fmt::format("tree RSS {} above --max-memory {}", format_bytes(rss_bytes),
                     format_limit(limit_bytes));
}

} // namespace pg
