// pg-run --json: one JSON object on stdout in every outcome of a launch (the receipt, a job
// that ended during --wait, a command that cannot run, a busy name, environment and usage
// errors), with the one-line error still on stderr.
#include "harness.h"

#include <algorithm>

#include <unistd.h>

namespace pg::e2e {
namespace {

class LaunchJson : public E2e {};

// stdout as exactly one JSON object on one line; a failure names what was printed.
Json one_object(const Result& r)
{
  const std::string& out = r.out;
  EXPECT_TRUE(!out.empty() && out.back() == '\n' && out.find('\n') == out.size() - 1)
      << "not one line: " << out << "; stderr: " << r.err;
  Json j = Json::parse(out, nullptr, false);
  EXPECT_TRUE(j.is_object()) << "not a JSON object: " << out << "; stderr: " << r.err;
  must(j.is_object());
  return j;
}

TEST_F(LaunchJson, TheReceiptIsAnObject)
{
  Result r = launch("rcpt", {"--json"}, {"--sleep", "1h"});
  Json j = one_object(r);
  EXPECT_EQ(j["name"], "rcpt");
  EXPECT_EQ(j["state"], "running");
  EXPECT_TRUE(j["pid"].is_number_integer());
  EXPECT_TRUE(j["supervisor_pid"].is_number_integer());
}

TEST_F(LaunchJson, AJobThatEndsDuringTheWaitIsAnObjectWithItsEnd)
{
  Result r = run(job("crash", {"--json", "--wait", "5s"},
                     {"--stderr", "Traceback: boom", "--sleep", "200ms", "--exit", "3"}));
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  Json j = one_object(r);
  EXPECT_EQ(j["name"], "crash");
  EXPECT_EQ(j["state"], "failed");
  EXPECT_EQ(j["status"], 1);
  EXPECT_EQ(j["last_exit"]["code"], 3);
  EXPECT_TRUE(j["last_exit"]["signal"].is_null());
  EXPECT_EQ(j["last_exit"]["outcome"], "failed");
  EXPECT_TRUE(j["last_exit"]["pid"].is_number_integer());
  EXPECT_EQ(j["log"], state_dir() + "/crash/output.log");
  ASSERT_TRUE(j["log_tail"].is_array()) << j.dump();
  bool seen = false;
  for (const auto& l : j["log_tail"]) {
    seen = seen || contains(l.get<std::string>(), "Traceback: boom");
  }
  EXPECT_TRUE(seen) << j.dump();
  // The one line for people still goes to stderr.
  EXPECT_TRUE(contains(r.err, "crash: ended during the 5s wait: exit code 3")) << r.err;
  EXPECT_EQ(wait_end("crash")["state"], "failed");
}

TEST_F(LaunchJson, AOneshotCompletedWithinTheWaitIsAnObjectAndSucceeds)
{
  Result r = run(job("task", {"--json", "--oneshot", "--wait", "5s"}, {"--print", "built"}));
  EXPECT_EQ(r.status, 0) << r.err;
  Json j = one_object(r);
  EXPECT_EQ(j["name"], "task");
  EXPECT_EQ(j["state"], "completed");
  EXPECT_EQ(j["status"], 0);
  EXPECT_EQ(j["last_exit"]["code"], 0);
  EXPECT_EQ(j["last_exit"]["outcome"], "completed");
  // The log's last lines, as the text report prints them (pg-run's marked lines included).
  ASSERT_TRUE(j["log_tail"].is_array()) << j.dump();
  EXPECT_NE(std::find(j["log_tail"].begin(), j["log_tail"].end(), Json("built")),
            j["log_tail"].end())
      << j.dump();
  EXPECT_EQ(wait_end("task")["state"], "completed");
}

TEST_F(LaunchJson, ACommandNotFoundIs127AndAnObject)
{
  Result r = run(pg_run({"--json", "-n", "nocmd", path("no-such-command")}));
  EXPECT_EQ(r.status, 127) << r.err;
  Json j = one_object(r);
  EXPECT_EQ(j["name"], "nocmd");
  EXPECT_EQ(j["state"], "failed");
  EXPECT_EQ(j["status"], 127);
  EXPECT_TRUE(contains(j.value("error", ""), "command not found")) << j.dump();
  EXPECT_TRUE(j.contains("last_exit")) << j.dump();
  EXPECT_TRUE(contains(r.err, "pg-run: error: nocmd: ")) << r.err;
}

TEST_F(LaunchJson, ACommandNotExecutableIs126AndAnObject)
{
  write_text(path("script"), "#!/bin/sh\necho hi\n", 0644);
  // Root may execute anything with an x bit; without one, exec is refused even for root.
  Result r = run(pg_run({"--json", "-n", "noexec", path("script")}));
  EXPECT_EQ(r.status, 126) << r.err;
  Json j = one_object(r);
  EXPECT_EQ(j["name"], "noexec");
  EXPECT_EQ(j["state"], "failed");
  EXPECT_EQ(j["status"], 126);
  EXPECT_TRUE(j["error"].is_string());
}

TEST_F(LaunchJson, ARunningJobOfThatNameIs3AndAnObject)
{
  launch("busy", {}, {"--sleep", "1h"});
  Json st = wait_running("busy");
  Result r = run(job("busy", {"--json"}, {"--sleep", "1h"}));
  EXPECT_EQ(r.status, 3) << r.err;
  Json j = one_object(r);
  EXPECT_EQ(j["name"], "busy");
  EXPECT_EQ(j["status"], 3);
  EXPECT_EQ(j["state"], "running");
  EXPECT_EQ(j["supervisor_pid"], st["supervisor"]["pid"]);
  EXPECT_TRUE(contains(j.value("error", ""), "already running")) << j.dump();
  EXPECT_TRUE(contains(r.err, "pg-run: error: busy is already running")) << r.err;
}

TEST_F(LaunchJson, AnEnvironmentErrorIs1AndAnObject)
{
  Result r = run(job("badcwd", {"--json", "--cwd", path("no-such-dir")}, {"--sleep", "1h"}));
  EXPECT_EQ(r.status, 1) << r.err;
  Json j = one_object(r);
  EXPECT_EQ(j["name"], "badcwd");
  EXPECT_EQ(j["status"], 1);
  EXPECT_TRUE(contains(j.value("error", ""), "--cwd")) << j.dump();
  EXPECT_FALSE(j.contains("state")) << "nothing started: " << j.dump();
  EXPECT_TRUE(contains(r.err, "pg-run: error: --cwd")) << r.err;
}

TEST_F(LaunchJson, UsageErrorsAre2AndAnObject)
{
  Result bad_duration = run(job("dur", {"--json", "--duration", "soon"}, {"--sleep", "1h"}));
  EXPECT_EQ(bad_duration.status, 2) << bad_duration.err;
  Json j = one_object(bad_duration);
  EXPECT_EQ(j["name"], "dur");
  EXPECT_EQ(j["status"], 2);
  EXPECT_TRUE(contains(j.value("error", ""), "--duration")) << j.dump();

  // Refused by the option parser itself: a value that is not a number.
  Result bad_number = run(job("keep", {"--json", "--log-keep", "many"}, {"--sleep", "1h"}));
  EXPECT_EQ(bad_number.status, 2) << bad_number.err;
  Json k = one_object(bad_number);
  EXPECT_EQ(k["name"], "keep");
  EXPECT_EQ(k["status"], 2);
  EXPECT_TRUE(k["error"].is_string());

  // No --name at all: the name is null.
  Result no_name = run(pg_run({"--json", "--", k_fake, "--sleep", "1h"}));
  EXPECT_EQ(no_name.status, 2) << no_name.err;
  Json n = one_object(no_name);
  EXPECT_TRUE(n["name"].is_null()) << n.dump();
  EXPECT_EQ(n["status"], 2);
}

TEST_F(LaunchJson, WithoutJsonErrorsPrintNothingOnStdout)
{
  Result r = run(job("plain", {"--cwd", path("no-such-dir")}, {"--sleep", "1h"}));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  Result u = run(job("plain", {"--duration", "soon"}, {"--sleep", "1h"}));
  EXPECT_EQ(u.status, 2);
  EXPECT_EQ(u.out, "");
}

} // namespace
} // namespace pg::e2e
