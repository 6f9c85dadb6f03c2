// Issue 6.6, reaping under storm: each run of the job has a child fork 1 000 grandchildren and
// exit, so they are orphaned to the supervisor (the subreaper), then releases them all at the
// same moment and exits with its own code. Every orphan is reaped (no zombie whose parent is the
// supervisor, no live process carrying the run's PG_RUN_ID), and each run's exit is recorded
// with the main process's exact code, for the right run. 3 storms in CI, 20 at full size.
#include "proc.h"
#include "stress.h"
#include "stress_end.h"
#include "syscalls.h"

#include <sstream>

namespace pg::stress {
namespace {

using namespace std::chrono_literals;
using e2e::Args;

class ReapStorm : public Stress {};

TEST_F(ReapStorm, EveryOrphanIsReapedAndTheJobsOwnExitIsRecordedExactly)
{
  const long storms = scaled(3, 20);
  const long orphans = 1'000;
  const std::string name = "storm";
  const std::string journal = path("journal");
  const std::string pids = path("orphans");
  // Runs 0 .. storms-1 storm and exit; the next one stays up, so the supervisor (whose zombies
  // are counted) lives on.
  launch_stress(
      name, {"--restart", "always", "--restart-delay", "0", "--max-restarts", "unlimited"},
      {journal, "--storm", std::to_string(orphans), pids, "--live-from", std::to_string(storms)});
  const pid_t sup = supervisor_pid(name);
  const auto t0 = e2e::Clock::now();
  wait_events(name, "exit", static_cast<size_t>(storms), 120s);
  e2e::must(e2e::wait_until([&] { return journal_runs(journal) > storms; },
                            "the run after the storms starts", 30s));
  const double secs = std::chrono::duration<double>(e2e::Clock::now() - t0).count();
  const std::vector<std::string> ids = read_journal(journal);
  ASSERT_GT(static_cast<long>(ids.size()), storms);

  // Zombies of the supervisor: none, once the runs are over (polled briefly: the last orphans'
  // SIGCHLD may still be on its way when the run after the storms starts... it is not: the run
  // ends only once every process of its tree is reaped; the poll only rules out a slow scan).
  std::vector<pid_t> zombies = zombies_of(sup);
  EXPECT_TRUE(zombies.empty()) << zombies.size() << " zombies whose parent is the supervisor";
  long orphans_seen = 0;
  long left_alive = 0;
  for (long n = 0; n < storms; ++n) {
    std::istringstream in(e2e::read_text(pids + "." + std::to_string(n)));
    for (std::string line; std::getline(in, line);) {
      ++orphans_seen;
    }
    // Identity, not pids: the orphans carry their run's PG_RUN_ID.
    left_alive += static_cast<long>(with_env("PG_RUN_ID", ids[static_cast<size_t>(n)]).size());
  }
  EXPECT_EQ(orphans_seen, storms * orphans);
  EXPECT_EQ(left_alive, 0) << "orphans of the storm runs still live";

  // Each storm run's exit: the main process's own code, for that run (start and exit paired in
  // order, by run id and pid).
  long exact = 0;
  std::string run_id;
  long run_pid = 0;
  long run_no = 0;
  for (const Json& ev : all_events(job_dir(name))) {
    const std::string kind = ev.value("event", "");
    if (kind == "start") {
      run_id = ev.value("run_id", "");
      run_pid = ev.value("pid", 0L);
      run_no = ev.value("run", 0L);
    } else if (kind == "exit") {
      ASSERT_GE(run_no, 1);
      ASSERT_LE(run_no, storms);
      EXPECT_EQ(run_id, ids[static_cast<size_t>(run_no - 1)]);
      const End want = end_of_run(run_no - 1, false);
      EXPECT_EQ(ev["code"], want.code) << ev.dump();
      EXPECT_TRUE(ev["signal"].is_null()) << ev.dump();
      EXPECT_EQ(ev.value("pid", 0L), run_pid) << ev.dump();
      EXPECT_EQ(ev["outcome"], "failed") << ev.dump();
      if (ev["code"] == want.code && ev.value("pid", 0L) == run_pid) {
        ++exact;
      }
    }
  }
  EXPECT_EQ(exact, storms);
  // state.json follows within 50 ms (changes close together are written together): the run
  // after the storms may be in the journal before it is in state.json.
  EXPECT_TRUE(e2e::wait_until(
      [&] {
        const auto st = try_state(name);
        return st && (*st)["state"] == "running" && (*st)["run_id"] == ids.back();
      },
      "state.json shows the run after the storms running"))
      << state(name).dump();

  figure("storms x orphans", std::to_string(storms) + " x " + std::to_string(orphans));
  figure("orphans still alive / zombies of the supervisor",
         std::to_string(left_alive) + " / " + std::to_string(zombies.size()));
  figure("storm runs whose exit was recorded exactly",
         std::to_string(exact) + " / " + std::to_string(storms));
  figure("seconds for all storms", std::to_string(secs));
  EXPECT_EQ(pg_ctl({"stop", name}).status, 0);
  wait_end(name);
}

} // namespace
} // namespace pg::stress
