// The supervisor's resource watch: each run's usage from the kernel's accounting, the
// --max-memory sample of the job's tree, and --restart-every's planned restarts. Both limits
// are deadlines of the supervisor's timers (rearm_timers), checked from on_timers.
#include "supervisor.h"

#include "clock.h"
#include "tree_memory.h"

#include <unistd.h>

namespace pg {

namespace {

// How often --max-memory samples the tree (CLOCK_MONOTONIC: a suspend is no time of the job's).
constexpr Nanos k_memory_sample = std::chrono::seconds(2);

} // namespace

void Supervisor::on_run_start(bool spawned)
{
  m_usage = RunUsage{};
  m_pub.memory_rss.reset();
  Nanos& memory_at = m_life.deadline(Deadline::Memory);
  Nanos& planned_at = m_life.deadline(Deadline::RestartEvery);
  memory_at = Nanos(0);
  planned_at = Nanos(0);
  if (!spawned) {
    return;
  }
  if (m_opt.def.max_memory > 0) {
    memory_at = monotonic_now() + k_memory_sample;
  }
  if (m_opt.def.restart_every.count() > 0) {
    // A duration of the run's age, so on CLOCK_BOOTTIME like --duration.
    planned_at = m_run_start_boot + m_opt.def.restart_every;
  }
}

void Supervisor::check_limits()
{
  if (!m_life.active()) {
    return;
  }
  const JobDefinition& def = m_opt.def;
  if (m_life.due(Deadline::RestartEvery, boottime_now())) {
    m_life.deadline(Deadline::RestartEvery) = Nanos(0);
    request_stop(StopKind::Planned, "--restart-every " + format_duration(def.restart_every),
                 def.stop_timeout);
  }
  if (!m_life.due(Deadline::Memory, monotonic_now())) {
    return;
  }
  m_life.deadline(Deadline::Memory) = monotonic_now() + k_memory_sample;
  if (m_life.phase() != Phase::Running) {
    return; // already on its way down
  }
  // Every live process below us is the job's: we are their parent or their subreaper.
  const std::vector<ProcStat> tree = tree_stats(::getpid(), true); // we run one thread
  const uint64_t rss = rss_bytes(tree);
  const bool changed = m_pub.memory_rss != rss;
  m_pub.memory_rss = rss;
  if (rss > def.max_memory) {
    event(ev::Memory{rss, def.max_memory, tree.size()});
    request_stop(StopKind::Memory, memory_limit_detail(rss, def.max_memory), def.stop_timeout);
  } else if (changed) {
    publish();
  }
}

} // namespace pg
