#include "ls_views.h"

#include <gtest/gtest.h>

namespace pg {
namespace {

ListedJob job(std::string name, RunState state, std::optional<long> uptime_s,
              std::optional<uint64_t> memory, unsigned restarts)
{
  ListedJob j;
  j.view.name = std::move(name);
  j.view.shown = state;
  j.view.state = JobState{};
  j.view.state->restarts = restarts;
  if (uptime_s) {
    j.uptime = std::chrono::seconds(*uptime_s);
  }
  j.memory_bytes = memory;
  return j;
}

std::string names(const std::vector<ListedJob>& jobs)
{
  std::string out;
  for (const auto& j : jobs) {
    out += (out.empty() ? "" : " ") + j.view.name;
  }
  return out;
}

TEST(LsViews, StateFilterTakesACommaSeparatedListOfStateNames)
{
  StateFilter f = parse_state_filter("running,failed,running");
  EXPECT_EQ(f.error, "");
  EXPECT_EQ(f.states, (std::vector<RunState>{RunState::Running, RunState::Failed}));
  EXPECT_EQ(parse_state_filter("lost").states, std::vector<RunState>{RunState::Lost});
}

TEST(LsViews, StateFilterRefusesAnUnknownStateInOneLine)
{
  StateFilter f = parse_state_filter("running,sleeping");
  EXPECT_TRUE(f.states.empty());
  EXPECT_EQ(f.error.rfind("--state: 'sleeping' is not a state (", 0), 0u) << f.error;
  EXPECT_EQ(f.error.find('\n'), std::string::npos);
  EXPECT_NE(parse_state_filter("").error, "");
  EXPECT_NE(parse_state_filter("running,").error, "");
  EXPECT_NE(parse_state_filter("bad\x1b[2J").error.find("\\x1b"), std::string::npos);
}

TEST(LsViews, StateMatchesKeepsEveryJobWithoutAFilter)
{
  const ListedJob a = job("a", RunState::Failed, std::nullopt, std::nullopt, 0);
  EXPECT_TRUE(state_matches(a, {}));
  EXPECT_TRUE(state_matches(a, {RunState::Running, RunState::Failed}));
  EXPECT_FALSE(state_matches(a, {RunState::Running}));
}

TEST(LsViews, SortKeysAreTheDocumentedWords)
{
  EXPECT_EQ(sort_key_from("name"), SortKey::Name);
  EXPECT_EQ(sort_key_from("state"), SortKey::State);
  EXPECT_EQ(sort_key_from("uptime"), SortKey::Uptime);
  EXPECT_EQ(sort_key_from("restarts"), SortKey::Restarts);
  EXPECT_EQ(sort_key_from("memory"), SortKey::Memory);
  EXPECT_EQ(sort_key_from("cpu"), std::nullopt);
  EXPECT_EQ(sort_key_from("Name"), std::nullopt);
}

TEST(LsViews, SortPutsTheLargestFirstAndTheUnmeasuredLastTiesByName)
{
  const std::vector<ListedJob> given{
      job("a", RunState::Stopped, std::nullopt, std::nullopt, 3),
      job("b", RunState::Running, 50, 2048, 0),
      job("c", RunState::Running, 900, 1024, 7),
      job("d", RunState::Failed, std::nullopt, std::nullopt, 7),
  };
  auto sorted = [&](SortKey key) {
    std::vector<ListedJob> jobs = given;
    sort_jobs(jobs, key);
    return names(jobs);
  };
  EXPECT_EQ(sorted(SortKey::Name), "a b c d");
  EXPECT_EQ(sorted(SortKey::State), "d b c a"); // failed, running, stopped
  EXPECT_EQ(sorted(SortKey::Uptime), "c b a d");
  EXPECT_EQ(sorted(SortKey::Restarts), "c d a b");
  EXPECT_EQ(sorted(SortKey::Memory), "b c a d");
}

TEST(LsViews, CpuPercentIsCpuTimeOverElapsedLikePs)
{
  EXPECT_DOUBLE_EQ(cpu_percent(30, 60), 50.0);
  EXPECT_DOUBLE_EQ(cpu_percent(120, 60), 200.0); // two CPUs busy
  EXPECT_DOUBLE_EQ(cpu_percent(5, 0), 0.0);      // a run younger than a second
}

} // namespace
} // namespace pg
