// pg-ls --json writes its array straight (jobs_json_text); it must be byte for byte what
// job_json() values dumped by nlohmann give.
#include "ls_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace pg {
namespace {

using std::chrono::seconds;

WallTime at(const char* rfc3339)
{
  return parse_rfc3339(rfc3339).value_or(WallTime{});
}

std::string reference(const std::vector<ListedJob>& jobs)
{
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (const auto& j : jobs) {
    all.push_back(job_json(j));
  }
  return all.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

ListedJob with_state(RunState state, RunState shown, bool alive)
{
  JobState s;
  s.name = "job-" + to_string(shown);
  s.state = state;
  s.supervisor = {4241, 123456, "boot", 1, "/sbin/init", "/user.slice/session-2.scope"};
  s.pid = 4242;
  s.started_at = at("2026-11-21T20:00:00Z");
  s.run_started_at = at("2026-11-21T21:00:00.250Z");
  s.updated_at = at("2026-11-21T21:59:00Z");
  s.definition.argv = {"python3", "-u", "bot.py", "a \"quoted\" \\ arg"};
  s.definition.resolved = "/usr/bin/python3";
  s.definition.cwd = "/home/u/bot";
  s.definition.log = "/home/u/.local/state/pg/bot/output.log";
  ListedJob job;
  job.view.name = s.name;
  job.view.shown = shown;
  job.view.supervisor_alive = alive;
  job.view.state = std::move(s);
  return job;
}

TEST(LsJson, EmptyList)
{
  EXPECT_EQ(jobs_json_text({}), reference({}));
  EXPECT_EQ(jobs_json_text({}), "[]");
}

TEST(LsJson, SameTextAsJobJsonForEveryKindOfJob)
{
  std::vector<ListedJob> jobs;

  ListedJob running = with_state(RunState::Running, RunState::Running, true);
  running.uptime = seconds(3599);
  running.duration_done = 0.125;
  running.view.state->definition.duration = Millis(8 * 3600 * 1000 + 500);
  running.view.state->deadline_at = at("2026-11-22T04:00:00Z");
  running.view.state->status_text = "serving 12 req/s";
  running.view.state->memory_rss = 1 << 20;
  jobs.push_back(running);

  ListedJob backoff = with_state(RunState::Backoff, RunState::Backoff, true);
  backoff.view.state->next_start_at = at("2026-11-21T22:00:05Z");
  backoff.view.state->restarts = 7;
  backoff.view.state->definition.max_restarts = std::nullopt;
  backoff.view.state->definition.restart = RestartPolicy::Always;
  ExitRecord sig;
  sig.pid = 4240;
  sig.status = ExitStatus::killed(11, true);
  sig.runtime_s = 0.000123;
  sig.outcome = Outcome::Restarted;
  sig.cause = "signal: SIGSEGV";
  sig.at = at("2026-11-21T21:59:59.999Z");
  sig.max_rss_kb = 123456;
  sig.user_cpu_s = 1.5e-05;
  sig.sys_cpu_s = 2.0;
  backoff.view.state->last_exit = sig;
  jobs.push_back(backoff);

  ListedJob failed = with_state(RunState::Failed, RunState::Failed, false);
  ExitRecord code;
  code.status = ExitStatus::exited(3);
  code.runtime_s = 1800.5;
  code.outcome = Outcome::Failed;
  code.cause = "exit: code 3";
  code.at = at("2026-11-21T21:58:00Z");
  failed.view.state->last_exit = code;
  failed.view.state->end_cause = "exit: code 3";
  failed.view.state->log_dropped_bytes = 4096;
  failed.view.state->definition.oneshot = true;
  jobs.push_back(failed);

  ListedJob lost = with_state(RunState::Running, RunState::Lost, false);
  lost.view.lost_reason = "its supervisor (pid 4241) died without recording an end";
  jobs.push_back(lost);
  ListedJob left = lost;
  left.view.name = "left";
  left.view.leftovers = {{5001, 77}, {5002, 78}};
  jobs.push_back(left);

  // Text that needs escaping or replacing: control characters, UTF-8, invalid UTF-8.
  ListedJob odd = with_state(RunState::Stopped, RunState::Stopped, false);
  odd.view.state->definition.argv = {"echo",     "tab\there", "bell\a", "caf\xC3\xA9",
                                     "bad\xC3(", "del\x7f",   ""};
  odd.view.state->status_text = "line\nnext\r";
  odd.view.state->supervisor.parent_command = "\xFF\xFE";
  odd.duration_done = std::numeric_limits<double>::quiet_NaN();
  jobs.push_back(odd);

  ListedJob unreadable;
  unreadable.view.name = "broken";
  unreadable.view.error = "state.json is damaged: field 'state' is not a state";
  unreadable.view.shown = RunState::Lost;
  jobs.push_back(unreadable);

  ListedJob starting;
  starting.view.name = "new";
  starting.view.error = "no state.json (never started, or being created)";
  starting.view.shown = RunState::Starting;
  starting.view.supervisor_alive = true;
  jobs.push_back(starting);

  // A supervisor in another pid namespace: its pids are null here, pid_namespace names it.
  ListedJob elsewhere = with_state(RunState::Running, RunState::Running, true);
  elsewhere.view.name = "in-container";
  elsewhere.view.other_pid_namespace = true;
  elsewhere.view.state->supervisor.pid_namespace = 4026532999;
  jobs.push_back(elsewhere);

  EXPECT_EQ(jobs_json_text(jobs), reference(jobs));
  for (const auto& j : jobs) {
    EXPECT_EQ(jobs_json_text({j}), reference({j})) << j.view.name;
  }
}

TEST(LsJson, AJobInAnotherPidNamespaceKeepsItsStateAndHidesItsPids)
{
  ListedJob job = with_state(RunState::Running, RunState::Running, true);
  job.view.other_pid_namespace = true;
  job.view.state->supervisor.pid_namespace = 4026532999;
  const auto j = job_json(job);
  EXPECT_EQ(j["state"], "running");
  EXPECT_EQ(j["pid_namespace"], 4026532999u);
  EXPECT_TRUE(j["pid"].is_null());
  EXPECT_TRUE(j["supervisor_pid"].is_null());
  EXPECT_EQ(j["supervisor"]["pid"], 4241); // as recorded, in its own namespace

  ListedJob here = with_state(RunState::Running, RunState::Running, true);
  here.view.state->supervisor.pid_namespace = 4026531836;
  const auto h = job_json(here);
  EXPECT_TRUE(h["pid_namespace"].is_null());
  EXPECT_EQ(h["pid"], 4242);
  EXPECT_EQ(h["supervisor_pid"], 4241);
}

} // namespace
} // namespace pg
