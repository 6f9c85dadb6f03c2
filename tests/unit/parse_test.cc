#include "parse.h"

#include <gtest/gtest.h>

namespace pg {
namespace {

TEST(ParseDuration, AcceptsEveryUnitAndCombinations)
{
  EXPECT_EQ(parse_duration("250ms"), Millis(250));
  EXPECT_EQ(parse_duration("90s"), Millis(90'000));
  EXPECT_EQ(parse_duration("30m"), Millis(1'800'000));
  EXPECT_EQ(parse_duration("8h"), Millis(28'800'000));
  EXPECT_EQ(parse_duration("2d"), Millis(172'800'000));
  EXPECT_EQ(parse_duration("1h30m"), Millis(5'400'000));
  EXPECT_EQ(parse_duration("15"), Millis(15'000));
  EXPECT_EQ(parse_duration("0"), Millis(0));
}

TEST(ParseDuration, RefusesMalformedText)
{
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("5x"));
  EXPECT_FALSE(parse_duration("h"));
  EXPECT_FALSE(parse_duration("-5s"));
  EXPECT_FALSE(parse_duration("1h30"));
  EXPECT_FALSE(parse_duration("1.5h"));
}

} // namespace
} // namespace pg
