#include "ctl_actions.h"

#include "control.h"

#include <gtest/gtest.h>

#include <csignal>

namespace pg {
namespace {

ExitRecord stopped_by_signal(int sig, double runtime)
{
  ExitRecord e;
  e.pid = 42;
  e.signal = sig;
  e.runtime_s = runtime;
  e.outcome = Outcome::Stopped;
  e.cause = "requested: stop by pg-ctl (pid 7); signal " + std::to_string(sig);
  return e;
}

JobState final_state(RunState s, std::optional<ExitRecord> last)
{
  JobState st;
  st.name = "bot";
  st.state = s;
  st.last_exit = std::move(last);
  return st;
}

TEST(CtlStopRequest, ZeroMeansTheJobsOwnTimeout)
{
  EXPECT_EQ(stop_request_arg(std::nullopt), 0U);
  EXPECT_EQ(stop_request_arg(Millis(0)), 1U);
  EXPECT_EQ(stop_request_arg(Millis(300)), 301U);
}

TEST(CtlStopRequest, TheLongestTimeoutSurvivesTheRequestEncoding)
{
  auto arg = stop_request_arg(k_max_stop_timeout);
  ASSERT_TRUE(arg);
  auto back = decode_request(encode_request(Request{Verb::Stop, *arg}));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->arg, *arg);
  EXPECT_FALSE(stop_request_arg(k_max_stop_timeout + Millis(1)));
}

TEST(CtlDescribeEnd, SaysTheSignalOrCodeAndTheRuntime)
{
  EXPECT_EQ(describe_end(stopped_by_signal(SIGTERM, 12.34)), "signal SIGTERM after 12.3s");
  ExitRecord e = stopped_by_signal(SIGTERM, 125);
  e.signal.reset();
  e.code = 0;
  EXPECT_EQ(describe_end(e), "exit code 0 after 2m05s");
}

TEST(CtlStoppedMessage, ARequestedStopShowsHowTheRunEnded)
{
  auto o = stopped_message(final_state(RunState::Stopped, stopped_by_signal(SIGTERM, 1.25)),
                           std::nullopt);
  EXPECT_TRUE(o.ok);
  EXPECT_EQ(o.message, "stopped (signal SIGTERM after 1.2s)");
}

TEST(CtlStoppedMessage, AKillAfterTheTimeoutSaysSo)
{
  auto st = final_state(RunState::Stopped, stopped_by_signal(SIGKILL, 13.1));
  auto o = stopped_message(st, Millis(300));
  EXPECT_TRUE(o.ok);
  EXPECT_EQ(o.message, "stopped (signal SIGKILL after 13.1s; it outlived the 300ms stop timeout)");
  EXPECT_EQ(stopped_message(st, std::nullopt).message, "stopped (signal SIGKILL after 13.1s)");
}

TEST(CtlStoppedMessage, AStopDuringBackoffNamesTheLastRun)
{
  ExitRecord failed;
  failed.code = 1;
  failed.outcome = Outcome::Failed;
  failed.cause = "exit: code 1";
  auto o = stopped_message(final_state(RunState::Stopped, failed), std::nullopt);
  EXPECT_TRUE(o.ok);
  EXPECT_EQ(o.message, "stopped during backoff (its last run: exit code 1 after 0.0s)");
}

TEST(CtlStoppedMessage, ASupervisorGoneWithoutAnEndIsAFailure)
{
  auto o = stopped_message(final_state(RunState::Running, std::nullopt), std::nullopt);
  EXPECT_FALSE(o.ok);
}

TEST(CtlJson, CarriesTheLastExitForStopOnly)
{
  CtlResult r;
  r.name = "bot";
  r.action = "stop";
  r.ok = true;
  r.message = "stopped (signal SIGTERM after 1.0s)";
  r.state = RunState::Stopped;
  r.last_exit = stopped_by_signal(SIGTERM, 1);
  auto j = to_json(r);
  EXPECT_EQ(j["name"], "bot");
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["state"], "stopped");
  EXPECT_TRUE(j["pid"].is_null());
  EXPECT_EQ(j["last_exit"]["signal"], "SIGTERM");
  EXPECT_EQ(j["last_exit"]["outcome"], "stopped");

  r.action = "signal";
  r.pid = 42;
  j = to_json(r);
  EXPECT_EQ(j["pid"], 42);
  EXPECT_FALSE(j.contains("last_exit"));
}

TEST(CtlExitStatus, UnreadableBeatsFailedBeatsDone)
{
  CtlResult done;
  done.ok = true;
  CtlResult failed;
  CtlResult unreadable;
  unreadable.unreadable = true;
  EXPECT_EQ(ctl_exit_status({done, done}), k_ctl_exit_ok);
  EXPECT_EQ(ctl_exit_status({done, failed}), k_ctl_exit_failed);
  EXPECT_EQ(ctl_exit_status({failed, unreadable, done}), k_ctl_exit_state_dir);
}

TEST(CtlNames, KeepsTheFirstOfEachName)
{
  EXPECT_EQ(unique_names({"b", "a", "b", "c", "a"}), (std::vector<std::string>{"b", "a", "c"}));
}

} // namespace
} // namespace pg
