#include "clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace pg {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// 2026-11-21T22:09:19Z
constexpr long long k_example_s = 1'795'298'959;

WallTime at_ms(long long ms)
{
  return WallTime(milliseconds(ms));
}

TEST(FormatRfc3339, WritesUtcWithMilliseconds)
{
  EXPECT_EQ(format_rfc3339(at_ms(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(at_ms(k_example_s * 1000 + 123)), "2026-11-21T22:09:19.123Z");
  EXPECT_EQ(format_rfc3339(at_ms(951'782'400'000 + 7)), "2000-02-29T00:00:00.007Z");
}

TEST(FormatRfc3339, TruncatesBelowAMillisecond)
{
  WallTime t = at_ms(k_example_s * 1000 + 123) + std::chrono::microseconds(999);
  EXPECT_EQ(format_rfc3339(t), "2026-11-21T22:09:19.123Z");
}

TEST(FormatRfc3339, WritesTimesBeforeTheEpochWithAPositiveFraction)
{
  EXPECT_EQ(format_rfc3339(at_ms(-1)), "1969-12-31T23:59:59.999Z");
}

TEST(ParseRfc3339, RoundTripsWhatFormatWrites)
{
  for (long long ms : {0LL, 1LL, 999LL, 1000LL, k_example_s * 1000 + 123, 951'782'400'000LL,
                       4'102'444'799'999LL, 1'700'000'000'001LL}) {
    const std::string text = format_rfc3339(at_ms(ms));
    auto back = parse_rfc3339(text);
    ASSERT_TRUE(back) << text;
    EXPECT_EQ(*back, at_ms(ms)) << text;
  }
}

TEST(ParseRfc3339, AcceptsAMissingFraction)
{
  EXPECT_EQ(parse_rfc3339("2026-11-21T22:09:19Z"), at_ms(k_example_s * 1000));
  EXPECT_EQ(parse_rfc3339("2026-11-21T22:09:19z"), at_ms(k_example_s * 1000));
}

TEST(ParseRfc3339, ReadsShortAndLongFractionsAsMilliseconds)
{
  EXPECT_EQ(parse_rfc3339("2026-11-21T22:09:19.5Z"), at_ms(k_example_s * 1000 + 500));
  EXPECT_EQ(parse_rfc3339("2026-11-21T22:09:19.05Z"), at_ms(k_example_s * 1000 + 50));
  EXPECT_EQ(parse_rfc3339("2026-11-21T22:09:19.123456789Z"), at_ms(k_example_s * 1000 + 123));
}

TEST(ParseRfc3339, AppliesPositiveAndNegativeOffsets)
{
  const WallTime utc = at_ms(k_example_s * 1000 + 123);
  EXPECT_EQ(parse_rfc3339("2026-11-21T23:09:19.123+01:00"), utc);
  EXPECT_EQ(parse_rfc3339("2026-11-22T03:39:19.123+05:30"), utc);
  EXPECT_EQ(parse_rfc3339("2026-11-21T17:09:19.123-05:00"), utc);
  EXPECT_EQ(parse_rfc3339("2026-11-21T22:09:19.123+00:00"), utc);
  EXPECT_EQ(parse_rfc3339("2026-11-21T22:09:19.123-00:00"), utc);
}

TEST(ParseRfc3339, ReadsTheSecondBeforeTheEpoch)
{
  // timegm() returns -1 for this instant: it is a valid time, not an error.
  EXPECT_EQ(parse_rfc3339("1969-12-31T23:59:59Z"), at_ms(-1000));
  EXPECT_EQ(parse_rfc3339("1969-12-31T23:59:59.999Z"), at_ms(-1));
}

TEST(ParseRfc3339, RefusesTimesATimePointCannotHold)
{
  // Found by fuzz/fuzz_parse: nanoseconds since 1970 overflow 64 bits past about 2262.
  EXPECT_FALSE(parse_rfc3339("6026-11-21T23:09:19.123Z"));
  EXPECT_FALSE(parse_rfc3339("0001-01-01T00:00:00Z"));
  // Nor one whose difference with another would overflow (an age in pg-ls).
  EXPECT_FALSE(parse_rfc3339("1709-01-01T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2200-01-01T00:00:00Z"));
  EXPECT_TRUE(parse_rfc3339("2100-01-01T00:00:00Z"));
  EXPECT_TRUE(parse_rfc3339("1900-01-01T00:00:00Z"));
  // The range's two ends (k_min_time_s, k_max_time_s): 9.2e9 s apart, less than the 2^63 ns
  // a difference holds.
  EXPECT_EQ(parse_rfc3339("2188-08-26T02:40:00Z"), at_ms(k_max_time_s * 1000));
  EXPECT_FALSE(parse_rfc3339("2188-08-26T02:40:01Z"));
  EXPECT_EQ(parse_rfc3339("1897-02-11T15:06:40Z"), at_ms(k_min_time_s * 1000));
  EXPECT_FALSE(parse_rfc3339("1897-02-11T15:06:39Z"));
  EXPECT_LT((k_max_time_s - k_min_time_s) * 1000'000'000.0, 9.2233720368e18);
  // A deadline 100 years (k_max_duration) on from any date before 2088 is readable: a
  // --duration of 36500d records its deadline_at, and pg-ls and pg-ctl must read it back.
  EXPECT_TRUE(parse_rfc3339("2188-01-01T00:00:00Z"));
  EXPECT_TRUE(parse_rfc3339(
      format_rfc3339(*parse_rfc3339("2087-12-31T00:00:00Z") + std::chrono::days(36500))));
}

// The form format_rfc3339 writes is read by a path of its own (a listing reads thousands): it
// must say what the general path says of the same instant written with a +00:00 offset.
TEST(ParseRfc3339, ReadsItsOwnFormAsTheSameTimeWithAnOffset)
{
  for (const char* t :
       {"2026-01-02T03:04:05.678Z", "2024-02-29T23:59:60.999Z", "1969-12-31T23:59:59.999Z",
        "1970-01-01T00:00:00.000Z", "1900-01-01T00:00:00.000Z", "2188-08-26T02:40:00.000Z",
        "1897-02-11T15:06:40.000Z", "2000-02-29T12:00:00.001Z"}) {
    const std::string offset = std::string(t).substr(0, 23) + "+00:00";
    ASSERT_TRUE(parse_rfc3339(t).has_value()) << t;
    EXPECT_EQ(parse_rfc3339(t), parse_rfc3339(offset)) << t;
    EXPECT_EQ(format_rfc3339(*parse_rfc3339(t)),
              std::string(t).substr(0, 19) == "2024-02-29T23:59:60" ? "2024-03-01T00:00:00.999Z"
                                                                    : t);
  }
  for (const char* t :
       {"2023-02-29T00:00:00.000Z", "1900-02-29T00:00:00.000Z", "2026-13-01T00:00:00.000Z",
        "2026-01-01T24:00:00.000Z", "2188-08-26T02:40:01.000Z", "1897-02-11T15:06:39.999Z",
        "2026-01-01T00:00:00.00xZ"}) {
    EXPECT_FALSE(parse_rfc3339(t)) << t;
  }
}

TEST(ParseRfc3339, RefusesJunkAndMissingZones)
{
  EXPECT_FALSE(parse_rfc3339(""));
  EXPECT_FALSE(parse_rfc3339("yesterday"));
  EXPECT_FALSE(parse_rfc3339("2026-11-21"));
  EXPECT_FALSE(parse_rfc3339("2026-11-21T22:09:19"));
  EXPECT_FALSE(parse_rfc3339("2026-11-21T22:09:19.123"));
  EXPECT_FALSE(parse_rfc3339("2026-11-21 22:09:19Z"));
  EXPECT_FALSE(parse_rfc3339("2026-11-21T22:09:19.123Zjunk"));
  EXPECT_FALSE(parse_rfc3339("2026-11-21T22:09:19+0100"));
  EXPECT_FALSE(parse_rfc3339("2026-11-21T22:09:19+01"));
  EXPECT_FALSE(parse_rfc3339("2026-11-21T22:09:19+1x:00"));
  EXPECT_FALSE(parse_rfc3339("2026-11-21T22:09:19 Z"));
}

TEST(ParseRfc3339, RefusesFieldsOutOfRange)
{
  EXPECT_FALSE(parse_rfc3339("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-00-01T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-11-32T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-11-00T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-11-21T24:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-11-21T22:60:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-11-21T22:09:61Z"));
  EXPECT_FALSE(parse_rfc3339("2026-11-21T22:09:19+24:00"));
  EXPECT_FALSE(parse_rfc3339("2026-11-21T22:09:19+01:60"));
}

TEST(FormatAge, UsesTheTwoLargestUnits)
{
  EXPECT_EQ(format_age(seconds(0)), "0s");
  EXPECT_EQ(format_age(seconds(12)), "12s");
  EXPECT_EQ(format_age(seconds(59)), "59s");
  EXPECT_EQ(format_age(seconds(60)), "1m00s");
  EXPECT_EQ(format_age(seconds(250)), "4m10s");
  EXPECT_EQ(format_age(seconds(3599)), "59m59s");
  EXPECT_EQ(format_age(seconds(3600)), "1h00m");
  EXPECT_EQ(format_age(seconds(7500)), "2h05m");
  EXPECT_EQ(format_age(seconds(86'399)), "23h59m");
  EXPECT_EQ(format_age(seconds(86'400)), "1d00h");
  EXPECT_EQ(format_age(seconds(3 * 86'400 + 4 * 3600 + 59)), "3d04h");
  EXPECT_EQ(format_age(seconds(400 * 86'400)), "400d00h");
}

TEST(FormatAge, ShowsNegativeAgesAsZero)
{
  EXPECT_EQ(format_age(seconds(-5)), "0s");
}

TEST(Clocks, BoottimeAndMonotonicAdvanceAndBoottimeIsNotBehind)
{
  const Nanos m1 = monotonic_now();
  const Nanos b1 = boottime_now();
  const Nanos m2 = monotonic_now();
  const Nanos b2 = boottime_now();
  EXPECT_GT(m1.count(), 0);
  EXPECT_LE(m1, m2);
  EXPECT_LE(b1, b2);
  EXPECT_GE(b2, m1); // boot time includes suspend: never behind the monotonic clock
}

} // namespace
} // namespace pg
