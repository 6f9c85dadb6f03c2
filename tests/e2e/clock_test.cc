// Clocks (DESIGN "Time:"): a wall-clock jump ends no --duration early or late (libfaketime jumps
// the supervisor's wall clock mid-run), and every timer keeps its relative time when BOOTTIME and
// MONOTONIC read far apart (a time namespace offsets one of them by ~127 years): a deadline taken
// on one clock and armed or compared on the other would fire at once or never.
//
// What no test here can show is a suspend: a time namespace's offsets are fixed when it is made,
// so BOOTTIME cannot be made to jump ahead of MONOTONIC under a running supervisor. Which clock
// each timer is on is in docs/reliability-clocks.md; the pure logic fed by each is unit-tested
// with a suspend-like jump of the injected clock (tests/unit/clock_semantics_test.cc).
#include "clock.h"
#include "harness.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace pg::e2e {
namespace {

// Debian's libfaketime (package faketime).
const std::string k_libfaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

#if defined(__SANITIZE_ADDRESS__)
constexpr bool k_asan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool k_asan = true;
#else
constexpr bool k_asan = false;
#endif
#else
constexpr bool k_asan = false;
#endif

double secs_since(Clock::time_point t0)
{
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// ---- a wall-clock jump under libfaketime

class WallClockJump : public E2e {
protected:
  void SetUp() override
  {
    if (k_asan) {
      GTEST_SKIP() << "libfaketime is an LD_PRELOAD library, and ASan must be the first one "
                      "loaded: the wall-clock jump runs in the normal build only";
    }
    if (::access(k_libfaketime.c_str(), R_OK) != 0) {
      GTEST_SKIP() << k_libfaketime << " is missing (apt-get install faketime; scripts/deps.sh)";
    }
    E2e::SetUp();
  }

  void TearDown() override
  {
    E2e::TearDown();
    if (!IsSkipped()) {
      remove_stale_faketime_objects();
    }
  }

  // FAKETIME_TIMESTAMP_FILE: libfaketime reads the offset from it at every call
  // (FAKETIME_NO_CACHE), so rewriting it jumps the wall clock of every process that loaded it.
  std::string offset_file() const { return path("faketime.rc"); }
  void set_offset(const std::string& offset) const
  {
    // Whole or not at all: a reader must never see a half-written offset.
    write_text(offset_file() + ".tmp", offset + "\n");
    ASSERT_EQ(std::rename((offset_file() + ".tmp").c_str(), offset_file().c_str()), 0);
  }

  // pg-run with its wall clock faked; MONOTONIC and BOOTTIME left alone, as a real clock step
  // leaves them. The job runs without libfaketime (--env LD_PRELOAD=): only the supervisor's
  // clock matters here, and libfaketime's own sleep wrappers would make the job's sleep unreliable.
  StartOptions faked(bool fake_monotonic) const
  {
    StartOptions o;
    o.env = {{"LD_PRELOAD", k_libfaketime},
             {"FAKETIME_TIMESTAMP_FILE", offset_file()},
             {"FAKETIME_NO_CACHE", "1"}};
    if (!fake_monotonic) {
      o.env.emplace_back("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    }
    return o;
  }

  // --duration 3s, and the wall clock jumps by offset once the job runs: the duration must end
  // the job after 3 s of real time, while the events' wall-clock times show that the
  // supervisor's clock did jump. The job ignores its stop signal, so the stop timeout (1 s,
  // armed after the jump) must SIGKILL it 1 s later: the run's runtime is 4 s.
  void duration_survives(const std::string& offset, double jump_s, bool fake_monotonic)
  {
    set_offset("+0");
    const auto t0 = Clock::now();
    launch("jump", {"--duration", "3s", "--stop-timeout", "1s", "--env", "LD_PRELOAD="},
           {"--ignore-term", "--sleep", "60s"}, faked(fake_monotonic));
    wait_running("jump");
    set_offset(offset);
    const double jumped_at = secs_since(t0);
    Json st = wait_end("jump", Millis(15'000));
    const double took = secs_since(t0);

    EXPECT_LT(jumped_at, 2.0) << "the jump came too late to tell an early end";
    EXPECT_EQ(st["state"], "completed") << st.dump();
    const Json& e = st["last_exit"];
    EXPECT_EQ(e["outcome"], "completed") << e.dump();
    EXPECT_TRUE(contains(e.value("cause", ""), "planned duration 3s")) << e.dump();
    EXPECT_EQ(e["signal"], "SIGKILL") << e.dump();
    EXPECT_EQ(events("jump", "kill").size(), 1u);
    // Stopped by the duration after 3 s of real time (neither at the jump nor an hour late),
    // killed by the stop timeout 1 s later (neither at once nor a day late).
    EXPECT_GE(took, 3.95);
    EXPECT_LT(took, 7.0);
    const double runtime = e.value("runtime_s", 0.0);
    EXPECT_GE(runtime, 3.95) << e.dump();
    EXPECT_LT(runtime, 4.6) << e.dump();

    // The recorded wall-clock times did jump: the faking was in force in the supervisor.
    auto launches = events("jump", "launch");
    auto stops = events("jump", "stop");
    auto ends = events("jump", "end");
    ASSERT_EQ(launches.size(), 1u);
    ASSERT_EQ(stops.size(), 1u);
    ASSERT_EQ(ends.size(), 1u);
    EXPECT_EQ(stops[0]["kind"], "duration");
    EXPECT_NEAR(seconds_between(launches[0], stops[0]), jump_s + 3.0, 30.0) << stops[0].dump();
    EXPECT_NEAR(seconds_between(launches[0], ends[0]), jump_s + 4.0, 30.0) << ends[0].dump();
  }

private:
  // libfaketime leaves /dev/shm/faketime_shm_PID and sem.faketime_sem_PID behind when a process
  // ends without running its destructors (a kill, _exit): remove those whose process is gone.
  static void remove_stale_faketime_objects()
  {
    DIR* d = ::opendir("/dev/shm");
    if (d == nullptr) {
      return;
    }
    std::vector<std::string> stale;
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      for (const std::string prefix : {"faketime_shm_", "sem.faketime_sem_"}) {
        if (starts_with(name, prefix)) {
          const pid_t pid = static_cast<pid_t>(std::atol(name.c_str() + prefix.size()));
          if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) {
            stale.push_back("/dev/shm/" + name);
          }
        }
      }
    }
    ::closedir(d);
    for (const auto& f : stale) {
      ::unlink(f.c_str());
    }
  }
};

TEST_F(WallClockJump, ADayAheadDoesNotEndTheDurationEarly)
{
  duration_survives("+1d", 86'400.0, false);
}

TEST_F(WallClockJump, AnHourBackDoesNotEndTheDurationLate)
{
  duration_survives("-1h", -3'600.0, false);
}

// Plain `faketime`: libfaketime also fakes the MONOTONIC and BOOTTIME its callers read, with the
// same jump. pg-run reads and arms its timers past any preloaded wrapper, so nothing changes.
TEST_F(WallClockJump, EvenWhenLibfaketimeFakesTheMonotonicClocksToo)
{
  duration_survives("+1d", 86'400.0, true);
}

// ---- BOOTTIME and MONOTONIC far apart, in a time namespace

struct Offsets {
  long long boottime = 0;
  long long monotonic = 0;
};

class TimeNamespace : public E2e {
protected:
  void SetUp() override
  {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "time namespaces need root (unshare --time)";
    }
    E2e::SetUp();
    Result probe = run({"unshare", "--time", "--boottime", "1", "--", "true"});
    if (probe.status != 0) {
      GTEST_SKIP() << "no time namespace here (unshare --time: " << probe.err << ")";
    }
  }

  // unshare --time --boottime B --monotonic M -- ARGV: pg-run and everything it starts see the
  // offset clocks (CLONE_NEWTIME applies to the unsharer's children: unshare forks for it).
  Args in_namespace(const Offsets& o, const Args& argv) const
  {
    return Args{"unshare",     "--time",
                "--boottime",  std::to_string(o.boottime),
                "--monotonic", std::to_string(o.monotonic),
                "--"} +
           argv;
  }

  void launch_in(const Offsets& o, const std::string& name, const Args& opts, const Args& fake)
  {
    Result r = run(in_namespace(o, job(name, opts, fake)));
    EXPECT_EQ(r.status, 0) << name << ": " << r.out << r.err;
    must(r.status == 0);
  }

  // /proc/PID/timens_offsets: "monotonic S N" and "boottime S N" lines.
  static Offsets offsets_of(pid_t pid)
  {
    Offsets o;
    std::istringstream in(read_text("/proc/" + std::to_string(pid) + "/timens_offsets"));
    std::string clock;
    long long s = 0;
    long long ns = 0;
    while (in >> clock >> s >> ns) {
      (clock == "boottime" ? o.boottime : o.monotonic) = s;
    }
    return o;
  }

  // Every timer at once, each job in its own namespace with the same offsets; each must fire
  // after its own relative time.
  void timers_keep_time(const Offsets& o)
  {
    using Json = nlohmann::json;
    const auto t0 = Clock::now();
    // --duration and --restart-every (BOOTTIME): planned restarts every 600 ms, the end at 2 s.
    launch_in(o, "every", {"--duration", "2s", "--restart-every", "600ms"}, {"--sleep", "60s"});
    // The supervisor runs in the namespace, with the offsets asked for.
    const pid_t sup = supervisor_pid("every");
    const Offsets seen = offsets_of(sup);
    EXPECT_EQ(seen.boottime, o.boottime);
    EXPECT_EQ(seen.monotonic, o.monotonic);
    // The --stall timeout (MONOTONIC) and the backoff (BOOTTIME): stalled after 1 s, restarted
    // 1 s later, stalled again, given up.
    const auto t_stall = Clock::now();
    launch_in(o, "stall", {"--stall", "1s", "--restart-delay", "1s", "--max-restarts", "1"},
              {"--sleep", "60s"});
    // The --watchdog timeout (MONOTONIC).
    const auto t_dog = Clock::now();
    launch_in(o, "dog", {"--notify", "--watchdog", "1s", "--restart", "never"}, {"--sleep", "60s"});
    // The alert cooldown (BOOTTIME): a failure every ~200 ms, one alert per second.
    launch_in(o, "alert",
              {"--on-failure", "true", "--alert-cooldown", "1s", "--restart-delay", "200ms",
               "--restart-delay-max", "200ms", "--max-restarts", "unlimited", "--duration",
               "2500ms"},
              {"--exit", "1"});
    // --wait and the stop timeout (MONOTONIC): the launch waits 500 ms; the duration's stop
    // signal is ignored, so SIGKILL follows 1 s after it.
    const auto t_stop = Clock::now();
    launch_in(o, "stop", {"--duration", "1s", "--stop-timeout", "1s", "--wait", "500ms"},
              {"--ignore-term", "--sleep", "60s"});
    const double waited = secs_since(t_stop);
    const auto returned = std::chrono::system_clock::now();
    EXPECT_GE(waited, 0.45) << "--wait returned before its 500 ms";
    // Measured from the job's start (state.json's wall-clock time, which no time namespace
    // offsets), not from the invocation: what comes before the start (unshare, a sanitized
    // pg-run on a loaded machine) took up to 0.9 s on a slow CI machine and is not the wait.
    const auto started = parse_rfc3339(state("stop").value("run_started_at", ""));
    EXPECT_TRUE(started) << "no run_started_at in stop's state.json";
    if (started) {
      const double since_start = std::chrono::duration<double>(returned - *started).count();
      EXPECT_LT(since_start, 1.0) << "--wait ran past the job's 1 s duration";
    }
    // The --max-memory sample (MONOTONIC, every 2 s).
    const auto t_mem = Clock::now();
    launch_in(o, "mem", {"--max-memory", "16M", "--restart", "never"},
              {"--alloc-mb", "64", "--sleep", "60s"});

    // --duration 2s with --restart-every 600ms.
    Json every = wait_end("every");
    EXPECT_GE(secs_since(t0), 1.95);
    EXPECT_EQ(every["state"], "completed") << every.dump();
    auto every_exits = events("every", "exit");
    ASSERT_GE(every_exits.size(), 3u);
    double total = 0;
    for (size_t i = 0; i < every_exits.size(); ++i) {
      const Json& e = every_exits[i];
      const double rt = e.value("runtime_s", 0.0);
      total += rt;
      if (i + 1 < every_exits.size()) {
        EXPECT_EQ(e["outcome"], "restarted") << e.dump();
        EXPECT_TRUE(contains(e.value("cause", ""), "--restart-every 600ms")) << e.dump();
        EXPECT_GE(rt, 0.58) << e.dump();
        EXPECT_LT(rt, 1.0) << e.dump();
      }
    }
    // The runs fill the duration: a 2 s job, give or take the restarts' gaps and the last stop.
    EXPECT_GE(total, 1.8);
    EXPECT_LE(total, 2.5);
    EXPECT_TRUE(contains(every["last_exit"].value("cause", ""), "planned duration 2s"))
        << every.dump();

    // --stall 1s, backoff 1s, --max-restarts 1.
    Json stall = wait_end("stall");
    const double stall_took = std::chrono::duration<double>(Clock::now() - t_stall).count();
    EXPECT_EQ(stall["state"], "failed") << stall.dump();
    auto stall_exits = events("stall", "exit");
    auto stall_starts = events("stall", "start");
    ASSERT_EQ(stall_exits.size(), 2u);
    ASSERT_EQ(stall_starts.size(), 2u);
    for (const auto& e : stall_exits) {
      EXPECT_TRUE(starts_with(e.value("cause", ""), "stall:") ||
                  contains(e.value("cause", ""), "stall: no output for 1s"))
          << e.dump();
      EXPECT_GE(e.value("runtime_s", 0.0), 0.98) << e.dump();
      EXPECT_LT(e.value("runtime_s", 0.0), 1.6) << e.dump();
    }
    EXPECT_GE(seconds_between(stall_exits[0], stall_starts[1]), 0.95);
    EXPECT_LT(seconds_between(stall_exits[0], stall_starts[1]), 1.6);
    EXPECT_GE(stall_took, 2.9);

    // --watchdog 1s.
    Json dog = wait_end("dog");
    const double dog_took = std::chrono::duration<double>(Clock::now() - t_dog).count();
    EXPECT_EQ(dog["state"], "failed") << dog.dump();
    EXPECT_TRUE(starts_with(dog["last_exit"].value("cause", ""), "watchdog:")) << dog.dump();
    EXPECT_GE(dog["last_exit"].value("runtime_s", 0.0), 0.98) << dog.dump();
    EXPECT_LT(dog["last_exit"].value("runtime_s", 0.0), 1.6) << dog.dump();
    EXPECT_GE(dog_took, 0.98);

    // --alert-cooldown 1s.
    Json alert = wait_end("alert");
    EXPECT_EQ(alert["state"], "completed") << alert.dump();
    auto alerts = events("alert", "alert");
    ASSERT_GE(alerts.size(), 2u);
    EXPECT_GE(alerts[1].value("held", 0), 1) << alerts[1].dump();
    EXPECT_GE(seconds_between(alerts[0], alerts[1]), 0.95);
    EXPECT_LT(seconds_between(alerts[0], alerts[1]), 1.6);

    // --duration 1s, then --stop-timeout 1s.
    Json stop = wait_end("stop");
    const double stop_took = std::chrono::duration<double>(Clock::now() - t_stop).count();
    EXPECT_EQ(stop["last_exit"]["signal"], "SIGKILL") << stop.dump();
    EXPECT_EQ(events("stop", "kill").size(), 1u);
    EXPECT_GE(stop["last_exit"].value("runtime_s", 0.0), 1.95) << stop.dump();
    EXPECT_LT(stop["last_exit"].value("runtime_s", 0.0), 2.6) << stop.dump();
    EXPECT_GE(stop_took, 1.95);

    // --max-memory: stopped at its first sample, 2 s in.
    Json mem = wait_end("mem");
    const double mem_took = std::chrono::duration<double>(Clock::now() - t_mem).count();
    EXPECT_EQ(mem["state"], "failed") << mem.dump();
    EXPECT_TRUE(starts_with(mem["last_exit"].value("cause", ""), "memory:")) << mem.dump();
    EXPECT_GE(mem["last_exit"].value("runtime_s", 0.0), 1.95) << mem.dump();
    EXPECT_LT(mem["last_exit"].value("runtime_s", 0.0), 2.8) << mem.dump();
    EXPECT_GE(mem_took, 1.95);
  }
};

// BOOTTIME ~127 years ahead of MONOTONIC: a BOOTTIME deadline computed from MONOTONIC would
// fire at once; a MONOTONIC one computed from BOOTTIME never.
TEST_F(TimeNamespace, TimersKeepTheirTimeWithBoottimeFarAhead)
{
  timers_keep_time({4'000'000'000, 0});
}

// And the other way round (no real machine has it, but it catches the opposite mix-up).
TEST_F(TimeNamespace, TimersKeepTheirTimeWithMonotonicFarAhead)
{
  timers_keep_time({0, 4'000'000'000});
}

// The recorded BOOTTIME of a run is the supervisor's own, and pg-ls in the same namespace turns
// it into the right uptime. pg-ctl outside the namespace still knows the supervisor: /proc shows
// each reader start times on its own BOOTTIME, so pg-run records its identity on the host's.
TEST_F(TimeNamespace, RecordedTimesHoldInsideAndPgCtlWorksFromOutside)
{
  const Offsets o{4'000'000'000, 0};
  launch_in(o, "up", {}, {"--sleep", "60s"});
  Json st = wait_running("up");
  const double boot_s = static_cast<double>(st.value("run_started_boot_ns", int64_t{0})) / 1e9;
  EXPECT_GT(boot_s, 4e9) << st.dump();
  const pid_t sup = supervisor_pid("up");
  // Nearly a second of uptime, read by pg-ls inside the supervisor's time namespace.
  wait_until(
      [&] {
        Result r = run({"nsenter", "--time", "--target", std::to_string(sup), "--", PG_LS_BIN,
                        "--state-dir", state_dir(), "--json", "up"});
        if (r.status != 0) {
          ADD_FAILURE() << r.err;
          return true;
        }
        Json j = Json::parse(r.out, nullptr, false);
        const Json& job = j.is_array() && !j.empty() ? j[0] : j;
        return job.value("uptime_s", Json()).is_number() && job["uptime_s"].get<long>() >= 1 &&
               job["uptime_s"].get<long>() < 5;
      },
      "pg-ls in the namespace to show an uptime of 1-4 s");
  ASSERT_EQ(pg_ctl({"stop", "up"}).status, 0);
  wait_end("up");
}

} // namespace
} // namespace pg::e2e
