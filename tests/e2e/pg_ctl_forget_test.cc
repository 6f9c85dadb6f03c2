// pg-ctl forget on real jobs: an ended job's directory goes and the name starts again with an
// empty history; a running job, a lost job whose processes live, an unknown name are refused;
// files pg did not write are never deleted.
#include "harness.h"

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>

namespace pg::e2e {
namespace {

class PgCtlForget : public E2e {
protected:
  bool exists(const std::string& rel) const
  {
    struct stat st {};
    return ::lstat((state_dir() + "/" + rel).c_str(), &st) == 0;
  }
};

TEST_F(PgCtlForget, RemovesAnEndedJobAndTheNameStartsAfresh)
{
  launch("task", {"--oneshot", "--log-max-size", "1K", "--log-keep", "2"},
         {"--print", std::string(3000, 'x'), "--exit", "3"});
  Json st = wait_end("task");
  ASSERT_EQ(st["state"], "failed");
  ASSERT_TRUE(exists("task/events.jsonl"));

  Result r = pg_ctl({"forget", "task"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "task: forgotten (it was failed)\n");
  EXPECT_FALSE(exists("task"));

  // Used again: no history of the earlier life.
  launch("task", {"--oneshot"}, {"--exit", "0"});
  wait_end("task");
  EXPECT_EQ(events("task", "exit").size(), 1u);
  EXPECT_EQ(events("task", "launch").size(), 1u);
}

TEST_F(PgCtlForget, RefusesARunningJobAndKeepsItsState)
{
  launch("svc", {}, {"--sleep", "1h"});
  wait_running("svc");
  Result r = pg_ctl({"forget", "svc"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("svc: is running"), std::string::npos) << r.err;
  EXPECT_TRUE(exists("svc/state.json"));
  EXPECT_TRUE(lock_held("svc"));
  EXPECT_EQ(state("svc")["state"], "running");
}

TEST_F(PgCtlForget, RefusesALostJobWhoseProcessesStillLive)
{
  const std::string pidfile = path("stubborn.pid");
  launch("stubborn", {}, {"--ignore-term", "--pidfile", pidfile, "--sleep", "1h"});
  const pid_t job = wait_pidfile(pidfile);
  wait_running("stubborn");
  // The supervisor dies outright; the job ignores the parent-death SIGTERM and lives on.
  ASSERT_EQ(::kill(supervisor_pid("stubborn"), SIGKILL), 0);
  must(wait_until([&] { return lost("stubborn"); }, "the job shows lost"));
  ASSERT_TRUE(alive(job));

  Result r = pg_ctl({"forget", "stubborn"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("is lost and processes of its last run still live (pid " +
                       std::to_string(job) + ")"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(exists("stubborn/state.json"));

  ASSERT_EQ(::kill(job, SIGKILL), 0);
  must(wait_until([&] { return !alive(job); }, "the leftover is gone"));
  r = pg_ctl({"forget", "stubborn"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "stubborn: forgotten (it was lost)\n");
  EXPECT_FALSE(exists("stubborn"));
}

TEST_F(PgCtlForget, KeepsFilesPgDidNotWrite)
{
  launch("mixed", {"--oneshot"}, {"--exit", "0"});
  wait_end("mixed");
  write_text(state_dir() + "/mixed/notes.txt", "mine\n", 0600);
  Result r = pg_ctl({"forget", "mixed"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("it also holds notes.txt"), std::string::npos) << r.out;
  EXPECT_TRUE(exists("mixed/notes.txt"));
  EXPECT_FALSE(exists("mixed/state.json"));
  EXPECT_FALSE(exists("mixed/events.jsonl"));
}

TEST_F(PgCtlForget, UnknownNamesFailEachOnItsOwnWithJson)
{
  launch("done", {"--oneshot"}, {"--exit", "0"});
  wait_end("done");
  Result r = pg_ctl({"forget", "nope", "done", "--json"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("nope: no such job"), std::string::npos) << r.err;
  Json out = Json::parse(r.out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["name"], "nope");
  EXPECT_EQ(out[0]["ok"], false);
  EXPECT_EQ(out[1]["name"], "done");
  EXPECT_EQ(out[1]["ok"], true);
  EXPECT_EQ(out[1]["action"], "forget");
  EXPECT_FALSE(exists("done"));

  r = pg_ctl({"forget", "bad/name"});
  EXPECT_EQ(r.status, 2);
}

} // namespace
} // namespace pg::e2e
