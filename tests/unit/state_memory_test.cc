// state.json's memory_rss: the job tree's RSS at the last --max-memory sample.
#include "state.h"

#include <gtest/gtest.h>

namespace pg {
namespace {

JobState minimal_state()
{
  JobState s;
  s.name = "bot";
  s.state = RunState::Running;
  s.supervisor.pid = 42;
  s.supervisor.boot_id = "boot";
  s.definition.argv = {"/bin/true"};
  s.definition.resolved = "/bin/true";
  s.definition.cwd = "/";
  s.definition.log = "/tmp/log";
  return s;
}

TEST(MemoryRssJson, NullUntilSampled)
{
  JobState s = minimal_state();
  const nlohmann::json j = to_json(s);
  ASSERT_TRUE(j.contains("memory_rss_bytes"));
  EXPECT_TRUE(j.at("memory_rss_bytes").is_null());
  EXPECT_EQ(job_state_from_json(nlohmann::json::parse(dump_line(j))), s);
}

TEST(MemoryRssJson, RoundTripsASample)
{
  JobState s = minimal_state();
  s.memory_rss = 327'155'712;
  const nlohmann::json j = to_json(s);
  EXPECT_EQ(j.at("memory_rss_bytes"), 327'155'712u);
  EXPECT_EQ(job_state_from_json(nlohmann::json::parse(dump_line(j))), s);
}

TEST(MemoryRssJson, OlderStateWithoutTheFieldReads)
{
  nlohmann::json j = to_json(minimal_state());
  j.erase("memory_rss_bytes");
  EXPECT_FALSE(job_state_from_json(j).memory_rss);
}

TEST(MemoryRssJson, RefusesAWrongType)
{
  nlohmann::json j = to_json(minimal_state());
  j["memory_rss_bytes"] = "lots";
  EXPECT_THROW(job_state_from_json(j), std::runtime_error);
}

} // namespace
} // namespace pg
