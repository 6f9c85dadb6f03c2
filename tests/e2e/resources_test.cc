// Resource use in exit records, --max-memory and --restart-every, on real processes.
#include "harness.h"

#include <filesystem>

namespace pg::e2e {
namespace {

namespace fs = std::filesystem;

class Usage : public E2e {};
class MaxMemory : public E2e {};
class RestartEvery : public E2e {};

constexpr uint64_t k_mib = 1024 * 1024;

TEST_F(Usage, ExitRecordCarriesCpuAndPeakRss)
{
  launch("burn", {"--restart", "never"}, {"--burn", "300ms", "--exit", "1"});
  Json st = wait_end("burn");
  const Json& e = st["last_exit"];
  EXPECT_EQ(e["code"], 1);
  ASSERT_TRUE(e["user_cpu_s"].is_number()) << e.dump();
  ASSERT_TRUE(e["sys_cpu_s"].is_number()) << e.dump();
  ASSERT_TRUE(e["max_rss_kb"].is_number()) << e.dump();
  EXPECT_GE(e["user_cpu_s"].get<double>(), 0.2) << e.dump();
  EXPECT_GT(e["max_rss_kb"].get<uint64_t>(), 0u) << e.dump();
  auto exits = events("burn", "exit");
  ASSERT_EQ(exits.size(), 1u);
  EXPECT_GE(exits[0].value("user_cpu_s", 0.0), 0.2) << exits[0].dump();
  EXPECT_EQ(exits[0]["max_rss_kb"], e["max_rss_kb"]);
  // The log's exit line tells it too.
  const std::string log = read_text(state_dir() + "/burn/output.log");
  EXPECT_TRUE(contains(log, "max RSS ")) << log;
  EXPECT_TRUE(contains(log, "s user + ")) << log;
}

TEST_F(Usage, CountsWhatTheMainProcessLeftToUs)
{
  // The main process exits 0 at once; its background child does the work and is reaped by
  // the supervisor (their subreaper): its CPU counts in the run's record.
  const std::string script = k_fake + " --burn 300ms --exit 3 & exit 0";
  Result r = run(pg_run({"-n", "bg", "--restart", "never", "/bin/sh", "-c", script}));
  ASSERT_EQ(r.status, 0) << r.err;
  Json st = wait_end("bg");
  const Json& e = st["last_exit"];
  EXPECT_EQ(e["code"], 3) << e.dump();
  EXPECT_GE(e.value("user_cpu_s", 0.0), 0.2) << e.dump();
}

TEST_F(Usage, ARunThatNeverStartedHasNone)
{
  // Executable but not a program: execve fails in the supervisor's child.
  write_text(path("garbage"), "this is not a program\n", 0755);
  Result r = run(pg_run({"-n", "garbage", path("garbage")}));
  EXPECT_EQ(r.status, 126) << r.err;
  Json st = wait_end("garbage");
  const Json& e = st["last_exit"];
  EXPECT_TRUE(e["max_rss_kb"].is_null()) << e.dump();
  EXPECT_TRUE(e["user_cpu_s"].is_null()) << e.dump();
  EXPECT_TRUE(e["sys_cpu_s"].is_null()) << e.dump();
}

TEST_F(MaxMemory, ALeakIsStoppedAsAFailureAndRestarted)
{
  launch("leak", {"--max-memory", "64M", "--restart-delay", "100ms", "--stop-timeout", "2s"},
         {"--alloc-mb", "150", "--sleep", "1h"});
  auto restarts = wait_events("leak", "restart", 1);
  ASSERT_GE(restarts.size(), 1u);
  EXPECT_EQ(restarts[0]["reason"], "failure");
  auto mem = events("leak", "memory");
  ASSERT_GE(mem.size(), 1u);
  EXPECT_GT(mem[0].value("rss_bytes", uint64_t{0}), 150 * k_mib * 9 / 10) << mem[0].dump();
  EXPECT_EQ(mem[0]["limit_bytes"], 64 * k_mib);
  auto stops = events("leak", "stop");
  ASSERT_GE(stops.size(), 1u);
  EXPECT_EQ(stops[0]["kind"], "memory");
  auto exits = events("leak", "exit");
  ASSERT_GE(exits.size(), 1u);
  EXPECT_EQ(exits[0]["outcome"], "failed");
  const std::string cause = exits[0].value("cause", "");
  EXPECT_TRUE(starts_with(cause, "memory: tree RSS ")) << cause;
  EXPECT_TRUE(contains(cause, "above --max-memory 64 MiB")) << cause;
  EXPECT_EQ(exits[0]["signal"], "SIGTERM") << exits[0].dump();
  EXPECT_GE(exits[0].value("max_rss_kb", uint64_t{0}), 150u * 1024 * 9 / 10) << exits[0].dump();
  // Per policy (on-failure): a new run starts.
  wait_events("leak", "start", 2);
}

TEST_F(MaxMemory, CountsTheWholeTree)
{
  // The main process is a small shell; two children hold 40 MiB each: only their sum is above
  // the limit.
  const std::string child = k_fake + " --alloc-mb 40 --sleep 1h";
  const std::string script = child + " & " + child + " & wait";
  Result r = run(
      pg_run({"-n", "tree", "--max-memory", "64M", "--restart", "never", "/bin/sh", "-c", script}));
  ASSERT_EQ(r.status, 0) << r.err;
  auto mem = wait_events("tree", "memory", 1);
  ASSERT_GE(mem.size(), 1u);
  EXPECT_GE(mem[0].value("processes", 0), 3) << mem[0].dump();
  EXPECT_GE(mem[0].value("rss_bytes", uint64_t{0}), 80 * k_mib) << mem[0].dump();
  Json st = wait_end("tree");
  EXPECT_EQ(st["state"], "failed");
  EXPECT_TRUE(starts_with(st["last_exit"].value("cause", ""), "memory:")) << st["last_exit"].dump();
}

TEST_F(MaxMemory, UnderTheLimitTheSampleIsPublished)
{
  launch("fine", {"--max-memory", "1G"}, {"--alloc-mb", "8", "--sleep", "1h"});
  wait_running("fine");
  Json st;
  wait_until(
      [&] {
        auto s = try_state("fine");
        if (s && (*s)["memory_rss_bytes"].is_number()) {
          st = *s;
          return true;
        }
        return false;
      },
      "memory_rss in state.json");
  EXPECT_GE(st["memory_rss_bytes"].get<uint64_t>(), 8 * k_mib) << st.dump();
  EXPECT_EQ(st["state"], "running");
  EXPECT_TRUE(events("fine", "memory").empty());
}

TEST_F(RestartEvery, PlannedRestartsAreNotFailures)
{
  // --max-restarts 0: a planned restart must not spend the budget (or the job would give up).
  launch("cycle", {"--restart-every", "1s", "--max-restarts", "0", "--restart-delay", "5s"},
         {"--sleep", "1h"});
  auto restarts = wait_events("cycle", "restart", 2);
  ASSERT_GE(restarts.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(restarts[i]["reason"], "planned") << restarts[i].dump();
    EXPECT_EQ(restarts[i].value("delay_s", -1.0), 0.0) << restarts[i].dump();
  }
  auto exits = events("cycle", "exit");
  auto starts = wait_events("cycle", "start", 3);
  ASSERT_GE(exits.size(), 2u);
  ASSERT_GE(starts.size(), 3u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(exits[i]["outcome"], "restarted") << exits[i].dump();
    EXPECT_TRUE(starts_with(exits[i].value("cause", ""), "planned: --restart-every 1s"))
        << exits[i].dump();
    // A run's age reaches the period, and the next run follows without backoff.
    EXPECT_GE(seconds_between(starts[i], exits[i]), 0.9);
    EXPECT_LT(seconds_between(exits[i], starts[i + 1]), 1.0);
  }
  auto stops = events("cycle", "stop");
  ASSERT_GE(stops.size(), 1u);
  EXPECT_EQ(stops[0]["kind"], "planned");
  EXPECT_EQ(stops[0]["by"], "--restart-every 1s");
  EXPECT_TRUE(events("cycle", "gave-up").empty());
  wait_until([&] { return state("cycle").value("restarts", 0) >= 2; }, "restarts counted");
  EXPECT_TRUE(lock_held("cycle"));
}

} // namespace
} // namespace pg::e2e
