// Issue 6.2, killed at any moment: SIGKILL to the supervisor of a crash-looping job at random
// moments, 1 000 times at full size (25 in CI): during state writes, restarts and (the event log
// topped up to just below its rotation size now and then) rotations. After each kill state.json
// parses, pg-ls says lost (never running), and pg-ctl revive brings the job back with exactly
// one live process tree: no process of the job outside the new supervisor's tree. Half the
// job's runs ignore SIGTERM for a while, so the parent-death signal does not end them at once
// and revive meets the old run's processes.
#include "proc.h"
#include "state_dir.h"
#include "stress.h"
#include "syscalls.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

namespace pg::stress {
namespace {

using namespace std::chrono_literals;
using e2e::Args;

class KillAnyMoment : public Stress {
protected:
  // The live supervisor of name other than `not_pid`, by a pidfd taken once state.json names it
  // and its start time matches (a state write may lag the launch: it is waited for).
  std::pair<pid_t, UniqueFd> supervisor_of(const std::string& name, pid_t not_pid)
  {
    std::pair<pid_t, UniqueFd> out{0, UniqueFd()};
    e2e::must(e2e::wait_until(
        [&] {
          auto st = try_state(name);
          if (!st || !lock_held(name)) {
            return false;
          }
          const Json& s = (*st)["supervisor"];
          const pid_t pid = s.value("pid", 0);
          auto info = e2e::proc_info(pid);
          if (pid == not_pid || !info || info->start_time != s.value("start_time", 0ULL)) {
            return false;
          }
          out = {pid, pidfd_open(pid)};
          // The pidfd names the process the record names only if it was taken while that
          // process still had the recorded start time.
          auto again = e2e::proc_info(pid);
          return out.second && again && again->start_time == s.value("start_time", 0ULL);
        },
        name + " has a new supervisor in state.json"));
    return out;
  }

  // Lines to bring events.jsonl to within `room` bytes of its rotation size.
  void top_up_events(const std::string& name, size_t room)
  {
    const std::string file = job_dir(name) + "/events.jsonl";
    struct stat st {};
    const size_t size = ::stat(file.c_str(), &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
    const size_t target = EventLog::k_default_max - room;
    if (size >= target) {
      return;
    }
    std::string text;
    size_t left = target - size;
    while (left > 0) {
      // {"event":"filler","at":"...","pad":"xx"}\n is 64 bytes plus the pad.
      const size_t pad = std::min<size_t>(left > 64 + 4000 ? 4000 : left - 64, 4000);
      if (left < 65) {
        break;
      }
      std::string line = R"({"event":"filler","at":"2026-01-01T00:00:00.000Z","pad":")" +
                         std::string(pad, 'x') + "\"}\n";
      if (line.size() > left) {
        break;
      }
      left -= line.size();
      text += line;
    }
    int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(write_all(fd, text));
    ::close(fd);
  }

  // The last 64 KiB of events.jsonl: whole lines that parse.
  void check_events_tail(const std::string& name, long kill_no)
  {
    std::string text;
    read_file(job_dir(name) + "/events.jsonl", text);
    if (text.empty()) {
      return; // just rotated, nothing written since
    }
    ASSERT_EQ(text.back(), '\n') << "kill " << kill_no << ": events.jsonl ends in a torn line";
    size_t pos = text.size() > 65536 ? text.find('\n', text.size() - 65536) + 1 : 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      ASSERT_FALSE(Json::parse(text.begin() + static_cast<long>(pos),
                               text.begin() + static_cast<long>(end), nullptr, false)
                       .is_discarded())
          << "kill " << kill_no << ": events.jsonl line does not parse: "
          << text.substr(pos, std::min<size_t>(end - pos, 300));
      pos = end + 1;
    }
  }

  // Who has the job's lock file open (for a failure's message).
  std::string lock_holders(const std::string& name)
  {
    std::string out;
    const std::string lock = job_dir(name) + "/lock";
    for (pid_t p : all_pids()) {
      std::error_code ec;
      for (const auto& fd :
           std::filesystem::directory_iterator("/proc/" + std::to_string(p) + "/fd", ec)) {
        if (e2e::proc_link(p, "fd/" + fd.path().filename().string()) == lock) {
          auto info = e2e::proc_info(p);
          out += " pid " + std::to_string(p) + " (" + process_command(p) + ", state " +
                 (info ? std::string(1, info->state) : "?") + ", ppid " +
                 (info ? std::to_string(info->ppid) : "?") + ")";
        }
      }
    }
    return out.empty() ? " none" : out;
  }

  // The job's live processes (the test's marker and PG_NAME=name in their environment).
  std::vector<pid_t> job_processes(const std::string& name)
  {
    std::vector<pid_t> out;
    for (pid_t p : with_env("PG_NAME", name)) {
      if (env_of(p, "PG_E2E_MARK") == tmp()) {
        out.push_back(p);
      }
    }
    return out;
  }
};

TEST_F(KillAnyMoment, StateParsesTheJobShowsLostAndReviveStartsNoSecondCopy)
{
  const long kills = scaled(25, 1'000);
  const std::string name = "killed";
  const std::string journal = path("journal");
  unsigned seed = static_cast<unsigned>(::getpid());
  if (const char* s = std::getenv("PG_STRESS_SEED")) {
    seed = static_cast<unsigned>(std::strtoul(s, nullptr, 10));
  }
  figure("seed (PG_STRESS_SEED)", std::to_string(seed));
  std::mt19937 rng(seed);

  launch_stress(name,
                {"--restart", "always", "--restart-delay", "0", "--max-restarts", "unlimited"},
                {journal, "--mixed", "--hold", "60"});
  auto [sup, sup_fd] = supervisor_of(name, 0);
  long lost_seen = 0;
  long starting_seen = 0;
  long refused_while_old_lived = 0;
  long topped_up = 0;
  long rotated = 0; // kills after which events.jsonl was another file than before the revive
  ino_t events_ino = 0;
  auto events_inode = [&] {
    struct stat st {};
    return ::stat((job_dir(name) + "/events.jsonl").c_str(), &st) == 0 ? st.st_ino : 0;
  };
  long max_leftover_ms = 0;
  for (long k = 1; k <= kills; ++k) {
    // A random moment: mostly within the first milliseconds (a revive's launch, the first
    // runs), sometimes later into the loop.
    const long delay_us =
        rng() % 4 == 0 ? static_cast<long>(rng() % 40'000) : static_cast<long>(rng() % 3'000);
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
    ASSERT_EQ(pidfd_send_signal(sup_fd.get(), SIGKILL, nullptr), 0) << "kill " << k;
    pollfd pfd{sup_fd.get(), POLLIN, 0};
    ASSERT_EQ(::poll(&pfd, 1, 10'000), 1) << "kill " << k << ": the supervisor did not die";
    if (k > 1 && events_inode() != events_ino) {
      ++rotated;
    }

    // state.json parses at once, every time.
    std::string text;
    ASSERT_TRUE(read_file(job_dir(name) + "/state.json", text)) << "kill " << k;
    const Json st = Json::parse(text, nullptr, false);
    ASSERT_FALSE(st.is_discarded()) << "kill " << k << ": state.json does not parse: " << text;
    check_events_tail(name, k);
    // pg-ls: lost, never running. A child the supervisor forked just before it died holds a
    // copy of the lock's descriptor until it execs or dies: for that moment pg-ls says
    // starting (the lock is held, but not by the supervisor state.json names), then lost.
    Json shown = ls_json(name);
    if (shown.value("state", "") == "starting") {
      ++starting_seen;
      e2e::wait_until([&] { return (shown = ls_json(name)).value("state", "") != "starting"; },
                      "pg-ls stops saying starting");
    }
    ASSERT_EQ(shown.value("state", ""), "lost")
        << "kill " << k << ": pg-ls says " << shown.dump() << "; state.json: " << text
        << "; the lock file is open in:" << lock_holders(name);
    ++lost_seen;

    if (k % 8 == 0) {
      // The next launch rotates events.jsonl within its first few events.
      top_up_events(name, 200 + rng() % 2'000);
      ++topped_up;
    }

    // Revive: refused (status 1, the old run lives) until the old run's processes are gone.
    events_ino = events_inode();
    const auto t0 = e2e::Clock::now();
    e2e::Result r;
    for (;;) {
      r = pg_ctl({"revive", name});
      if (r.status == 0) {
        break;
      }
      ASSERT_TRUE(e2e::contains(r.err, "still live") || e2e::contains(r.err, "old run live"))
          << "kill " << k << ": revive failed: " << r.out << r.err;
      ++refused_while_old_lived;
      ASSERT_LT(e2e::Clock::now() - t0, 10s) << "kill " << k << ": the old run never ended";
      std::this_thread::sleep_for(2ms);
    }
    max_leftover_ms = std::max<long>(
        max_leftover_ms,
        std::chrono::duration_cast<std::chrono::milliseconds>(e2e::Clock::now() - t0).count());
    auto next = supervisor_of(name, sup);
    sup = next.first;
    sup_fd = std::move(next.second);
    // Exactly one process tree: every live process of the job descends from the new supervisor.
    // (A process of the new tree may end while its ancestry is read: only one that is still
    // the same live process afterwards counts.)
    for (pid_t p : job_processes(name)) {
      const auto before = e2e::proc_info(p);
      const std::string run = env_of(p, "PG_RUN_ID");
      if (!before || descends_from(p, sup)) {
        continue;
      }
      const auto after = e2e::proc_info(p);
      const bool same_live = after && after->start_time == before->start_time &&
                             after->state != 'Z' && after->state != 'X';
      EXPECT_FALSE(same_live) << "kill " << k << ": pid " << p << " (run " << run << ", parent "
                              << after->ppid << ") lives outside the revived "
                              << "supervisor " << sup << "'s tree: a second copy";
    }
    if (HasFailure()) {
      break;
    }
  }
  e2e::Result stop = pg_ctl({"stop", name});
  EXPECT_EQ(stop.status, 0) << stop.out << stop.err;
  wait_end(name, 30s);

  // Every line of the history parses, across every rotation; no temp file is left behind.
  long launches = 0;
  const long lines = for_each_event(job_dir(name), [&](const Json& ev) {
    launches += ev.value("event", "") == "launch" ? 1 : 0;
  });
  long temps = 0;
  for (const auto& e : std::filesystem::directory_iterator(job_dir(name))) {
    if (e.path().filename().string().starts_with("state.json.")) {
      ++temps;
    }
  }
  EXPECT_EQ(temps, 0) << "temporary state files left in " << job_dir(name);
  figure("kills survived (state.json parsed, pg-ls lost, revived without a second copy)",
         std::to_string(lost_seen) + " / " + std::to_string(kills));
  figure("kills after which pg-ls said starting a moment before lost",
         std::to_string(starting_seen));
  figure("revives refused while the old run lived", std::to_string(refused_while_old_lived));
  figure("longest wait for the old run to end (ms)", std::to_string(max_leftover_ms));
  figure("kills with a rotation of events.jsonl since the revive",
         std::to_string(rotated) + " (topped up " + std::to_string(topped_up) + " times)");
  figure("events lines / launches / runs", std::to_string(lines) + " / " +
                                               std::to_string(launches) + " / " +
                                               std::to_string(journal_runs(journal)));
  figure("state.json temp files left", std::to_string(temps));
}

} // namespace
} // namespace pg::stress

namespace pg::stress {
namespace {

// The two holes the random kills found, each made to happen on purpose.
class KillAnyMomentCases : public Stress {};

// A supervisor killed between forking a run and writing state.json leaves that run unnamed: the
// state names the run before. Revive finds it all the same (same supervisor, same id prefix).
TEST_F(KillAnyMomentCases, ReviveFindsARunTheDeadSupervisorNeverRecorded)
{
  launch("unrecorded", {}, {"--ignore-term", "--sleep", "1h"});
  const Json st = wait_running("unrecorded");
  const pid_t job = st["pid"].get<pid_t>();
  remember(job);
  // The job must have set SIGTERM to ignored before its supervisor dies (parent-death SIGTERM).
  e2e::must(e2e::wait_until(
      [&] {
        std::string status = e2e::read_text("/proc/" + std::to_string(job) + "/status");
        auto at = status.find("SigIgn:\t");
        return at != std::string::npos &&
               (std::stoull(status.substr(at + 8, 16), nullptr, 16) & (1ULL << (SIGTERM - 1))) != 0;
      },
      "the job ignores SIGTERM"));
  ASSERT_EQ(::kill(st["supervisor"]["pid"].get<pid_t>(), SIGKILL), 0);
  e2e::must(e2e::wait_until([&] { return lost("unrecorded"); }, "the job shows lost"));
  ASSERT_TRUE(e2e::alive(job)); // it ignored its parent-death SIGTERM
  // As if the state lagged a run: it names the run before the one that lives.
  Json lag = state("unrecorded");
  const std::string id = lag["run_id"];
  ASSERT_EQ(id.size(), 24u) << id;
  ASSERT_EQ(id.substr(16), "00000001") << "the first run of a supervisor";
  lag["run_id"] = id.substr(0, 16) + "00000000";
  e2e::write_text(job_dir("unrecorded") + "/state.json", lag.dump() + "\n", 0600);

  e2e::Result r = pg_ctl({"revive", "unrecorded"});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_TRUE(e2e::contains(r.err, "still live")) << r.err;
  EXPECT_TRUE(lost("unrecorded"));
  EXPECT_EQ(with_env("PG_NAME", "unrecorded").size(), 1u) << "a second copy was started";
  r = pg_ctl({"revive", "--replace", "unrecorded"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_FALSE(e2e::alive(job));
  wait_running("unrecorded", job);
}

// A supervisor killed between creating state.json's temp file and renaming it leaves the temp
// file: the next launch (here a revive), holding the lock, removes it.
TEST_F(KillAnyMomentCases, ATempStateFileLeftByAKillIsRemovedOnRevive)
{
  launch("halfwritten", {}, {"--sleep", "1h"});
  make_lost("halfwritten");
  const std::string temp = job_dir("halfwritten") + "/state.json.tmp.999999";
  e2e::write_text(temp, "{\"name\": \"half", 0600);
  EXPECT_EQ(pg_ctl({"revive", "halfwritten"}).status, 0);
  wait_running("halfwritten");
  EXPECT_NE(::access(temp.c_str(), F_OK), 0) << temp << " is still there";
}

// The lock held by another process than the supervisor state.json names (a child it forked an
// instant before it was killed, or a launch under way): pg-ls says starting, never running, and
// lost once the lock is free.
TEST_F(KillAnyMomentCases, ALockHeldByAnotherProcessIsNeverShownRunning)
{
  launch("heldlock", {}, {"--sleep", "1h"});
  make_lost("heldlock");
  EXPECT_EQ(ls_json("heldlock").value("state", ""), "lost");
  UniqueFd fd(::open((job_dir("heldlock") + "/lock").c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(fd);
  ASSERT_TRUE(try_lock(fd.get()));
  EXPECT_EQ(ls_json("heldlock").value("state", ""), "starting");
  fd.reset();
  EXPECT_EQ(ls_json("heldlock").value("state", ""), "lost");
}

} // namespace
} // namespace pg::stress
