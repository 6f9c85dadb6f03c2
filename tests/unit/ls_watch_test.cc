#include "ls_watch.h"

#include <gtest/gtest.h>

namespace pg {
namespace {

TEST(LsWatch, IntervalIsSecondsLikeWatchOrADuration)
{
  EXPECT_EQ(parse_watch_interval("2"), Millis(2000));
  EXPECT_EQ(parse_watch_interval("0.2"), Millis(200));
  EXPECT_EQ(parse_watch_interval("1.5"), Millis(1500));
  EXPECT_EQ(parse_watch_interval("250ms"), Millis(250));
  EXPECT_EQ(parse_watch_interval("1m"), Millis(60'000));
}

TEST(LsWatch, IntervalRefusesJunkAndTooShort)
{
  EXPECT_EQ(parse_watch_interval("0"), std::nullopt);
  EXPECT_EQ(parse_watch_interval("0.05"), std::nullopt);
  EXPECT_EQ(parse_watch_interval("50ms"), std::nullopt);
  EXPECT_EQ(parse_watch_interval("-1"), std::nullopt);
  EXPECT_EQ(parse_watch_interval("bot"), std::nullopt);
  EXPECT_EQ(parse_watch_interval("nan"), std::nullopt);
  EXPECT_EQ(parse_watch_interval(""), std::nullopt);
}

TEST(LsWatch, RedrawGoesHomeClearsEachLineAndTheRest)
{
  EXPECT_EQ(redraw_in_place("NAME  STATE\nbot   running\n"),
            "\x1b[HNAME  STATE\x1b[K\nbot   running\x1b[K\n\x1b[J");
}

} // namespace
} // namespace pg
