// The output relay (rotation, timestamps, marked lines) and --wait, end to end.
#include "harness.h"

#include <filesystem>

namespace pg::e2e {
namespace {

namespace fs = std::filesystem;

class Relay : public E2e {};
class Wait : public E2e {};

size_t count_lines_with(const std::string& text, const std::string& part)
{
  size_t n = 0;
  size_t pos = 0;
  while ((pos = text.find(part, pos)) != std::string::npos) {
    ++n;
    pos += part.size();
  }
  return n;
}

TEST_F(Relay, RotationKeepsEveryLineWholeAndTheLogBounded)
{
  // 20 000 numbered lines through a 64K log keeping 2 old files: what is kept is whole lines,
  // contiguous and in order, ending with the last one.
  const std::string script =
      "i=0; while [ $i -lt 20000 ]; do echo \"line $i of the chatty job\"; i=$((i+1)); done";
  Result r = run(pg_run({"-n", "chat", "--oneshot", "--log-max-size", "64K", "--log-keep", "2",
                         "--", "sh", "-c", script}));
  ASSERT_EQ(r.status, 0) << r.err;
  wait_end("chat");
  const std::string base = state_dir() + "/chat/output.log";
  ASSERT_TRUE(fs::exists(base + ".1"));
  ASSERT_TRUE(fs::exists(base + ".2"));
  EXPECT_FALSE(fs::exists(base + ".3"));
  std::string all;
  for (const auto& f : {base + ".2", base + ".1", base}) {
    EXPECT_LE(fs::file_size(f), 64u * 1024 + 200) << f;
    all += read_text(f);
  }
  int expected = -1;
  size_t pos = 0;
  while (pos < all.size()) {
    size_t end = all.find('\n', pos);
    ASSERT_NE(end, std::string::npos) << "a torn last line";
    std::string line = all.substr(pos, end - pos);
    pos = end + 1;
    if (starts_with(line, "[pg-run ")) {
      continue;
    }
    int n = -1;
    ASSERT_EQ(std::sscanf(line.c_str(), "line %d of the chatty job", &n), 1) << line;
    if (expected >= 0) {
      ASSERT_EQ(n, expected) << "a line was lost or torn at a rotation";
    }
    expected = n + 1;
  }
  EXPECT_EQ(expected, 20000);
}

TEST_F(Relay, TimestampsAndMarkedLinesTellTheStory)
{
  launch("story", {"--log-timestamps", "--restart", "never"}, {"--print", "hello", "--exit", "3"});
  wait_end("story");
  const std::string text = read_text(state_dir() + "/story/output.log");
  EXPECT_EQ(count_lines_with(text, "Z hello\n"), 1u) << text;
  EXPECT_EQ(count_lines_with(text, "] start: run 1, pid "), 1u) << text;
  EXPECT_EQ(count_lines_with(text, ", exit code 3 after "), 1u) << text;
  EXPECT_EQ(count_lines_with(text, "] end: the job is failed: exit: code 3"), 1u) << text;
}

TEST_F(Relay, DevNullIsNeverRotated)
{
  Result r = run(pg_run({"-n", "quiet", "--oneshot", "--log", "/dev/null", "--log-max-size", "1K",
                         "--", "sh", "-c", "seq 1 2000"}));
  ASSERT_EQ(r.status, 0) << r.err;
  wait_end("quiet");
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
  EXPECT_FALSE(fs::exists("/dev/null.1"));
}

TEST_F(Wait, AJobThatDiesDuringTheWaitIsReportedAndNotRestarted)
{
  Result r = run(job("crash", {"--wait", "5s", "--restart-delay", "100ms"},
                     {"--stderr", "Traceback: boom", "--sleep", "200ms", "--exit", "3"}));
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "crash: ended during the 5s wait: exit code 3")) << r.err;
  EXPECT_TRUE(contains(r.err, "Traceback: boom")) << r.err;
  Json st = wait_end("crash");
  EXPECT_EQ(st["state"], "failed");
  EXPECT_EQ(events("crash", "start").size(), 1u);
  EXPECT_TRUE(events("crash", "restart").empty());
  // The name is free again at once.
  launch("crash", {}, {"--sleep", "1h"});
}

TEST_F(Wait, AJobThatStaysUpIsReportedRunningAfterTheWait)
{
  const auto t0 = Clock::now();
  Result r = launch("steady", {"--wait", "400ms"}, {"--sleep", "1h"});
  EXPECT_GE(Clock::now() - t0, 400ms);
  EXPECT_TRUE(contains(r.out, "steady: running, pid ")) << r.out;
  EXPECT_EQ(state("steady")["state"], "running");
}

TEST_F(Wait, AOneshotThatCompletesWithinTheWaitSucceeds)
{
  Result r = run(job("task", {"--oneshot", "--wait", "5s"}, {"--print", "built"}));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "task: ended during the 5s wait: exit code 0")) << r.out;
  EXPECT_TRUE(contains(r.out, "built")) << r.out;
  EXPECT_EQ(wait_end("task")["state"], "completed");
}

// When pg-run returns from a --wait that saw the run end, the record says that end already:
// the supervisor answers its launcher after the end is applied (it answered before, and the
// final state was written a moment later, so a look right after read "running"). Each state
// write is slowed (a fault injected with LD_PRELOAD) so that an answer sent before the final
// write returns well before it: without the slowing, the window was too short to be seen.
TEST_F(Wait, TheRecordIsFinalWhenAWaitThatSawTheEndReturns)
{
  StartOptions slow;
  slow.preload = SLOW_STATE_WRITE_SO;
  slow.env = {{"PG_TEST_SLOW_STATE_MS", "400"}};
  const auto t0 = Clock::now();
  Result r =
      run(job("task", {"--oneshot", "--wait", "5s"}, {"--sleep", "100ms", "--exit", "0"}), slow);
  ASSERT_EQ(r.status, 0) << r.err;
  // Two slowed writes at least (the run's start, its end) before the answer: else the fault
  // was not injected, and this test could not tell the orders apart.
  ASSERT_GE(Clock::now() - t0, 800ms) << "state writes were not slowed: " << r.err;
  EXPECT_EQ(state("task")["state"], "completed") << "read at once, with no wait";
  EXPECT_EQ(events("task", "end").size(), 1u);
  r = run(job("crash", {"--restart", "never", "--wait", "5s"}, {"--sleep", "100ms", "--exit", "3"}),
          slow);
  ASSERT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(state("crash")["state"], "failed") << "read at once, with no wait";
  wait_end("task");
  wait_end("crash");
}

} // namespace
} // namespace pg::e2e
