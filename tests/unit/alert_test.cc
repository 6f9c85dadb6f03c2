#include "alert.h"
#include "alert_helper.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdint>
#include <optional>
#include <string>

namespace pg {
namespace {

using std::chrono::seconds;

constexpr Nanos k_cooldown = seconds(60);

Nanos at(int s)
{
  return seconds(1000 + s); // a boot clock well past zero
}

Alert alert(AlertKind kind, const std::string& summary, int s = 0)
{
  Alert a;
  a.kind = kind;
  a.summary = summary;
  a.at = WallTime{} + seconds(1'700'000'000 + s);
  return a;
}

Alert failed(const std::string& summary, int s = 0)
{
  return alert(AlertKind::Failed, summary, s);
}

TEST(AlertGate, TheFirstAlertGoesAtOnce)
{
  AlertGate g(k_cooldown);
  auto o = g.offer(failed("one"), at(0));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->alert.summary, "one");
  EXPECT_EQ(o->held, 0u);
  EXPECT_EQ(g.deadline(), Nanos(0));
  EXPECT_EQ(g.held(), 0u);
}

TEST(AlertGate, AlertsWithinTheCooldownAreHeldTheLatestKept)
{
  AlertGate g(k_cooldown);
  ASSERT_TRUE(g.offer(failed("one"), at(0)));
  EXPECT_FALSE(g.offer(failed("two", 5), at(5)));
  EXPECT_FALSE(g.offer(failed("three", 9), at(9)));
  EXPECT_EQ(g.held(), 2u);
  EXPECT_EQ(g.deadline(), at(60));
  EXPECT_FALSE(g.due(at(59)));
  auto o = g.due(at(60));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->alert.summary, "three");
  EXPECT_EQ(o->held, 1u); // "two", reported by "three"
  EXPECT_EQ(o->held_since, failed("", 5).at);
  EXPECT_EQ(g.held(), 0u);
  EXPECT_EQ(g.deadline(), Nanos(0));
  EXPECT_FALSE(g.due(at(200)));
}

TEST(AlertGate, ASingleHeldAlertIsSentLateReportingNoOthers)
{
  AlertGate g(k_cooldown);
  ASSERT_TRUE(g.offer(failed("one"), at(0)));
  EXPECT_FALSE(g.offer(failed("two", 30), at(30)));
  auto o = g.due(at(61));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->alert.summary, "two");
  EXPECT_EQ(o->held, 0u);
}

TEST(AlertGate, TheCooldownRestartsAtEachSend)
{
  AlertGate g(k_cooldown);
  ASSERT_TRUE(g.offer(failed("one"), at(0)));
  EXPECT_FALSE(g.offer(failed("two", 10), at(10)));
  ASSERT_TRUE(g.due(at(60)));
  // Sent at 60: the next one within a minute of that is held again.
  EXPECT_FALSE(g.offer(failed("three", 100), at(100)));
  EXPECT_EQ(g.deadline(), at(120));
  ASSERT_TRUE(g.due(at(120)));
  ASSERT_TRUE(g.offer(failed("four", 181), at(181)));
}

TEST(AlertGate, HeldAlertsAreCountedIntoTheNextWhenItComesFirst)
{
  AlertGate g(k_cooldown);
  ASSERT_TRUE(g.offer(failed("one"), at(0)));
  EXPECT_FALSE(g.offer(failed("two", 10), at(10)));
  EXPECT_FALSE(g.offer(failed("three", 20), at(20)));
  EXPECT_FALSE(g.offer(failed("four", 30), at(30)));
  // The timer has not run yet (a busy loop): the next alert after the cooldown reports them.
  auto o = g.offer(failed("five", 70), at(70));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->alert.summary, "five");
  EXPECT_EQ(o->held, 3u);
  EXPECT_EQ(o->held_since, failed("", 10).at);
  EXPECT_FALSE(g.due(at(500)));
}

TEST(AlertGate, GivingUpIsNeverHeldAndCarriesTheCount)
{
  AlertGate g(k_cooldown);
  ASSERT_TRUE(g.offer(failed("one"), at(0)));
  EXPECT_FALSE(g.offer(failed("two", 1), at(1)));
  EXPECT_FALSE(g.offer(failed("three", 2), at(2)));
  auto o = g.offer(alert(AlertKind::GaveUp, "gave up", 3), at(3));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->alert.kind, AlertKind::GaveUp);
  EXPECT_EQ(o->held, 2u);
  EXPECT_EQ(g.held(), 0u);
  EXPECT_FALSE(g.flush());
}

TEST(AlertGate, AStopFromOutsideIsHeldLikeAFailureAndFlushedAtTheEnd)
{
  AlertGate g(k_cooldown);
  ASSERT_TRUE(g.offer(failed("one"), at(0)));
  EXPECT_FALSE(g.offer(failed("two", 1), at(1)));
  EXPECT_FALSE(g.offer(alert(AlertKind::StoppedOutside, "stopped", 2), at(2)));
  auto o = g.flush(); // the supervisor ends: nothing may stay behind
  ASSERT_TRUE(o);
  EXPECT_EQ(o->alert.kind, AlertKind::StoppedOutside);
  EXPECT_EQ(o->held, 1u);
  EXPECT_FALSE(g.flush());
}

TEST(AlertGate, NothingIsEverDropped)
{
  // Every offered alert is sent, or reported by a sent one: the sum of 1 + held is the count.
  AlertGate g(seconds(7));
  unsigned reported = 0;
  auto count = [&](const std::optional<Outgoing>& o) {
    if (o) {
      reported += 1 + o->held;
    }
  };
  for (int s = 0; s < 100; ++s) {
    count(g.due(at(s)));
    count(g.offer(failed("x", s), at(s)));
  }
  count(g.flush());
  EXPECT_EQ(reported, 100u);
}

TEST(AlertGate, ZeroCooldownSendsEverything)
{
  AlertGate g(Nanos(0));
  for (int s = 0; s < 3; ++s) {
    auto o = g.offer(failed("x"), at(0));
    ASSERT_TRUE(o);
    EXPECT_EQ(o->held, 0u);
  }
}

ExitRecord exit_code(int code, double runtime, const std::string& cause)
{
  ExitRecord e;
  e.status = ExitStatus::exited(code);
  e.runtime_s = runtime;
  e.cause = cause;
  return e;
}

TEST(AlertMessage, AFailureWithARestart)
{
  AlertFacts f;
  f.name = "bot";
  f.exit = exit_code(1, 3.24, "exit: code 1");
  f.restart_in = Millis(4000);
  f.restarts = 1;
  f.last_output = "Traceback (most recent call last):";
  Alert a = make_alert(f);
  EXPECT_EQ(a.summary, "bot failed: exit code 1 after 3.2s, restart 2 in 4s");
  EXPECT_EQ(a.exit_code, 1);
  EXPECT_EQ(a.signal, 0);
  EXPECT_EQ(alert_message({a, 0, {}}),
            "bot failed: exit code 1 after 3.2s, restart 2 in 4s; last output: Traceback (most "
            "recent call last):");
}

TEST(AlertMessage, ASignalAndACauseBeyondTheStatus)
{
  AlertFacts f;
  f.name = "bot";
  ExitRecord e;
  e.status = ExitStatus::killed(SIGKILL);
  e.runtime_s = 30;
  e.cause = "memory: tree RSS 600M above 512M; signal SIGKILL";
  f.exit = e;
  Alert a = make_alert(f);
  EXPECT_EQ(a.summary, "bot failed: signal SIGKILL after 30.0s (memory: tree RSS 600M above "
                       "512M; signal SIGKILL), not restarted");
  EXPECT_FALSE(a.exit_code);
  EXPECT_EQ(a.signal, SIGKILL);
}

TEST(AlertMessage, GivingUp)
{
  AlertFacts f;
  f.name = "bot";
  f.kind = AlertKind::GaveUp;
  f.exit = exit_code(2, 0.1, "gave-up: exit: code 2; 5 restarts within 1h already spent");
  EXPECT_EQ(make_alert(f).summary, "bot gave up: exit code 2 after 0.1s (gave-up: exit: code 2; "
                                   "5 restarts within 1h already spent)");
}

TEST(AlertMessage, StoppedFromOutside)
{
  AlertFacts f;
  f.name = "bot";
  f.kind = AlertKind::StoppedOutside;
  f.stop_by = "SIGTERM from pid 77 (bash, uid 1000)";
  ExitRecord e;
  e.status = ExitStatus::killed(SIGTERM);
  e.runtime_s = 5;
  f.exit = e;
  EXPECT_EQ(make_alert(f).summary,
            "bot stopped by SIGTERM from pid 77 (bash, uid 1000); signal SIGTERM after 5.0s");
  f.exit.reset();
  EXPECT_EQ(make_alert(f).summary, "bot stopped by SIGTERM from pid 77 (bash, uid 1000) between "
                                   "runs");
}

TEST(AlertMessage, HeldBackAlertsAreCounted)
{
  Alert a = failed("bot failed: exit code 1 after 0.1s, restart 4 in 1s");
  a.last_output = "boom";
  std::string m = alert_message({a, 3, WallTime{} + seconds(1'700'000'000)});
  EXPECT_EQ(m, "bot failed: exit code 1 after 0.1s, restart 4 in 1s; 3 more failures held back "
               "by the cooldown since 2023-11-14T22:13:20.000Z; last output: boom");
  EXPECT_NE(alert_message({a, 1, {}}).find("; 1 more failure held back"), std::string::npos);
}

TEST(AlertMessage, TheLastLineIsOneShortLine)
{
  EXPECT_EQ(clean_line("a\tb\x1b[31mc\r"), "a b [31mc");
  EXPECT_EQ(clean_line(std::string(300, 'x')), std::string(200, 'x') + "...");
  // Never cut inside a UTF-8 sequence: "é" is two bytes, the 200th byte is its first.
  std::string s = std::string(199, 'x') + "\xc3\xa9" + "yy";
  EXPECT_EQ(clean_line(s), std::string(199, 'x') + "...");
  Alert a = failed("s\nt");
  a.last_output = "line\nwith newline";
  EXPECT_EQ(alert_message({a, 0, {}}).find('\n'), std::string::npos);
  a.last_output = "  \t";
  EXPECT_EQ(alert_message({a, 0, {}}), "s t");
}

TEST(AlertEnv, EveryVariable)
{
  Alert a = failed("bot failed");
  a.exit_code = 3;
  a.runtime_s = 1.5;
  a.restarts = 2;
  auto env = alert_env({a, 1, {}}, "bot", "/s/bot/output.log");
  auto has = [&](const std::string& kv) {
    return std::find(env.begin(), env.end(), kv) != env.end();
  };
  EXPECT_TRUE(has("PG_NAME=bot"));
  EXPECT_TRUE(has("PG_EVENT=failed"));
  EXPECT_TRUE(has("PG_EXIT_CODE=3"));
  EXPECT_TRUE(has("PG_SIGNAL="));
  EXPECT_TRUE(has("PG_RUNTIME_S=1.500"));
  EXPECT_TRUE(has("PG_RESTARTS=2"));
  EXPECT_TRUE(has("PG_LOG=/s/bot/output.log"));
  EXPECT_TRUE(has("PG_HELD=1"));
  a.exit_code.reset();
  a.signal = SIGSEGV;
  a.kind = AlertKind::GaveUp;
  env = alert_env({a, 0, {}}, "bot", "/l");
  EXPECT_TRUE(has("PG_EXIT_CODE="));
  EXPECT_TRUE(has("PG_SIGNAL=SIGSEGV"));
  EXPECT_TRUE(has("PG_EVENT=gave-up"));
}

// The supervisor's request to the alert helper: what is encoded is decoded, and a datagram that
// encode_hook_request did not write is refused whole (the helper records "bad request").
TEST(HookRequest, EncodedIsDecoded)
{
  const HookRequest r{42, "failed", {"PG_NAME=bot", "PG_EVENT=", "PG_MESSAGE=a=b; c"}};
  const std::optional<std::string> msg = encode_hook_request(r);
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(*msg, std::string("42\0failed\0PG_NAME=bot\0PG_EVENT=\0PG_MESSAGE=a=b; c\0", 50));
  EXPECT_EQ(decode_hook_request(*msg), r);
  for (const HookRequest& other :
       {HookRequest{0, "", {}}, HookRequest{UINT64_MAX, "gave-up", {"A=1"}}}) {
    const std::optional<std::string> m = encode_hook_request(other);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(decode_hook_request(*m), other);
  }
}

TEST(HookRequest, AFieldWithANulByteIsNotSent)
{
  using namespace std::string_literals;
  EXPECT_FALSE(encode_hook_request({1, "fail\0ed"s, {}}).has_value());
  EXPECT_FALSE(
      encode_hook_request({1, "failed", {"PG_LOG=/tmp/x\0PG_MESSAGE=forged"s}}).has_value());
}

TEST(HookRequest, WhatItDidNotWriteIsRefused)
{
  using namespace std::string_literals;
  for (const std::string& bad :
       {""s, "42"s, "42\0"s, "42\0alert"s, "\0alert\0"s, "x1\0alert\0"s, "-1\0alert\0"s,
        "1 \0alert\0"s, "01\0alert\0"s, "18446744073709551616\0a\0"s, "1\0alert\0NOEQUALS\0"s,
        "1\0alert\0A=b\0tail"s, "{\"seq\":1,\"alert\":\"a\",\"env\":[]}"s}) {
    EXPECT_FALSE(decode_hook_request(bad).has_value()) << bad;
  }
}

TEST(AlertEnv, MergeReplacesAndAdds)
{
  auto env = merge_env({"PATH=/bin", "PG_NAME=x", "HOME=/h"}, {"PG_NAME=bot", "PG_EVENT=failed"});
  EXPECT_EQ(env,
            (std::vector<std::string>{"PATH=/bin", "PG_NAME=bot", "HOME=/h", "PG_EVENT=failed"}));
}

TEST(AlertEnv, LastTextLine)
{
  EXPECT_EQ(last_text_line("a\nb\n\n  \n"), "b");
  EXPECT_EQ(last_text_line("a\nno end"), "no end");
  EXPECT_EQ(last_text_line(""), "");
  EXPECT_EQ(last_text_line("\n\n"), "");
}

} // namespace
} // namespace pg
