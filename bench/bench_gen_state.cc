// bench_gen_state STATE N: writes N ended jobs (bench00000 ...) into STATE with the project's
// own state code, as pg-run would leave them: state.json, a lock file, and an events.jsonl of
// launch, start and exit. A third each completed, failed and stopped, so pg-ls formats all
// of its usual cases. For timing pg-ls over many jobs without running that many supervisors.
#include "clock.h"
#include "state.h"
#include "state_dir.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

int main(int argc, char** argv)
{
  if (argc != 3) {
    std::fputs("usage: bench_gen_state STATE N\n", stderr);
    return 2;
  }
  try {
    pg::StateDir dir = pg::StateDir::open(argv[1], true);
    int n = std::stoi(argv[2]);
    pg::WallTime now = pg::wall_now();
    for (int i = 0; i < n; ++i) {
      std::string name = fmt::format("bench{:05d}", i);
      auto job = dir.job(name, true);
      pg::JobState s;
      s.name = name;
      s.definition.argv = {"python3", "-u", "worker.py", "--shard", std::to_string(i)};
      s.definition.resolved = "/usr/bin/python3";
      s.definition.cwd = "/srv/work";
      s.definition.path = "/usr/local/bin:/usr/bin:/bin";
      s.definition.log = dir.path() + "/" + name + "/output.log";
      s.supervisor.pid = 100000 + i;
      s.supervisor.boot_id = "00000000-0000-0000-0000-000000000000";
      s.pid = 200000 + i;
      s.run_id = fmt::format("{:032x}", i);
      s.started_at = now - std::chrono::hours(2);
      s.run_started_at = now - std::chrono::minutes(30);
      s.restarts = static_cast<unsigned>(i % 4);
      pg::ExitRecord e;
      e.pid = 200000 + i;
      e.runtime_s = 1800.5;
      e.at = now - std::chrono::minutes(1);
      switch (i % 3) {
      case 0:
        s.state = pg::RunState::Completed;
        e.status = pg::ExitStatus::exited(0);
        e.outcome = pg::Outcome::Completed, e.cause = "exit: code 0";
        break;
      case 1:
        s.state = pg::RunState::Failed;
        e.status = pg::ExitStatus::exited(1);
        e.outcome = pg::Outcome::Failed, e.cause = "exit: code 1";
        break;
      default:
        s.state = pg::RunState::Stopped;
        e.status = pg::ExitStatus::killed(15);
        e.outcome = pg::Outcome::Stopped, e.cause = "requested: pg-ctl stop";
      }
      s.end_cause = e.cause;
      s.last_exit = e;
      s.updated_at = e.at;
      job->open_lock();
      job->write_state(s);
      pg::EventLog events(job->fd());
      std::string at = pg::format_rfc3339(s.run_started_at.value());
      events.append({{"event", "launch"}, {"at", at}, {"command", s.definition.argv}});
      events.append({{"event", "start"}, {"at", at}, {"pid", e.pid}, {"run_id", s.run_id}});
      nlohmann::json ex = pg::to_json(e);
      ex["event"] = "exit";
      events.append(ex);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_gen_state: %s\n", e.what());
    return 1;
  }
  return 0;
}
