#include "event_clock.h"

#include <gtest/gtest.h>

namespace pg {
namespace {

WallTime at_ms(int64_t ms)
{
  return WallTime(std::chrono::milliseconds(ms));
}

TEST(Rfc3339Cache, SameTextAsFormatRfc3339)
{
  Rfc3339Cache cache;
  // Across second, minute, day and year boundaries, before the epoch, and in a stream.
  const int64_t starts[] = {0,  999,   1000,        59'999,           86'399'500, 1'798'761'599'000,
                            -1, -1001, -86'400'000, 4'102'444'799'000};
  for (int64_t start : starts) {
    for (int64_t d = -1500; d <= 1500; d += 7) {
      const WallTime t = at_ms(start + d);
      ASSERT_EQ(cache.format(t), format_rfc3339(t)) << start + d;
    }
  }
}

TEST(Rfc3339Cache, GoingBackInTimeReformats)
{
  Rfc3339Cache cache;
  EXPECT_EQ(cache.format(at_ms(1'700'000'000'123)), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(cache.format(at_ms(1'600'000'000'004)), "2020-09-13T12:26:40.004Z");
  EXPECT_EQ(cache.format(at_ms(1'600'000'000'999)), "2020-09-13T12:26:40.999Z");
}

} // namespace
} // namespace pg
