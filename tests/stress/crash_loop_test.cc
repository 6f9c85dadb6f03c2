// Issue 6.1, crash loop: a job that exits at once, restarted with no delay and no limit, 100 000
// times at full size (2 000 in CI). Every run's exit must be in events.jsonl or its rotations
// with the exact status the run ended with (each run's status is known: stress_job derives it
// from its run number), matched by run id and event order, never by pid (pids recycle within
// such a loop). The supervisor's descriptors and memory, sampled during the loop, stay flat.
#include "proc.h"
#include "signals.h"
#include "stress.h"
#include "stress_end.h"
#include "syscalls.h"

#include <poll.h>

#include <thread>
#include <unordered_map>

namespace pg::stress {
namespace {

using namespace std::chrono_literals;
using e2e::Args;

class CrashLoop : public Stress {};

TEST_F(CrashLoop, EveryExitIsRecordedWithItsStatusAndTheSupervisorStaysFlat)
{
  const long runs = scaled(2'000, 100'000);
  const std::string journal = path("journal");
  const std::string name = "crashloop";
  launch_stress(name,
                {"--restart", "always", "--restart-delay", "0", "--max-restarts", "unlimited"},
                {journal, "--mixed"});
  const Json st0 = state(name);
  const pid_t sup = st0["supervisor"]["pid"].get<pid_t>();
  UniqueFd sup_fd = pidfd_open(sup);
  ASSERT_TRUE(sup_fd) << "pidfd_open " << sup;
  auto info = e2e::proc_info(sup);
  ASSERT_TRUE(info && info->start_time == st0["supervisor"]["start_time"].get<uint64_t>());
  auto sup_alive = [&] {
    pollfd p{sup_fd.get(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  };

  // The baseline once the loop is warm (allocator pools, the event log open), then samples
  // every 20 ms until the job has run `runs` times.
  const long warm = std::min(200L, runs / 10);
  e2e::must(e2e::wait_until([&] { return journal_runs(journal) >= warm || !sup_alive(); },
                            "the crash loop warms up"));
  // A sample may catch the spawn's error pipe open: base and end are the least of a few.
  auto settled = [&] {
    Usage least = usage_of(sup);
    for (int i = 0; i < 10; ++i) {
      std::this_thread::sleep_for(2ms);
      const Usage u = usage_of(sup);
      least.fds = std::min(least.fds, u.fds);
      least.rss_kb = std::min(least.rss_kb, u.rss_kb);
      least.pss_kb = std::min(least.pss_kb, u.pss_kb);
    }
    return least;
  };
  const Usage base = settled();
  Usage peak = base;
  long samples = 0;
  const auto started = e2e::Clock::now();
  const auto deadline = started + std::chrono::seconds(scaled(120, 3600));
  while (journal_runs(journal) < runs) {
    ASSERT_TRUE(sup_alive()) << "the supervisor died during the loop";
    ASSERT_LT(e2e::Clock::now(), deadline)
        << "only " << journal_runs(journal) << " of " << runs << " runs before the deadline";
    const Usage u = usage_of(sup);
    peak.fds = std::max(peak.fds, u.fds);
    peak.rss_kb = std::max(peak.rss_kb, u.rss_kb);
    peak.pss_kb = std::max(peak.pss_kb, u.pss_kb);
    ++samples;
    std::this_thread::sleep_for(20ms);
  }
  const double secs = std::chrono::duration<double>(e2e::Clock::now() - started).count();
  const Usage last = settled();
  e2e::Result stop = pg_ctl({"stop", name});
  ASSERT_EQ(stop.status, 0) << stop.out << stop.err;
  const Json fin = wait_end(name, 60s);
  EXPECT_EQ(fin["state"], "stopped");

  // Each run's id from the job's own journal: run n (from 0) wrote line n.
  const std::vector<std::string> ids = read_journal(journal);
  std::unordered_map<std::string, long> number;
  for (size_t n = 0; n < ids.size(); ++n) {
    EXPECT_TRUE(number.emplace(ids[n], static_cast<long>(n)).second) << "run id twice: " << ids[n];
  }

  // The history, oldest first: launch, then start, exit, restart, start, ... exit, end.
  long starts = 0;
  long exits = 0;
  long exact = 0;
  long restarts = 0;
  long failures = 0;
  bool first = true;
  std::string run_id; // the run between its start and its exit
  long run_pid = 0;
  std::string last_kind;
  auto fail = [&](const std::string& what) {
    if (++failures <= 20) {
      ADD_FAILURE() << what;
    }
  };
  const long lines = for_each_event(job_dir(name), [&](const Json& ev) {
    const std::string kind = ev.value("event", "");
    if (first) {
      first = false;
      if (kind != "launch") {
        fail("the oldest event kept is " + ev.dump() + ", not the launch: history was dropped");
      }
    }
    if (kind == "start") {
      ++starts;
      if (!run_id.empty()) {
        fail("run " + run_id + " has no exit before the next start " + ev.dump());
      }
      if (ev.value("run", 0L) != starts) {
        fail("start of run " + std::to_string(ev.value("run", 0L)) + " where run " +
             std::to_string(starts) + " was due: " + ev.dump());
      }
      run_id = ev.value("run_id", "");
      run_pid = ev.value("pid", 0L);
      auto it = number.find(run_id);
      if (it != number.end() && it->second != starts - 1) {
        fail("run " + std::to_string(starts) + " wrote journal line " + std::to_string(it->second));
      }
    } else if (kind == "exit") {
      ++exits;
      if (run_id.empty()) {
        fail("an exit without a start: " + ev.dump());
        return;
      }
      if (ev.value("pid", 0L) != run_pid) {
        fail("exit of pid " + std::to_string(ev.value("pid", 0L)) + " for the run started as " +
             std::to_string(run_pid));
      }
      auto it = number.find(run_id);
      if (it == number.end()) {
        // Only the last run may have been stopped before it wrote its line.
        if (starts != static_cast<long>(ids.size()) + 1 || ev.value("outcome", "") != "stopped") {
          fail("run " + run_id + " is not in the journal: " + ev.dump());
        }
      } else {
        const End want = end_of_run(it->second, true);
        const bool is_signal = ev["signal"].is_string();
        const bool same =
            want.signal != 0
                ? is_signal && ev["signal"] == signal_name(want.signal) && ev["code"].is_null()
                : !is_signal && ev["code"].is_number_integer() &&
                      ev["code"].get<int>() == want.code;
        const bool last_stopped =
            starts == static_cast<long>(ids.size()) && ev.value("outcome", "") == "stopped";
        if (same && (last_stopped || ev.value("outcome", "") == "failed")) {
          ++exact;
        } else if (!last_stopped) {
          fail("run " + std::to_string(it->second) + " ended " +
               (want.signal != 0 ? "by " + signal_name(want.signal)
                                 : "with code " + std::to_string(want.code)) +
               " but its exit says " + ev.dump());
        }
      }
      run_id.clear();
    } else if (kind == "restart") {
      ++restarts;
      if (last_kind != "exit") {
        fail("a restart after " + last_kind);
      }
    }
    last_kind = kind;
  });
  const long happened = static_cast<long>(ids.size());
  EXPECT_EQ(failures, 0);
  EXPECT_GE(happened, runs);
  EXPECT_EQ(starts, exits);
  EXPECT_GE(exact, happened - 1) << "a run's exit is missing or wrong";
  EXPECT_GE(exits, happened);
  EXPECT_EQ(restarts, exits - 1);

  figure("runs (journal lines written by the job)", std::to_string(happened));
  figure("exits recorded / runs started", std::to_string(exits) + " / " + std::to_string(starts));
  figure("exits with the exact status", std::to_string(exact) + " / " + std::to_string(happened));
  figure("events lines / rotated files",
         std::to_string(lines) + " / " + std::to_string(rotations(job_dir(name))));
  figure("restarts per second", std::to_string(static_cast<long>(double(happened) / secs)));
  figure("fds base / peak / end", std::to_string(base.fds) + " / " + std::to_string(peak.fds) +
                                      " / " + std::to_string(last.fds) + " (" +
                                      std::to_string(samples) + " samples)");
  figure("VmRSS kB base / peak / end", std::to_string(base.rss_kb) + " / " +
                                           std::to_string(peak.rss_kb) + " / " +
                                           std::to_string(last.rss_kb));
  figure("Pss kB base / peak / end", std::to_string(base.pss_kb) + " / " +
                                         std::to_string(peak.pss_kb) + " / " +
                                         std::to_string(last.pss_kb));

  // Flat: the same descriptors at the end, at most the spawn's error pipe more in between.
  EXPECT_EQ(last.fds, base.fds);
  EXPECT_LE(peak.fds, base.fds + 2);
  // Memory: a small fixed slack, whatever the number of runs (100 000 runs once grew it by
  // 828 kB: the restart budget kept every restart's time). Under ASan the quarantine holds freed
  // memory by design, so only the plain build is held to it. PSS is reported, not held: it
  // moves with other processes mapping the same libraries.
  if (!sanitized()) {
    EXPECT_LE(peak.rss_kb - base.rss_kb, 256) << "the supervisor's RSS grew";
    EXPECT_LE(last.rss_kb - base.rss_kb, 256) << "the supervisor's RSS grew";
  }
}

} // namespace
} // namespace pg::stress
