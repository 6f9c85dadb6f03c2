// pg-run --json's objects for the outcomes that are not a receipt, and the pid namespace rule.
#include "launch_json.h"
#include "proc.h"
#include "state.h"

#include <gtest/gtest.h>

namespace pg {
namespace {

using nlohmann::json;

TEST(LaunchJson, AnErrorBeforeAnythingStartedNamesItsStatus)
{
  EXPECT_EQ(launch_error_json("bot", "--cwd /x: No such file or directory", 1),
            (json{{"schema_version", k_schema_version},
                  {"name", "bot"},
                  {"error", "--cwd /x: No such file or directory"},
                  {"status", 1}}));
  EXPECT_TRUE(launch_error_json("", "--name is required", 2)["name"].is_null());
}

TEST(LaunchJson, AnExecFailureIsAFailedStateWithItsRecordOrNull)
{
  json j = exec_failure_json("bot", "bot: x: command not found", 127, nullptr);
  EXPECT_EQ(j["state"], "failed");
  EXPECT_EQ(j["status"], 127);
  EXPECT_TRUE(j["last_exit"].is_null());
  json rec = {{"pid", 0}, {"code", 127}, {"outcome", "failed"}};
  EXPECT_EQ(exec_failure_json("bot", "e", 127, rec)["last_exit"], rec);
}

TEST(LaunchJson, AnEndDuringTheWaitSplitsTheReportIntoStateAndLastExit)
{
  const json report = {
      {"pid", 42},         {"code", 3},           {"signal", nullptr},       {"core_dumped", false},
      {"runtime_s", 0.25}, {"outcome", "failed"}, {"cause", "exit: code 3"}, {"event", "exit"},
      {"state", "failed"}};
  json j = ended_json("crash", report, "/s/crash/output.log", {"a", "Traceback: boom"}, 5.0, 1);
  EXPECT_EQ(j["name"], "crash");
  EXPECT_EQ(j["state"], "failed");
  EXPECT_EQ(j["status"], 1);
  EXPECT_EQ(j["wait_s"], 5.0);
  EXPECT_EQ(j["log"], "/s/crash/output.log");
  EXPECT_EQ(j["log_tail"], json::array({"a", "Traceback: boom"}));
  EXPECT_EQ(j["last_exit"]["code"], 3);
  EXPECT_FALSE(j["last_exit"].contains("state"));
  EXPECT_FALSE(j["last_exit"].contains("event"));
  // No state in the report (an older supervisor): failed.
  EXPECT_EQ(ended_json("c", json{{"code", 1}}, "l", {}, 1.0, 1)["state"], "failed");
  EXPECT_EQ(ended_json("c", json{{"code", 1}}, "l", {}, 1.0, 1)["log_tail"], json::array());
}

TEST(LaunchJson, PeekArgsFindsJsonAndNameBeforeTheCommand)
{
  ArgsPeek p = peek_args({"--json", "-n", "bot", "--log-keep", "x", "--", "cmd", "--json"});
  EXPECT_TRUE(p.json);
  EXPECT_EQ(p.name, "bot");
  EXPECT_EQ(peek_args({"--name=web", "--json"}).name, "web");
  EXPECT_EQ(peek_args({"-nweb"}).name, "web");
  EXPECT_EQ(peek_args({"--name", "web"}).name, "web");
  EXPECT_FALSE(peek_args({"-n", "bot", "--", "cmd", "--json"}).json);
  EXPECT_FALSE(peek_args({}).json);
  EXPECT_EQ(peek_args({"-n"}).name, "");
}

TEST(PidNamespace, OnlyTwoKnownAndDifferentNamespacesDiffer)
{
  EXPECT_TRUE(pid_namespace_differs(4026532999, 4026531836));
  EXPECT_FALSE(pid_namespace_differs(4026531836, 4026531836));
  EXPECT_FALSE(pid_namespace_differs(0, 4026531836)); // an old state file: as before
  EXPECT_FALSE(pid_namespace_differs(4026531836, 0)); // /proc unreadable here
  EXPECT_EQ(pid_namespace_name(4026531836), "pid:[4026531836]");
  EXPECT_NE(own_pid_namespace(), 0u);
}

} // namespace
} // namespace pg
