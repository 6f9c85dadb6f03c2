#include "signals.h"

#include <gtest/gtest.h>

#include <csignal>
#include <string>

namespace pg {
namespace {

std::string lower(std::string s)
{
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return s;
}

TEST(SignalName, NamesTheCommonSignals)
{
  EXPECT_EQ(signal_name(SIGHUP), "SIGHUP");
  EXPECT_EQ(signal_name(SIGINT), "SIGINT");
  EXPECT_EQ(signal_name(SIGKILL), "SIGKILL");
  EXPECT_EQ(signal_name(SIGSEGV), "SIGSEGV");
  EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_EQ(signal_name(SIGUSR1), "SIGUSR1");
  EXPECT_EQ(signal_name(SIGCHLD), "SIGCHLD");
  EXPECT_EQ(signal_name(SIGWINCH), "SIGWINCH");
  EXPECT_EQ(signal_name(SIGSYS), "SIGSYS");
}

TEST(SignalName, NamesEveryStandardSignalWithoutFallingBackToANumber)
{
  for (int sig = 1; sig < 32; ++sig) {
    const std::string name = signal_name(sig);
    ASSERT_EQ(name.rfind("SIG", 0), 0U) << sig;
    ASSERT_GT(name.size(), 3U);
    EXPECT_FALSE(name[3] >= '0' && name[3] <= '9') << sig << " -> " << name;
  }
}

TEST(SignalName, NamesRealTimeSignalsRelativeToRtmin)
{
  EXPECT_EQ(signal_name(SIGRTMIN), "SIGRTMIN");
  EXPECT_EQ(signal_name(SIGRTMIN + 1), "SIGRTMIN+1");
  EXPECT_EQ(signal_name(SIGRTMIN + 4), "SIGRTMIN+4");
  EXPECT_EQ(signal_name(SIGRTMAX), "SIGRTMIN+" + std::to_string(SIGRTMAX - SIGRTMIN));
}

TEST(SignalName, FallsBackToTheNumberForUnknownSignals)
{
  EXPECT_EQ(signal_name(0), "SIG0");
  EXPECT_EQ(signal_name(SIGRTMAX + 1), "SIG" + std::to_string(SIGRTMAX + 1));
}

TEST(ParseSignal, RoundTripsEveryStandardSignalInEveryForm)
{
  for (int sig = 1; sig < 32; ++sig) {
    const std::string name = signal_name(sig);
    const std::string bare = name.substr(3);
    EXPECT_EQ(parse_signal(name), sig) << name;
    EXPECT_EQ(parse_signal(bare), sig) << bare;
    EXPECT_EQ(parse_signal(lower(name)), sig) << lower(name);
    EXPECT_EQ(parse_signal(lower(bare)), sig) << lower(bare);
    EXPECT_EQ(parse_signal(std::to_string(sig)), sig) << sig;
  }
}

TEST(ParseSignal, RoundTripsEverySignalNumberThroughItsName)
{
  // Including the numbers glibc reserves below SIGRTMIN, which signal_name writes as "SIG32":
  // an exit record storing such a name must read back.
  for (int sig = 1; sig <= SIGRTMAX; ++sig) {
    EXPECT_EQ(parse_signal(signal_name(sig)), sig) << signal_name(sig);
  }
}

TEST(ParseSignal, AcceptsTermInEveryUsualSpelling)
{
  EXPECT_EQ(parse_signal("TERM"), SIGTERM);
  EXPECT_EQ(parse_signal("SIGTERM"), SIGTERM);
  EXPECT_EQ(parse_signal("sigterm"), SIGTERM);
  EXPECT_EQ(parse_signal("term"), SIGTERM);
  EXPECT_EQ(parse_signal("SigTerm"), SIGTERM);
  EXPECT_EQ(parse_signal("15"), SIGTERM);
}

TEST(ParseSignal, AcceptsRealTimeSignalsAsRtminPlusN)
{
  EXPECT_EQ(parse_signal("RTMIN"), SIGRTMIN);
  EXPECT_EQ(parse_signal("SIGRTMIN"), SIGRTMIN);
  EXPECT_EQ(parse_signal("RTMIN+0"), SIGRTMIN);
  EXPECT_EQ(parse_signal("RTMIN+2"), SIGRTMIN + 2);
  EXPECT_EQ(parse_signal("SIGRTMIN+2"), SIGRTMIN + 2);
  EXPECT_EQ(parse_signal("sigrtmin+3"), SIGRTMIN + 3);
  const int top = SIGRTMAX - SIGRTMIN;
  EXPECT_EQ(parse_signal("RTMIN+" + std::to_string(top)), SIGRTMAX);
  EXPECT_EQ(parse_signal(std::to_string(SIGRTMAX)), SIGRTMAX);
}

TEST(ParseSignal, RefusesJunk)
{
  EXPECT_FALSE(parse_signal(""));
  EXPECT_FALSE(parse_signal("SIG"));
  EXPECT_FALSE(parse_signal("sig"));
  EXPECT_FALSE(parse_signal("FOO"));
  EXPECT_FALSE(parse_signal("SIGFOO"));
  EXPECT_FALSE(parse_signal("SIGSIGTERM"));
  EXPECT_FALSE(parse_signal("TERM "));
  EXPECT_FALSE(parse_signal(" TERM"));
  EXPECT_FALSE(parse_signal("TERMX"));
  EXPECT_FALSE(parse_signal("15x"));
  EXPECT_FALSE(parse_signal(" 15"));
  EXPECT_FALSE(parse_signal("+15"));
  EXPECT_FALSE(parse_signal("1.5"));
  EXPECT_FALSE(parse_signal("0x0f"));
}

TEST(ParseSignal, RefusesNumbersOutOfRange)
{
  EXPECT_FALSE(parse_signal("0"));
  EXPECT_FALSE(parse_signal("-1"));
  EXPECT_FALSE(parse_signal("-15"));
  EXPECT_FALSE(parse_signal(std::to_string(SIGRTMAX + 1)));
  EXPECT_FALSE(parse_signal("99999999999999999999"));
  EXPECT_FALSE(parse_signal("SIG0"));
  EXPECT_FALSE(parse_signal("SIG" + std::to_string(SIGRTMAX + 1)));
}

TEST(ParseSignal, RefusesMalformedRealTimeNames)
{
  EXPECT_FALSE(parse_signal("RTMIN+"));
  EXPECT_FALSE(parse_signal("RTMIN-1"));
  EXPECT_FALSE(parse_signal("RTMIN+-1"));
  EXPECT_FALSE(parse_signal("RTMIN+x"));
  EXPECT_FALSE(parse_signal("RTMIN1"));
  EXPECT_FALSE(parse_signal("RTMIN+" + std::to_string(SIGRTMAX - SIGRTMIN + 1)));
  EXPECT_FALSE(parse_signal("RTMIN+99999999999"));
  // SIGRTMIN + INT_MAX would overflow an int.
  EXPECT_FALSE(parse_signal("RTMIN+2147483647"));
  EXPECT_FALSE(parse_signal("RTMIN+2147483600"));
}

TEST(ControlSignal, IsARealTimeSignalThatRoundTrips)
{
  const int sig = control_signal();
  EXPECT_GE(sig, SIGRTMIN);
  EXPECT_LE(sig, SIGRTMAX);
  EXPECT_EQ(parse_signal(signal_name(sig)), sig);
}

} // namespace
} // namespace pg
