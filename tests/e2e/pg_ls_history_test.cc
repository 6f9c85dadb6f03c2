// pg-ls --events and --prometheus over real jobs' state directories.
#include "harness.h"

namespace pg::e2e {
namespace {

class PgLsHistory : public E2e {
protected:
};

TEST_F(PgLsHistory, EventsMergeEveryJobsHistoryNewestLast)
{
  launch("first", {"--oneshot"}, {"--exit", "3"});
  wait_end("first");
  launch("second", {"--restart-delay", "0", "--max-restarts", "1"}, {"--exit", "1"});
  wait_end("second");

  Result r = pg_ls({"--events", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  Json all = Json::parse(r.out);
  // first: launch start exit end; second: launch start exit restart start exit gave-up end.
  ASSERT_EQ(all.size(), 12u) << r.out;
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_LE(all[i - 1]["at"].get<std::string>(), all[i]["at"].get<std::string>());
  }
  EXPECT_EQ(all.front()["name"], "first");
  EXPECT_EQ(all.front()["event"], "launch");
  EXPECT_EQ(all.back()["name"], "second");
  EXPECT_EQ(all.back()["event"], "end");

  r = pg_ls({"--events", "first"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(starts_with(r.out, "TIME ")) << r.out;
  EXPECT_TRUE(contains(r.out, "exit code 3")) << r.out;
  EXPECT_FALSE(contains(r.out, "second")) << r.out;

  // Nothing in the last millisecond... or at most the end of a job still being written.
  r = pg_ls({"--events", "--since", "1ms", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(Json::parse(r.out).empty()) << r.out;

  EXPECT_EQ(pg_ls({"--since", "1h"}).status, 2);
  EXPECT_EQ(pg_ls({"--events", "--since", "soon"}).status, 2);
  EXPECT_EQ(pg_ls({"--events", "--check"}).status, 2);
  r = pg_ls({"--events", "nosuch"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "no job named 'nosuch'")) << r.err;
}

TEST_F(PgLsHistory, PrometheusDescribesRunningAndFailedJobs)
{
  launch("svc", {}, {"--sleep", "1h"});
  wait_running("svc");
  launch("bad", {"--oneshot"}, {"--exit", "4"});
  wait_end("bad");
  Result r = pg_ls({"--prometheus"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string dir = ",state_dir=\"" + state_dir() + "\"";
  EXPECT_TRUE(contains(r.out, "pg_job_state{name=\"svc\"" + dir + ",state=\"running\"} 1\n"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "pg_job_up{name=\"svc\"" + dir + "} 1\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "pg_job_state{name=\"bad\"" + dir + ",state=\"failed\"} 1\n"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "pg_job_last_exit_code{name=\"bad\"" + dir + "} 4\n")) << r.out;
  EXPECT_EQ(pg_ls({"--prometheus", "--json"}).status, 2);
}

} // namespace
} // namespace pg::e2e
