// KeyOrder: the index of every key whatever the order it comes in, and one comparison per key
// when it comes sorted (as nlohmann::json writes objects).
#include "key_order.h"

#include <gtest/gtest.h>

#include <array>
#include <string_view>

namespace pg {
namespace {

constexpr std::array<std::string_view, 5> k_names{"pid", "code", "signal", "at", "cause"};
constexpr KeyOrder<5> k_order{k_names};

TEST(KeyOrder, FindsKeysInSortedOrder)
{
  KeyOrder<5>::Lookup keys(k_order);
  EXPECT_EQ(keys.find("at"), 3);
  EXPECT_EQ(keys.find("cause"), 4);
  EXPECT_EQ(keys.find("code"), 1);
  EXPECT_EQ(keys.find("pid"), 0);
  EXPECT_EQ(keys.find("signal"), 2);
}

TEST(KeyOrder, FindsKeysInAnyOrderAndRepeated)
{
  KeyOrder<5>::Lookup keys(k_order);
  EXPECT_EQ(keys.find("signal"), 2);
  EXPECT_EQ(keys.find("pid"), 0);
  EXPECT_EQ(keys.find("pid"), 0);
  EXPECT_EQ(keys.find("at"), 3);
  EXPECT_EQ(keys.find("code"), 1);
  EXPECT_EQ(keys.find("signal"), 2);
  EXPECT_EQ(keys.find("cause"), 4);
}

TEST(KeyOrder, UnknownKeysAreMinusOneAndKeepThePrediction)
{
  KeyOrder<5>::Lookup keys(k_order);
  EXPECT_EQ(keys.find("at"), 3);
  EXPECT_EQ(keys.find("added_later"), -1);
  EXPECT_EQ(keys.find(""), -1);
  EXPECT_EQ(keys.find("pi"), -1);
  EXPECT_EQ(keys.find("pidx"), -1);
  EXPECT_EQ(keys.find("cause"), 4);
  EXPECT_EQ(keys.find("zzz"), -1); // after the last key
  EXPECT_EQ(keys.find("code"), 1);
}

TEST(KeyOrder, WorksAtCompileTimeAndForOneKey)
{
  static constexpr std::array<std::string_view, 1> one{"only"};
  static constexpr KeyOrder<1> order{one};
  static_assert([] {
    KeyOrder<1>::Lookup keys(order);
    return keys.find("only") == 0 && keys.find("only") == 0 && keys.find("other") == -1;
  }());
  static_assert([] {
    KeyOrder<5>::Lookup keys(k_order);
    return keys.find("at") == 3 && keys.find("cause") == 4 && keys.find("code") == 1 &&
           keys.find("pid") == 0 && keys.find("signal") == 2 && keys.find("x") == -1;
  }());
}

} // namespace
} // namespace pg
