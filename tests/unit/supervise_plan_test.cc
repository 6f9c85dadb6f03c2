// The plan pg-run hands pg-supervise: whatever the launch, the supervisor reads back exactly
// what the launcher wrote, and a damaged plan is refused, never half read.
#include "supervise_plan.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace pg {
namespace {

using namespace std::chrono_literals;

// Every field away from its default, with the text a job may carry: newlines, '=', UTF-8.
SupervisePlan full_plan()
{
  SupervisePlan p;
  p.opt.name = "bot";
  p.opt.state_dir = "/var/lib/pg state";
  p.opt.foreground = true;
  p.opt.quiet = true;
  p.opt.json = true;
  p.opt.replace = true;
  p.opt.wait = 2500ms;
  p.opt.file_env = {{"TOKEN", "a=b\nc"}, {"EMPTY", ""}};
  p.opt.launch_env = std::vector<std::string>{"PATH=/usr/bin", "LANG=C.UTF-8", "X="};
  p.opt.keep_started_at = WallTime(std::chrono::nanoseconds(1'765'000'000'123'456'789));
  p.opt.keep_deadline_at = WallTime(std::chrono::nanoseconds(1'765'999'000'000'000'000));
  p.opt.keep_restarts = 7;
  p.opt.keep_ack = true;
  JobDefinition& d = p.opt.def;
  d.argv = {"python3", "-c", "print('hé=\\n')\n", ""};
  d.resolved = "/usr/bin/python3";
  d.cwd = "/srv/bot";
  d.umask = 077;
  d.path = "/usr/local/bin:/usr/bin";
  d.env = {{"MODE", "live"}, {"EQ", "x=y"}};
  d.env_file = "/etc/bot.env";
  d.oneshot = true;
  d.duration = 3600s;
  d.restart = RestartPolicy::Always;
  d.max_restarts = std::nullopt;
  d.restart_window = 60s;
  d.restart_delay = 250ms;
  d.restart_delay_max = 30s;
  d.stop_signal = 2;
  d.stop_timeout = 45s;
  d.log = "/var/log/bot.log";
  d.log_max_size = 0;
  d.log_keep = 9;
  d.log_timestamps = true;
  d.notify = true;
  d.watchdog = 20s;
  d.stall = 5min;
  d.max_memory = 512ull << 20;
  d.restart_every = 24h;
  d.on_failure = "notify-send \"$PG_JOB\" failed";
  d.alert_cooldown = 1min;
  d.alert_timeout = 5s;
  d.jobs_file = "/home/u/jobs.toml";
  d.limits = {Limit{"core", 0, 0}, Limit{"nofile", 1024, std::nullopt}};
  d.memory_cap = 1ull << 30;
  d.tasks_cap = 64;
  d.cpu_quota_pct = 150;
  p.prior.run_base = 41;
  p.prior.failures = 12;
  p.prior.failures_since_ack = 3;
  p.prior.last_ack_at = WallTime(std::chrono::nanoseconds(1'764'000'000'000'000'001));
  ExitRecord lost;
  lost.pid = 4242;
  lost.status = ExitStatus::killed(9, true);
  lost.runtime_s = 0.1 + 0.2; // not exactly representable in decimal: the text must round trip
  lost.outcome = Outcome::Failed;
  lost.cause = "lost: the supervisor died";
  lost.at = WallTime(std::chrono::nanoseconds(1'764'500'000'000'000'000));
  lost.max_rss_kb = 123456;
  lost.user_cpu_s = 1.5;
  lost.sys_cpu_s = 1e-06;
  p.prior.lost = lost;
  p.prior.lost_heard = false;
  p.job_fd = 5;
  p.job_path = "/var/lib/pg state/bot";
  p.job_mount_id = 77;
  p.lock_fd = 6;
  p.log_fd = 7;
  p.report_fd = 8;
  p.replaced = true;
  return p;
}

TEST(SupervisePlan, EveryFieldRoundTrips)
{
  const SupervisePlan p = full_plan();
  EXPECT_EQ(read_plan(write_plan(p)), p);
}

TEST(SupervisePlan, ALostRunsExitCodeOrUnknownStatusRoundTrips)
{
  SupervisePlan p = full_plan();
  p.prior.lost->status = ExitStatus::exited(3);
  EXPECT_EQ(read_plan(write_plan(p)), p);
  p.prior.lost->status.reset();
  EXPECT_EQ(read_plan(write_plan(p)), p);
}

TEST(SupervisePlan, DefaultsRoundTrip)
{
  SupervisePlan p;
  p.opt.name = "x";
  p.opt.def.argv = {"true"};
  const SupervisePlan back = read_plan(write_plan(p));
  EXPECT_EQ(back, p);
  EXPECT_FALSE(back.opt.launch_env.has_value()); // pg-run's own environment: none recorded
  EXPECT_FALSE(back.prior.lost.has_value());
  EXPECT_EQ(back.opt.def.max_restarts, std::optional<unsigned>(5));
}

TEST(SupervisePlan, AnEmptyLaunchEnvironmentIsNotNone)
{
  SupervisePlan p;
  p.opt.launch_env = std::vector<std::string>{};
  const SupervisePlan back = read_plan(write_plan(p));
  ASSERT_TRUE(back.opt.launch_env.has_value());
  EXPECT_TRUE(back.opt.launch_env->empty());
}

TEST(SupervisePlan, ListsKeepTheirOrder)
{
  SupervisePlan p;
  p.opt.def.argv = {"c", "b", "a", "b"};
  EXPECT_EQ(read_plan(write_plan(p)).opt.def.argv, p.opt.def.argv);
}

// A value with a NUL byte would end its record early and start another ("\0replaced=1"): it is
// refused, never written.
TEST(SupervisePlan, AValueWithANulByteIsNotWritten)
{
  using namespace std::string_literals;
  SupervisePlan p = full_plan();
  p.opt.def.log = "/tmp/x\0replaced=1"s;
  EXPECT_THROW(write_plan(p), PlanError);
  p = full_plan();
  p.opt.def.argv.push_back("a\0b"s);
  EXPECT_THROW(write_plan(p), PlanError);
}

// What pg-run execs pg-supervise with: the plan in a memfd, read from its start, closed at any
// other exec; a plan that cannot be written leaves no descriptor and says why.
TEST(SupervisePlan, TheLauncherWritesItIntoAMemfd)
{
  using namespace std::string_literals;
  UniqueFd fd;
  ASSERT_EQ(write_plan_fd(full_plan(), fd), std::nullopt);
  ASSERT_TRUE(fd);
  EXPECT_EQ(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  std::string text(write_plan(full_plan()).size() + 1, 'x');
  EXPECT_EQ(::read(fd.get(), text.data(), text.size()), static_cast<ssize_t>(text.size() - 1));
  text.pop_back();
  EXPECT_EQ(read_plan(text), full_plan());
  SupervisePlan p = full_plan();
  p.opt.def.log = "/tmp/x\0y"s;
  UniqueFd none;
  EXPECT_EQ(write_plan_fd(p, none), "the supervise plan: its log holds a NUL byte");
  EXPECT_FALSE(none);
}

TEST(SupervisePlan, DamageIsRefused)
{
  const std::string good = write_plan(full_plan());
  EXPECT_THROW(read_plan(good.substr(0, good.size() - 1)), PlanError); // cut short
  EXPECT_THROW(read_plan(std::string("bogus=1\0", 8)), PlanError);
  EXPECT_THROW(read_plan(std::string("name\0", 5)), PlanError); // no '='
  EXPECT_THROW(read_plan(std::string("umask=x\0", 8)), PlanError);
  EXPECT_THROW(read_plan(std::string("umask=-1\0", 9)), PlanError);
  EXPECT_THROW(read_plan(std::string("umask=\0", 7)), PlanError);
  EXPECT_THROW(read_plan(std::string("oneshot=2\0", 10)), PlanError);
  EXPECT_THROW(read_plan(std::string("restart_policy=sometimes\0", 25)), PlanError);
  EXPECT_THROW(read_plan(std::string("limit=rss=1\0", 12)), PlanError);
  EXPECT_THROW(read_plan(std::string("env=NOEQUALS\0", 13)), PlanError);
  EXPECT_THROW(read_plan(std::string("lost.outcome=maybe\0", 19)), PlanError);
  EXPECT_THROW(read_plan(std::string("lost.runtime_s=nan\0", 19)), PlanError);
  EXPECT_THROW(read_plan(std::string("lost.runtime_s=1x\0", 18)), PlanError);
  try {
    read_plan(std::string("wait=soon\0", 10));
    FAIL();
  } catch (const PlanError& e) {
    EXPECT_STREQ(e.what(), "supervise plan: bad value for wait");
  }
}

TEST(SupervisePlan, EmptyIsTheDefaultPlan)
{
  EXPECT_EQ(read_plan(""), SupervisePlan{});
}

} // namespace
} // namespace pg
