// A supervisor killed outright (SIGKILL): what its job left behind stays in view, and its
// lost run is recorded when the job is taken over (DESIGN, "The record over days":
// "Leftovers survive nothing unseen", "A lost run is recorded").
//
// The leftover of these tests is a daemon that left the job's first process (so the
// parent-death signal never reaches it) and rewrote its environment (so PG_RUN_ID no longer
// finds it): fake_job --daemon-clear-env, and the real thing, redis-server --daemonize yes.
#include "harness.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>

namespace pg::e2e {
namespace {

class LostLeftovers : public E2e {
protected:
  // pg-ls --json NAME: the one object.
  Json listed(const std::string& name)
  {
    Result r = pg_ls({"--json", name});
    Json all = Json::parse(r.out, nullptr, false);
    if (!all.is_array() || all.size() != 1) {
      ADD_FAILURE() << "pg-ls --json " << name << ": " << r.out << r.err;
      throw Abort("pg-ls --json");
    }
    return all[0];
  }

  // A job whose first process backgrounds a daemon that clears PG_* from its environment and
  // exits 0 (a hand-over); once the supervisor names the daemon as the job's main process, the
  // supervisor is killed outright. Returns the daemon's pid, alive and unwatched.
  pid_t lost_with_daemon(const std::string& name)
  {
    const std::string pidfile = path(name + ".daemon.pid");
    launch(name, {}, {"--fork-daemon", pidfile, "--daemon-clear-env", "--daemon-sleep", "1h"});
    const pid_t daemon = wait_pidfile(pidfile);
    must(wait_until(
        [&] {
          auto st = try_state(name);
          return st && (*st)["pid"] == daemon;
        },
        "the daemon is the job's main process"));
    EXPECT_FALSE(contains(read_text("/proc/" + std::to_string(daemon) + "/environ"), "PG_RUN_ID="));
    must(::kill(supervisor_pid(name), SIGKILL) == 0);
    must(wait_until([&] { return lost(name); }, name + " shows lost"));
    must(alive(daemon)); // no parent-death signal reaches it: it left the first process
    return daemon;
  }
};

TEST_F(LostLeftovers, ADaemonWithoutItsRunIdIsSeenAndNeverDuplicated)
{
  const pid_t daemon = lost_with_daemon("d");

  const Json j = listed("d");
  EXPECT_EQ(j["state"], "lost");
  EXPECT_EQ(j["leftovers"], 1) << j.dump();
  Result table = pg_ls({});
  EXPECT_TRUE(contains(table.out, "lost (1 process left)")) << table.out;
  EXPECT_TRUE(contains(table.out, "pid " + std::to_string(daemon) + " still lives")) << table.out;

  // Neither a revive nor a launch of the same name starts a second copy.
  Result r = pg_ctl({"revive", "d"});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "processes of its old run live; --replace ends them")) << r.err;
  r = run(job("d", {}, {"--sleep", "1h"}));
  EXPECT_EQ(r.status, 3) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "pid " + std::to_string(daemon))) << r.err;
  r = pg_ctl({"forget", "d"});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_TRUE(alive(daemon));
  EXPECT_TRUE(lost("d"));
  EXPECT_EQ(events("d", "launch").size(), 1u);
  EXPECT_EQ(events("d", "start").size(), 1u);

  // --replace ends it, and one copy starts.
  r = pg_ctl({"revive", "--replace", "d"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  must(wait_until([&] { return !alive(daemon); }, "the old daemon is gone"));
  pid_t fresh = 0;
  must(wait_until(
      [&] {
        fresh = std::atoi(read_text(path("d.daemon.pid")).c_str());
        return fresh > 0 && fresh != daemon;
      },
      "the revived job's daemon writes its pid"));
  remember(fresh);
  must(wait_until(
      [&] {
        auto st = try_state("d");
        return st && (*st)["pid"] == fresh && lock_held("d");
      },
      "the new daemon is the revived job's main process"));
  EXPECT_EQ(events("d", "start").size(), 2u);
}

TEST_F(LostLeftovers, PgRunReplaceEndsTheLeftovers)
{
  const pid_t daemon = lost_with_daemon("d");
  Result r = run(job("d", {"--replace"}, {"--sleep", "1h"}));
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_FALSE(alive(daemon));
  wait_running("d");
}

TEST_F(LostLeftovers, StopEndsTheLeftoversAndTheJobStaysStopped)
{
  const pid_t daemon = lost_with_daemon("d");
  Result r = pg_ctl({"stop", "d"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "it was lost, and its leftovers (pid " + std::to_string(daemon)))
      << r.out;
  EXPECT_FALSE(alive(daemon));
  const Json st = state("d");
  EXPECT_EQ(st["state"], "stopped");
  EXPECT_TRUE(starts_with(st["end_cause"].get<std::string>(), "requested: ")) << st.dump();
  EXPECT_TRUE(starts_with(st["last_exit"]["cause"].get<std::string>(), "lost: ")) << st.dump();
  // Stopped by pg-ctl: revive leaves it alone, forget takes it.
  r = pg_ctl({"revive"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "nothing to revive")) << r.out;
  EXPECT_EQ(pg_ctl({"forget", "d"}).status, 0);
}

// A process that left the job's tree (double fork, setsid) and cleared its environment
// (env -i): neither the recorded main pid, nor a descendant of it, nor PG_RUN_ID links it to the
// job once the supervisor is killed; only the job's recorded cgroup does (issue 19, item 3).
TEST_F(LostLeftovers, AnEscapedProcessIsFoundThroughTheJobsCgroup)
{
  const std::string pidfile = path("escaped.pid");
  Result r = run(pg_run(
      {"-n", "e", "--", "/bin/sh", "-c",
       "(setsid env -i /bin/sleep 3600 & echo $! > " + pidfile + ") ; exec /bin/sleep 3600"}));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const pid_t escaped = wait_pidfile(pidfile);
  remember_exact(escaped); // env -i: the test's marker is gone with the rest
  const Json st = wait_running("e");
  if (st["job_cgroup"].empty()) {
    GTEST_SKIP() << "no cgroup could be made for the job here (not root, no writable hierarchy)";
  }
  ASSERT_NE(st["pid"], escaped);
  must(
      wait_until([&] { return read_text("/proc/" + std::to_string(escaped) + "/environ").empty(); },
                 "the escaped process has exec'd with an empty environment"));
  ASSERT_EQ(::kill(supervisor_pid("e"), SIGKILL), 0);
  must(wait_until([&] { return lost("e"); }, "e shows lost"));
  ASSERT_TRUE(alive(escaped));

  const Json j = listed("e");
  EXPECT_GE(j["leftovers"].get<int>(), 1) << j.dump();
  r = pg_ctl({"stop", "e"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, std::to_string(escaped))) << r.out;
  EXPECT_TRUE(wait_until([&] { return !alive(escaped); }, "the escaped process ended"));
  EXPECT_EQ(pg_ctl({"forget", "e"}).status, 0);
  EXPECT_EQ(job_cgroup_dirs(), std::vector<std::string>{}) << "no cgroup is left behind";
}

TEST_F(LostLeftovers, RedisDaemonizedOutlivesItsSupervisorInView)
{
  const std::string redis = "/usr/bin/redis-server";
  if (::access(redis.c_str(), X_OK) != 0) {
    GTEST_SKIP() << redis << " is not installed (scripts/deps.sh installs it)";
  }
  // A free port: the kernel's choice for a socket bound to port 0.
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(s);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  const std::string pidfile = path("redis.pid");
  const Args cmd{
      "--",     redis,   "--port",       port,        "--bind", "127.0.0.1", "--daemonize",
      "yes",    "--dir", tmp(),          "--pidfile", pidfile,  "--logfile", path("redis.log"),
      "--save", "",      "--appendonly", "no"};
  Result r = run(pg_run(Args{"-n", "r"} + cmd));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  must(wait_until([&] { return std::filesystem::exists(pidfile); }, "redis writes its pidfile"));
  const pid_t daemon = std::stoi(wait_file(pidfile));
  remember_exact(daemon); // its process title overwrites its environment, marker included
  must(wait_until(
      [&] {
        auto st = try_state("r");
        return st && (*st)["pid"] == daemon;
      },
      "the daemonized redis is the job's main process"));
  ASSERT_EQ(::kill(supervisor_pid("r"), SIGKILL), 0);
  must(wait_until([&] { return lost("r"); }, "r shows lost"));
  ASSERT_TRUE(alive(daemon));

  const Json j = listed("r");
  EXPECT_EQ(j["state"], "lost");
  EXPECT_GE(j["leftovers"].get<int>(), 1) << j.dump();
  r = pg_ctl({"revive", "r"});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_TRUE(alive(daemon));
  EXPECT_EQ(events("r", "start").size(), 1u);

  r = pg_ctl({"revive", "--replace", "r"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  must(wait_until([&] { return !alive(daemon); }, "the old redis is gone"));
  pid_t fresh = 0;
  must(wait_until(
      [&] {
        auto st = try_state("r");
        if (!st || !(*st)["pid"].is_number_integer() || (*st)["pid"] == daemon) {
          return false;
        }
        fresh = (*st)["pid"].get<pid_t>();
        return cmdline(fresh).size() > 0 && contains(cmdline(fresh)[0], "redis-server");
      },
      "one new redis runs as the job"));
  remember_exact(fresh);
  EXPECT_EQ(pg_ctl({"stop", "r"}).status, 0);
  EXPECT_FALSE(alive(fresh));
}

class LostRun : public E2e {};

TEST_F(LostRun, IsRecordedWhenTheJobIsRevivedAndRunsGoOn)
{
  launch("bot", {}, {"--sleep", "1h"});
  const Json before = wait_running("bot");
  const pid_t old = before["pid"].get<pid_t>();
  const pid_t sup = before["supervisor"]["pid"].get<pid_t>();
  make_lost("bot");

  Result r = pg_ctl({"revive", "bot"});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const Json after = wait_running("bot", old);

  // The lost run's exit comes first, then the new run, numbered after it.
  const std::vector<Json> all = events("bot");
  std::vector<size_t> starts;
  std::optional<size_t> lost_at;
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i]["event"] == "start") {
      starts.push_back(i);
    }
    if (all[i]["event"] == "exit" && all[i]["cause"].is_string() &&
        starts_with(all[i]["cause"].get<std::string>(), "lost:")) {
      lost_at = i;
    }
  }
  ASSERT_EQ(starts.size(), 2u);
  ASSERT_TRUE(lost_at.has_value());
  EXPECT_LT(starts[0], *lost_at);
  EXPECT_LT(*lost_at, starts[1]);
  const Json& lost = all[*lost_at];
  EXPECT_EQ(lost["pid"], old);
  EXPECT_TRUE(lost["code"].is_null());
  EXPECT_TRUE(lost["signal"].is_null());
  EXPECT_EQ(lost["outcome"], "failed");
  EXPECT_TRUE(starts_with(lost["cause"].get<std::string>(),
                          "lost: supervisor pid " + std::to_string(sup) +
                              " died without recording an end; last seen "))
      << lost.dump();
  EXPECT_GE(lost["runtime_s"].get<double>(), 0.0);
  EXPECT_LE(lost["runtime_s"].get<double>(), seconds_between(all[starts[0]], all[starts[1]]));
  EXPECT_EQ(all[starts[0]]["run"], 1);
  EXPECT_EQ(all[starts[1]]["run"], 2);

  // state.json: the revived run counts as a restart, and last_exit is the lost record.
  EXPECT_EQ(after["restarts"], 1);
  EXPECT_EQ(after["last_exit"]["cause"], lost["cause"]);
  // The log tells it too.
  const std::string log = read_text(state_dir() + "/bot/output.log");
  EXPECT_TRUE(contains(log, "] exit: pid " + std::to_string(old) + ", no exit status known"))
      << log;
  EXPECT_TRUE(contains(log, "(lost: supervisor pid " + std::to_string(sup))) << log;

  // Lost and revived again: the numbering still goes on.
  make_lost("bot");
  ASSERT_EQ(pg_ctl({"revive", "bot"}).status, 0);
  wait_running("bot", after["pid"].get<pid_t>());
  const std::vector<Json> again = events("bot", "start");
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[2]["run"], 3);
  EXPECT_EQ(events("bot", "exit").size(), 2u);
  EXPECT_EQ(state("bot")["restarts"], 2);
}

} // namespace
} // namespace pg::e2e
