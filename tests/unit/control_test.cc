#include "control.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdint>

namespace pg {
namespace {

TEST(ControlRequest, RoundTripsEveryVerb)
{
  const Request requests[] = {
      {Verb::Stop, 0},
      {Verb::Stop, 1},
      {Verb::Stop, 10'001},
      {Verb::Stop, (1U << 28) - 1},
      {Verb::Restart, 0},
      {Verb::Ack, 0},
      {Verb::Signal, static_cast<uint32_t>(SIGUSR1)},
      {Verb::Signal, static_cast<uint32_t>(SIGHUP)},
      {Verb::Signal, static_cast<uint32_t>(SIGKILL)},
      {Verb::Signal, static_cast<uint32_t>(SIGRTMAX)},
  };
  for (const Request& r : requests) {
    auto back = decode_request(encode_request(r));
    ASSERT_TRUE(back) << static_cast<uint32_t>(r.verb) << " " << r.arg;
    EXPECT_EQ(*back, r) << static_cast<uint32_t>(r.verb) << " " << r.arg;
  }
}

TEST(ControlRequest, EncodesDistinctValuesForDistinctRequests)
{
  EXPECT_NE(encode_request({Verb::Stop, 0}), encode_request({Verb::Restart, 0}));
  EXPECT_NE(encode_request({Verb::Stop, 15}), encode_request({Verb::Signal, 15}));
  EXPECT_NE(encode_request({Verb::Stop, 1}), encode_request({Verb::Stop, 2}));
  EXPECT_NE(encode_request({Verb::Ack, 0}), encode_request({Verb::Restart, 0}));
}

TEST(ControlRequest, RefusesUnknownVerbs)
{
  EXPECT_FALSE(decode_request(0));
  EXPECT_FALSE(decode_request(5));
  EXPECT_FALSE(decode_request(0xF));
  EXPECT_FALSE(decode_request(16));      // verb 0 with an argument
  EXPECT_FALSE(decode_request(-1));      // all bits set: verb 15
  EXPECT_FALSE(decode_request(0x12340)); // verb 0
}

TEST(ControlRequest, RefusesASignalRequestWithoutAValidSignal)
{
  EXPECT_FALSE(decode_request(encode_request({Verb::Signal, 0})));
  EXPECT_FALSE(decode_request(encode_request({Verb::Signal, static_cast<uint32_t>(SIGRTMAX + 1)})));
  EXPECT_FALSE(decode_request(encode_request({Verb::Signal, 1'000'000})));
}

TEST(ControlRequest, RefusesARestartRequestWithAnArgument)
{
  EXPECT_FALSE(decode_request(encode_request({Verb::Restart, 7})));
}

TEST(ControlRequest, RefusesAnAckRequestWithAnArgument)
{
  EXPECT_FALSE(decode_request(encode_request({Verb::Ack, 1})));
}

} // namespace
} // namespace pg
